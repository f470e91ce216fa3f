from datetime import UTC, datetime

from otodoke.contacts.demo import generate_demo_data
from otodoke.contacts.models import Contact, Event, LineStatus
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.services import create_workspace

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


def other_workspace() -> Workspace:
    return create_workspace(
        name="Other", slug="other", channel_id="2", channel_secret="s",
        channel_access_token="t", api_base_url="http://127.0.0.1:9",
    )  # fmt: skip


def test_demo_data_is_realistic_and_deterministic_by_seed(workspace: Workspace) -> None:
    friends = generate_demo_data(workspace, contacts=200, seed=7, now=NOW)
    again = generate_demo_data(other_workspace(), contacts=200, seed=7, now=NOW)

    assert friends == again
    contacts = Contact.objects.filter(workspace=workspace)
    assert contacts.customers().count() == 200
    assert contacts.line_only().count() == 20
    assert len(friends) == contacts.exclude(line_user_id=None).count()
    assert {s for _, _, s in friends} == {LineStatus.FOLLOWING, LineStatus.BLOCKED}
    assert contacts.reachable().exists()
    assert Event.objects.filter(workspace=workspace, kind="purchase").exists()
    assert contacts.filter(visit_count__gt=0, total_spent__gt=0).count() > 150
    assert set(workspace.tags.values_list("name", flat=True)) >= {"VIP", "line", "休眠"}
