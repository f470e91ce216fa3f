from django.contrib import admin

from otodoke.workspaces.models import AuditLog, Membership, Workspace


class MembershipInline(admin.TabularInline[Membership, Workspace]):
    model = Membership
    extra = 0


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin[Workspace]):
    list_display = ["name", "slug", "channel_id", "plan", "time_zone"]
    # Secrets are changed through the settings page, which never shows them back.
    exclude = ["channel_secret", "channel_access_token"]
    inlines = [MembershipInline]


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin[AuditLog]):
    list_display = ["created_at", "workspace", "actor_label", "action", "target"]
    list_filter = ["action", "workspace"]

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
