"""Roles and the permissions they grant. Later features check permissions, never role names."""

from __future__ import annotations

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Permission(StrEnum):
    VIEW = "view"
    # LINE user IDs, phone numbers and e-mail addresses (the seed manual gates user IDs).
    VIEW_PII = "view_pii"
    EDIT = "edit"  # contacts, segments, audiences, campaign drafts
    EXPORT = "export"
    SEND = "send"
    APPROVE = "approve"
    MANAGE_SETTINGS = "manage_settings"
    MANAGE_MEMBERS = "manage_members"
    # Erasing a person's data for good (a deletion request): owners and managers.
    DELETE_CONTACTS = "delete_contacts"


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    OPERATOR = "operator", _("Operator")
    VIEWER = "viewer", _("Viewer")


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.MANAGER: frozenset(Permission) - {Permission.MANAGE_MEMBERS},
    # Operators run day-to-day sends but cannot approve them, export lists or see raw IDs.
    Role.OPERATOR: frozenset({Permission.VIEW, Permission.EDIT, Permission.SEND}),
    Role.VIEWER: frozenset({Permission.VIEW}),
}


def permissions_for(role: str) -> frozenset[Permission]:
    return ROLE_PERMISSIONS[Role(role)]
