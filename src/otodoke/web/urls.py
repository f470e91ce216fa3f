"""Staff UI URLs. The workspace is always in the path (`/w/<slug>/…`), so links can be shared
between staff and a browser tab never silently switches workspace."""

from django.urls import include, path

from otodoke.web.views import contacts, settings, shell

app_name = "web"

workspace_patterns = [
    path("", shell.dashboard, name="dashboard"),
    path("dashboard/quota/", shell.quota, name="dashboard_quota"),
    path("contacts/", contacts.contact_list, name="contacts"),
    path("contacts/<int:contact_id>/", contacts.contact_detail, name="contact"),
    path("contacts/import/", contacts.import_upload, name="import"),
    path("contacts/import/map/", contacts.import_map, name="import_map"),
    path("contacts/import/<int:job_id>/", contacts.import_job, name="import_job"),
    path("segments/", shell.coming_soon, {"section": "segments"}, name="segments"),
    path("audiences/", shell.coming_soon, {"section": "audiences"}, name="audiences"),
    path("campaigns/", shell.coming_soon, {"section": "campaigns"}, name="campaigns"),
    path("settings/", settings.general, name="settings"),
    path("settings/channel/", settings.channel, name="settings_channel"),
    path("settings/channel/verify/", settings.channel_verify, name="settings_channel_verify"),
    path("settings/members/", settings.members, name="settings_members"),
    path("settings/members/<int:member_id>/role/", settings.member_role, name="member_role"),
    path("settings/members/<int:member_id>/remove/", settings.member_remove, name="member_remove"),
    path("settings/audit/", settings.audit, name="settings_audit"),
]

urlpatterns = [
    path("", shell.home, name="home"),
    path("w/<slug:slug>/", include(workspace_patterns)),
]
