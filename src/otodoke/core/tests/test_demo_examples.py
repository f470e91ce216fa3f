"""The demo's first start comes with example segments and a draft campaign that work."""

from otodoke.campaigns.models import Campaign, CampaignStatus
from otodoke.contacts.demo import generate_demo_data
from otodoke.core.demo import EXAMPLE_SEGMENTS, create_examples
from otodoke.messaging.personalize import compile_messages, recipient_context
from otodoke.segments.models import Segment
from otodoke.segments.services import contacts_matching
from otodoke.workspaces.services import create_workspace


def test_the_example_segments_find_customers_and_the_draft_targets_the_first(db: None) -> None:
    workspace = create_workspace(
        name="Demo", slug="demo", channel_id="1", channel_secret="s",
        channel_access_token="t", api_base_url="http://127.0.0.1:9",
    )  # fmt: skip
    generate_demo_data(workspace, contacts=300, seed=3)

    create_examples(workspace)

    segments = list(Segment.objects.filter(workspace=workspace).order_by("pk"))
    assert [s.name for s in segments] == [name for name, _, _ in EXAMPLE_SEGMENTS]
    for segment in segments:
        # Evaluated at the real "now", as in the demo: each finds someone, none finds everyone.
        found = contacts_matching(workspace, segment).count()
        assert 0 < found < 330, segment.name
    # The win-back draft (the demo's other draft is the rich-message carousel).
    campaign = Campaign.objects.get(workspace=workspace, name__startswith="ご無沙汰のお客様へ")
    assert campaign.status == CampaignStatus.DRAFT
    assert campaign.target == {"include": [{"segment": segments[0].pk}]}
    compiled = compile_messages(campaign.messages)
    named = compiled.render(recipient_context("佐藤 花子", {}))[0]["text"]
    unnamed = compiled.render(recipient_context("", {}))[0]["text"]
    assert named.startswith("佐藤 花子様、")
    # Without a name, the default reads as natural Japanese (お客様, never お客様様).
    assert unnamed.startswith("お客様、ご無沙汰しております。")
