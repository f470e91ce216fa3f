"""The audit log reads as words (issue 15.5): translated labels and values, never a Python
dict, a list literal or a code such as `no_consent`."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.test import Client

from otodoke.workspaces.models import AuditAction, Workspace
from otodoke.workspaces.roles import Role
from otodoke.workspaces.services import record_audit


def test_details_are_worded_in_japanese(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    record_audit(
        workspace,
        AuditAction.SETTINGS_CHANGED,
        details={"plan": ["free", "light"], "require_approval": [False, True]},
    )
    record_audit(
        workspace,
        AuditAction.EXPORTED,
        details={
            "rows": 1200,
            "skipped": {"no_consent": 3, "blocked": 2},
            "hashed": True,
            "definition": {"version": 1},
        },
    )
    record_audit(workspace, AuditAction.MEMBER_INVITED, details={"role": "operator", "days": 7})

    page = client_as(Role.OWNER).get("/w/salon/settings/audit/").content.decode()

    assert "プラン: free → light" in page
    assert "承認が必要: いいえ → はい" in page
    assert "行数: 1,200" in page
    assert "配信許可なし 3" in page
    assert "ID をハッシュ化: はい" in page
    assert "役割: オペレーター" in page
    cells = re.findall(r'data-testid="audit-details">(.*?)</td>', page)
    assert cells
    for raw in ("no_consent", "{", "[", "definition", "operator", "True", "False"):
        assert not any(raw in cell for cell in cells), raw
