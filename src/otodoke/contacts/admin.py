from django.contrib import admin

from otodoke.contacts.models import Contact, Event, ImportJob, Tag


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin[Contact]):
    list_display = ["__str__", "workspace", "external_id", "line_status", "last_visit_at"]
    list_filter = ["workspace", "line_status", "gender", "marketing_consent"]
    search_fields = ["external_id", "name", "name_kana"]
    # Rollups are derived; editing them by hand would be overwritten on the next recompute.
    readonly_fields = [
        "first_visit_at", "last_visit_at", "visit_count", "purchase_count", "total_spent",
        "last_purchase_at", "created_at", "updated_at",
    ]  # fmt: skip


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
