"""Contacts (business data and/or a LINE identity), tags, events and import jobs."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from otodoke.contacts.japan import validate_prefecture
from otodoke.workspaces.models import Workspace

LINE_USER_ID_RE = re.compile(r"^U[0-9a-f]{32}$")
validate_line_user_id = RegexValidator(
    LINE_USER_ID_RE, _("A LINE user ID is “U” followed by 32 hexadecimal characters")
)


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Unknown")


class LineStatus(models.TextChoices):
    # NONE: no known friendship (never followed, or a linked ID whose friend state is unknown
    # until a follow webhook or a friends sync says so).
    NONE = "none", _("Not a friend")
    FOLLOWING = "following", _("Following")
    BLOCKED = "blocked", _("Blocked")


class LinkedVia(models.TextChoices):
    ACCOUNT_LINK = "account_link", _("Account link")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    MANUAL = "manual", _("Manual")


class ContactQuerySet(models.QuerySet["Contact"]):
    def in_workspace(self, workspace: Workspace) -> ContactQuerySet:
        return self.filter(workspace=workspace)

    def following(self) -> ContactQuerySet:
        return self.filter(line_status=LineStatus.FOLLOWING)

    def blocked(self) -> ContactQuerySet:
        return self.filter(line_status=LineStatus.BLOCKED)

    def consenting(self) -> ContactQuerySet:
        return self.filter(marketing_consent=True)

    def reachable(self) -> ContactQuerySet:
        """Who a LINE message may be sent to: a consenting friend with a LINE user ID."""
        return self.following().consenting().filter(line_user_id__isnull=False)

    def line_only(self) -> ContactQuerySet:
        """Followers nobody has linked to a customer record yet."""
        return self.filter(external_id__isnull=True, line_user_id__isnull=False)

    def customers(self) -> ContactQuerySet:
        return self.filter(external_id__isnull=False)


class Contact(models.Model):
    """One person in a workspace: business data and/or a LINE identity.

    Rollups (`first_visit_at` … `last_purchase_at`) are derived, never edited by hand. They are
    recomputed set-based by `services.recompute_rollups` from two sources:

    * **Events** (`Event` rows of kind `visit` / `purchase`).
    * A **baseline** imported from a POS customer file (最終来店日, 来店回数, 累計購入金額 …),
      stored in the `baseline_*` columns together with `baseline_at`, the moment that snapshot
      was taken (the import time unless the import says otherwise). The POS counted everything
      up to `baseline_at`, so events add only what happened after it:

      - counts and money: ``baseline + events with occurred_at > baseline_at`` when that
        baseline value is set, otherwise all events;
      - first/last times: the earlier/later of the baseline time and the events' times.

    Re-importing a newer POS file moves the baseline (and `baseline_at`) forward, so an event
    is never counted twice; re-importing an identical file changes nothing (`baseline_at` only
    moves when a baseline value changes). `total_spent` sums `amount` over visit and purchase
    events (a salon is paid at the visit); `purchase_count` counts purchase events.

    `marketing_consent` defaults to True: a LINE message only reaches people who followed the
    account themselves, and an imported customer file is the business's own customer list; the
    flag is the business's opt-out switch (a consent column in a file overrides it).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="contacts")
    # NULL (never "") when absent: a plain unique constraint then allows many contacts without
    # one and still serves as the ON CONFLICT target of bulk upserts on both databases.
    external_id = models.CharField(  # noqa: DJ001 - NULL, not "", is "none" (see above)
        _("customer number"), max_length=100, null=True, blank=True
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    name_kana = models.CharField(_("name (kana)"), max_length=200, blank=True)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender, default=Gender.UNKNOWN)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    prefecture = models.CharField(
        _("prefecture"), max_length=10, blank=True, validators=[validate_prefecture]
    )
    email = models.EmailField(_("e-mail"), max_length=254, blank=True)
    phone = models.CharField(_("phone (E.164)"), max_length=20, blank=True)
    attributes = models.JSONField(_("custom attributes"), default=dict, blank=True)
    marketing_consent = models.BooleanField(_("marketing consent"), default=True)
    consent_updated_at = models.DateTimeField(null=True, blank=True)

    line_user_id = models.CharField(  # noqa: DJ001 - NULL, not "", is "none": unique when set
        _("LINE user ID"), max_length=33, null=True, blank=True, validators=[validate_line_user_id]
    )
    line_status = models.CharField(
        _("LINE friend status"), max_length=10, choices=LineStatus, default=LineStatus.NONE
    )
    line_first_followed_at = models.DateTimeField(null=True, blank=True)
    line_followed_at = models.DateTimeField(null=True, blank=True)
    line_unfollowed_at = models.DateTimeField(null=True, blank=True)
    line_display_name = models.CharField(max_length=200, blank=True)
    line_picture_url = models.URLField(max_length=500, blank=True)
    line_language = models.CharField(max_length=20, blank=True)
    line_linked_at = models.DateTimeField(null=True, blank=True)
    line_linked_via = models.CharField(max_length=20, choices=LinkedVia, blank=True)

    # Rollups: derived, see the docstring.
    first_visit_at = models.DateTimeField(_("first visit"), null=True, blank=True)
    last_visit_at = models.DateTimeField(_("last visit"), null=True, blank=True)
    visit_count = models.PositiveIntegerField(_("visits"), default=0)
    purchase_count = models.PositiveIntegerField(_("purchases"), default=0)
    total_spent = models.BigIntegerField(_("total spent (yen)"), default=0)
    last_purchase_at = models.DateTimeField(_("last purchase"), null=True, blank=True)

    # The POS snapshot the rollups start from (see the docstring); NULL = no baseline.
    baseline_at = models.DateTimeField(null=True, blank=True)
    baseline_first_visit_at = models.DateTimeField(null=True, blank=True)
    baseline_last_visit_at = models.DateTimeField(null=True, blank=True)
    baseline_visit_count = models.PositiveIntegerField(null=True, blank=True)
    baseline_purchase_count = models.PositiveIntegerField(null=True, blank=True)
    baseline_total_spent = models.BigIntegerField(null=True, blank=True)
    baseline_last_purchase_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "external_id"], name="contact_external_id_per_workspace"
            ),
            models.UniqueConstraint(
                fields=["workspace", "line_user_id"], name="contact_line_user_per_workspace"
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "line_status"], name="contact_ws_line_status"),
            # The contact list's sorts (segments.contact_search.SORTS): the ID after the column
            # is the keyset's tie breaker, so a page is one index range in either direction.
            # They serve the segment filters on the same columns too.
            models.Index(
                fields=["workspace", "last_visit_at", "id"], name="contact_ws_last_visit_id"
            ),
            models.Index(fields=["workspace", "total_spent", "id"], name="contact_ws_spent_id"),
            models.Index(fields=["workspace", "visit_count", "id"], name="contact_ws_visits_id"),
            models.Index(fields=["workspace", "birth_date", "id"], name="contact_ws_birth_id"),
            models.Index(fields=["workspace", "updated_at", "id"], name="contact_ws_updated_id"),
            models.Index(fields=["workspace", "name", "id"], name="contact_ws_name_id"),
            models.Index(fields=["workspace", "name_kana", "id"], name="contact_ws_kana_id"),
            models.Index(fields=["workspace", "last_purchase_at"], name="contact_ws_last_purch"),
            models.Index(fields=["workspace", "prefecture"], name="contact_ws_prefecture"),
            models.Index(fields=["workspace", "line_followed_at"], name="contact_ws_followed"),
            models.Index(fields=["workspace", "phone"], name="contact_ws_phone"),
            models.Index(fields=["workspace", "email"], name="contact_ws_email"),
        ]

    def __str__(self) -> str:
        return self.name or self.line_display_name or self.external_id or f"#{self.pk}"

    @property
    def is_line_only(self) -> bool:
        return self.external_id is None and self.line_user_id is not None


class Tag(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(_("name"), max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="tag_name_per_workspace")
        ]

    def __str__(self) -> str:
        return self.name


class TagSource(models.TextChoices):
    MANUAL = "manual", _("Manual")
    IMPORT = "import", _("Import")
    AUTO = "auto", _("Automatic")
    API = "api", _("API")


class ContactTag(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="contact_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="contact_tags")
    added_at = models.DateTimeField()
    source = models.CharField(max_length=10, choices=TagSource, default=TagSource.MANUAL)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "tag"], name="one_contact_tag"),
        ]
        indexes = [
            models.Index(fields=["tag", "added_at"], name="contacttag_tag_added"),
            # "has tag X" in segments: an index-only scan instead of a scan of every tag row
            # (0.87 s of a 2 s count at 1M contacts before it existed).
            models.Index(fields=["tag", "contact"], name="contacttag_tag_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}:{self.tag_id}"


class EventKind(models.TextChoices):
    """Built-in kinds. A custom kind is stored as ``custom:<name>`` in the same column, so one
    index serves both and a segment matches a custom kind by equality."""

    VISIT = "visit", _("Visit")
    PURCHASE = "purchase", _("Purchase")
    CART = "cart", _("Cart")
    SIGNUP = "signup", _("Sign-up")


CUSTOM_KIND_PREFIX = "custom:"
CUSTOM_KIND_RE = re.compile(r"^custom:[^\s:][^\x00-\x1f]{0,49}$")
# Only these kinds may carry money; total_spent sums them (see Contact).
KINDS_WITH_AMOUNT = frozenset({EventKind.VISIT.value, EventKind.PURCHASE.value})


_BUILT_IN_KINDS = frozenset(EventKind.values)  # EventKind.values builds a new list per call


def is_event_kind(value: str) -> bool:
    return value in _BUILT_IN_KINDS or CUSTOM_KIND_RE.match(value) is not None


def validate_event_kind(value: str) -> None:
    if is_event_kind(value):
        return
    raise ValidationError(
        _("%(value)s is not an event kind (visit, purchase, cart, signup or custom:<name>)"),
        params={"value": value},
    )


class Event(models.Model):
    """Something a contact did. Idempotent by `external_id` when it is set."""

    # No single-column indexes on the two keys: each is the first column of a composite index
    # below (and of the unique constraint), which serves the same lookups; two fewer indexes
    # to maintain on every one of an import's millions of inserts.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    kind = models.CharField(max_length=60, validators=[validate_event_kind])
    occurred_at = models.DateTimeField()
    amount = models.BigIntegerField(_("amount (yen)"), null=True, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    # NULL when absent so the (workspace, external_id) unique constraint ignores it.
    external_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    source = models.CharField(max_length=20, default="api")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "external_id"], name="event_external_id_per_workspace"
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "kind", "occurred_at"], name="event_ws_kind_time"),
            models.Index(fields=["contact", "kind", "occurred_at"], name="event_contact_kind_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class ImportKind(models.TextChoices):
    CONTACTS = "contacts", _("Contacts")
    EVENTS = "events", _("Events")
    LINKS = "links", _("LINE user ID links")


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Finished")
    FAILED = "failed", _("Failed")


class ImportJobQuerySet(models.QuerySet["ImportJob"]):
    def unfinished(self) -> ImportJobQuerySet:
        return self.filter(status__in=[ImportStatus.PENDING, ImportStatus.RUNNING])


class ImportJob(models.Model):
    """One CSV import, run in the background for the UI (the CLI may run it in-process)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="import_jobs")
    kind = models.CharField(max_length=10, choices=ImportKind)
    file_name = models.CharField(max_length=255)
    # Column mapping, encoding, dry-run: what the importer was asked to do.
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=ImportStatus, default=ImportStatus.PENDING)
    total_bytes = models.BigIntegerField(default=0)
    processed_bytes = models.BigIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    # The first errors (capped, see imports.runner); error_count has the full number.
    errors = models.JSONField(default=list, blank=True)
    # What the importer did with each column: [{"column", "field"}] ("-": not imported).
    mapping_used = models.JSONField(default=list, blank=True)
    # Tags named in the file: {name: rows}, the most frequent (capped, see imports.runner).
    tags_found = models.JSONField(default=dict, blank=True)
    failure = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="importjob_ws_created")]

    def __str__(self) -> str:
        return f"{self.kind} {self.file_name} ({self.status})"

    @property
    def progress(self) -> float:
        """0.0–1.0, by bytes read (known up front, unlike the number of rows)."""
        if self.status == ImportStatus.SUCCEEDED:
            return 1.0
        if not self.total_bytes:
            return 0.0
        return min(1.0, self.processed_bytes / self.total_bytes)

    def summary(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
            "error_count": self.error_count,
        }


class ConsentChange(models.Model):
    """One change of a contact's marketing consent made by staff: who, when, to what. The
    contact page shows these as the consent's history."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consent_changes")
    consent = models.BooleanField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    # Kept as text too, so the history still names the member after their login is deleted.
    changed_by_label = models.CharField(max_length=150)
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["contact", "-changed_at"], name="consent_contact_time")]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.consent} @ {self.changed_at:%Y-%m-%d %H:%M}"
