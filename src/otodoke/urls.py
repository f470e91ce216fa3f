from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from otodoke.core import views as core_views
from otodoke.media import urls as media_urls
from otodoke.messaging.views import redirect_click
from otodoke.richmenus.views import redirect_menu_click

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    # Off by default (OTODOKE_ADMIN); superusers only when on (otodoke.core.adminsite).
    *([path("admin/", admin.site.urls)] if settings.ADMIN_ENABLED else []),
    # Tracked campaign links: record the click, redirect to the campaign's own URL.
    path("r/<str:token>", redirect_click, name="click-redirect"),
    # Hosted images for LINE messages, public (LINE fetches them without a login).
    *media_urls.public_patterns,
    # Rich-menu links (one menu for everyone: counted per link, not per contact).
    path("r/m/<str:token>", redirect_menu_click, name="richmenu-click-redirect"),
    # REST API, OpenAPI schema and docs under /api/v1/.
    path("", include("otodoke.api.api")),
    # LINE webhook (/line/webhook/<key>/) and the account-link page (/link/<slug>/).
    path("", include("otodoke.line.urls")),
    # The staff UI: / and /w/<slug>/….
    path("", include("otodoke.web.urls")),
]
