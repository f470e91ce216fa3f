"""Staff UI URLs. The workspace is always in the path (`/w/<slug>/…`), so links can be shared
between staff and a browser tab never silently switches workspace."""

from django.urls import include, path

from otodoke.autoreplies import urls as autoreplies_urls
from otodoke.chat import urls as chat_urls
from otodoke.media import urls as media_urls
from otodoke.richmenus import urls as richmenus_urls
from otodoke.scenarios import urls as scenarios_urls
from otodoke.web import segments_urls
from otodoke.web.views import (
    api_tokens,
    campaigns,
    campaigns_actions,
    contacts,
    contacts_edit,
    contacts_privacy,
    members,
    settings,
    shell,
    tags,
    workspaces,
)

app_name = "web"

workspace_patterns = [
    *media_urls.workspace_patterns,
    path("", shell.dashboard, name="dashboard"),
    path("dashboard/quota/", shell.quota, name="dashboard_quota"),
    path("contacts/", contacts.contact_list, name="contacts"),
    path("contacts/save-search/", contacts.contact_search_save, name="contact_search_save"),
    path("contacts/<int:contact_id>/", contacts.contact_detail, name="contact"),
    path(
        "contacts/<int:contact_id>/link-invite/",
        contacts.contact_link_invite,
        name="contact_link_invite",
    ),
    path("contacts/<int:contact_id>/edit/", contacts_edit.contact_edit, name="contact_edit"),
    path(
        "contacts/<int:contact_id>/tags/add/",
        contacts_edit.contact_tag_add,
        name="contact_tag_add",
    ),
    path(
        "contacts/<int:contact_id>/tags/remove/",
        contacts_edit.contact_tag_remove,
        name="contact_tag_remove",
    ),
    path(
        "contacts/<int:contact_id>/consent/",
        contacts_edit.contact_consent,
        name="contact_consent",
    ),
    path(
        "contacts/<int:contact_id>/unlink/", contacts_privacy.contact_unlink, name="contact_unlink"
    ),
    path(
        "contacts/<int:contact_id>/delete/", contacts_privacy.contact_delete, name="contact_delete"
    ),
    path("contacts/import/", contacts.import_upload, name="import"),
    path("contacts/import/map/", contacts.import_map, name="import_map"),
    path("contacts/import/<int:job_id>/", contacts.import_job, name="import_job"),
    path(
        "contacts/import/<int:job_id>/errors.csv",
        contacts.import_job_errors,
        name="import_job_errors",
    ),
    path("tags/", tags.tag_list, name="tags"),
    path("tags/<int:tag_id>/rename/", tags.tag_rename, name="tag_rename"),
    path("tags/<int:tag_id>/merge/", tags.tag_merge, name="tag_merge"),
    path("tags/<int:tag_id>/delete/", tags.tag_delete, name="tag_delete"),
    *segments_urls.urlpatterns,
    *scenarios_urls.urlpatterns,
    *chat_urls.urlpatterns,
    *autoreplies_urls.urlpatterns,
    *richmenus_urls.urlpatterns,
    path("campaigns/", campaigns.campaign_list, name="campaigns"),
    path("campaigns/new/", campaigns.campaign_new, name="campaign_new"),
    path("campaigns/new/preview/", campaigns.compose_preview, name="campaign_compose_preview"),
    path("campaigns/new/estimate/", campaigns.compose_estimate, name="campaign_compose_estimate"),
    path("campaigns/<int:campaign_id>/", campaigns.campaign_detail, name="campaign"),
    path("campaigns/<int:campaign_id>/edit/", campaigns.campaign_edit, name="campaign_edit"),
    path(
        "campaigns/<int:campaign_id>/estimate/",
        campaigns.campaign_estimate,
        name="campaign_estimate",
    ),
    path(
        "campaigns/<int:campaign_id>/progress/",
        campaigns.campaign_progress,
        name="campaign_progress",
    ),
    path(
        "campaigns/<int:campaign_id>/test/", campaigns_actions.campaign_test, name="campaign_test"
    ),
    path(
        "campaigns/<int:campaign_id>/test-recipients/<str:action>/",
        campaigns_actions.campaign_test_recipient,
        name="campaign_test_recipient",
    ),
    path(
        "campaigns/<int:campaign_id>/approve/",
        campaigns_actions.campaign_approve,
        name="campaign_approve",
    ),
    path(
        "campaigns/<int:campaign_id>/send/", campaigns_actions.campaign_send, name="campaign_send"
    ),
    path(
        "campaigns/<int:campaign_id>/cancel/",
        campaigns_actions.campaign_cancel,
        name="campaign_cancel",
    ),
    path(
        "campaigns/<int:campaign_id>/resume/",
        campaigns_actions.campaign_resume,
        name="campaign_resume",
    ),
    path(
        "campaigns/<int:campaign_id>/confirm-quota/",
        campaigns_actions.campaign_confirm_quota,
        name="campaign_confirm_quota",
    ),
    path(
        "campaigns/<int:campaign_id>/clickers/",
        campaigns_actions.campaign_clickers,
        name="campaign_clickers",
    ),
    path("settings/", settings.general, name="settings"),
    path("settings/channel/", settings.channel, name="settings_channel"),
    path("settings/api-tokens/", api_tokens.api_tokens, name="settings_api_tokens"),
    path(
        "settings/api-tokens/<int:token_id>/revoke/",
        api_tokens.api_token_revoke,
        name="settings_api_token_revoke",
    ),
    path("settings/channel/verify/", settings.channel_verify, name="settings_channel_verify"),
    path("settings/channel/link-check/", settings.link_check, name="settings_link_check"),
    path("settings/members/", members.members, name="settings_members"),
    path("settings/members/new/", members.member_create, name="member_create"),
    path("settings/members/invite/", members.member_invite, name="member_invite"),
    path(
        "settings/members/invitations/<int:invitation_id>/revoke/",
        members.invitation_revoke,
        name="invitation_revoke",
    ),
    path("settings/members/<int:member_id>/role/", members.member_role, name="member_role"),
    path("settings/members/<int:member_id>/remove/", members.member_remove, name="member_remove"),
    path("settings/audit/", settings.audit, name="settings_audit"),
    path("settings/webhooks/", settings.webhook_events, name="settings_webhooks"),
    path(
        "settings/webhooks/<int:event_id>/retry/",
        settings.webhook_event_retry,
        name="settings_webhook_retry",
    ),
]

urlpatterns = [
    path("", shell.home, name="home"),
    path("workspaces/new/", workspaces.workspace_create, name="workspace_create"),
    path("invite/<str:token>/", members.accept_invitation, name="accept_invitation"),
    path("w/<slug:slug>/", include(workspace_patterns)),
]
