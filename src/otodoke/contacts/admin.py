"""The contacts' pages in Django's admin (superusers only, and only with OTODOKE_ADMIN).

Personal data follows the product's rule even here: LINE user IDs, phones and e-mails are
shown masked unless the login has Permission.VIEW_PII in the contact's workspace, they are
never edited here (the UI does that, audited), and the admin's search does not look into them.
Rejected import rows quote such values, so an import job's errors are left out too."""

from django.contrib import admin
from django.http import HttpRequest

from otodoke.contacts.models import Contact, Event, ImportJob, Tag
from otodoke.web.pii import mask_email, mask_line_user_id, mask_phone
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Permission
from otodoke.workspaces.services import can

PII_FIELDS = ["email", "phone", "line_user_id"]


def _sees_pii(request: HttpRequest, workspace: Workspace) -> bool:
    return can(request.user, workspace, Permission.VIEW_PII)


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin[Contact]):
    list_display = ["__str__", "workspace", "external_id", "line_status", "last_visit_at"]
    list_filter = ["workspace", "line_status", "gender", "marketing_consent"]
    search_fields = ["external_id", "name", "name_kana"]
    exclude = PII_FIELDS
    # Rollups are derived; editing them by hand would be overwritten on the next recompute.
    rollups = [
        "first_visit_at", "last_visit_at", "visit_count", "purchase_count", "total_spent",
        "last_purchase_at", "created_at", "updated_at",
    ]  # fmt: skip

    def get_readonly_fields(self, request: HttpRequest, obj: Contact | None = None) -> list[str]:
        # Decided per request and contact (a ModelAdmin is shared by every request).
        if obj is not None and _sees_pii(request, obj.workspace):
            return [*PII_FIELDS, *self.rollups]
        return ["masked_email", "masked_phone", "masked_line_user_id", *self.rollups]

    @admin.display(description="e-mail")
    def masked_email(self, obj: Contact) -> str:
        return mask_email(obj.email) or "—"

    @admin.display(description="phone")
    def masked_phone(self, obj: Contact) -> str:
        return mask_phone(obj.phone) or "—"

    @admin.display(description="LINE user ID")
    def masked_line_user_id(self, obj: Contact) -> str:
        return mask_line_user_id(obj.line_user_id) or "—"


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin[Tag]):
    list_display = ["name", "workspace"]
    list_filter = ["workspace"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin[Event]):
    list_display = ["occurred_at", "kind", "contact", "amount", "external_id"]
    list_filter = ["workspace", "kind"]
    raw_id_fields = ["contact"]


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin[ImportJob]):
    list_display = ["created_at", "workspace", "kind", "file_name", "status", "rows"]
    list_filter = ["workspace", "kind", "status"]
    exclude = ["errors"]
