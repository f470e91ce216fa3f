"""Django's admin, for the server's own administrator only.

It is not part of the product (staff use the UI, whose roles mask personal data): `/admin/` is
mounted only when `OTODOKE_ADMIN=true`, and even then only superusers (`otodoke
createsuperuser`) get in. Staff logins made by 設定 → メンバー or `otodoke member` are never
superusers, so a viewer cannot read or edit unmasked data, other workspaces or other logins
there."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest


class OtodokeAdminSite(admin.AdminSite):
    site_header = "Otodoke admin"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_superuser)


class OtodokeAdminConfig(AdminConfig):
    default_site = "otodoke.core.adminsite.OtodokeAdminSite"
