"""The tags page (issue 15.2): counts per tag; rename, merge and delete that keep segments
right; click-tracking tags hidden from the list and the contact filter unless asked for."""

from __future__ import annotations

from collections.abc import Callable

from django.test import Client

from otodoke.contacts.models import Contact, ContactTag, Tag
from otodoke.contacts.tagging import add_tags
from otodoke.segments.models import Segment
from otodoke.segments.services import save_segment
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role


def people(workspace: Workspace) -> list[Contact]:
    contacts = [
        Contact.objects.create(workspace=workspace, external_id=f"C-{i}", name=f"客{i}")
        for i in range(3)
    ]
    add_tags(workspace, [c.pk for c in contacts], ["VIP"])
    add_tags(workspace, [contacts[0].pk], ["ＶＩＰ会員", "clicked:abc123"])
    return contacts


def vip_segment(workspace: Workspace, name: str = "VIP") -> Segment:
    where = {"kind": "tags", "match": "any", "names": [name]}
    return save_segment(
        workspace, name="上得意", definition={"version": 1, "where": where}, actor=None
    )


def tag(workspace: Workspace, name: str) -> Tag:
    return Tag.objects.get(workspace=workspace, name=name)


def test_the_list_counts_contacts_per_tag_and_hides_click_tags(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    people(workspace)
    viewer = client_as(Role.VIEWER)
    page = viewer.get("/w/salon/tags/").content.decode()
    assert "VIP" in page and "ＶＩＰ会員" in page
    assert "clicked:abc123" not in page
    assert page.count('data-testid="tag-row"') == 2
    assert 'data-testid="tag-count">3<' in page
    assert "名前を変更" not in page  # viewers only look
    assert "clicked:abc123" in viewer.get("/w/salon/tags/?clicks=1").content.decode()

    contacts_page = viewer.get("/w/salon/contacts/").content.decode()
    assert 'value="clicked:abc123"' not in contacts_page
    # A link to "who clicked" still filters by the click tag.
    filtered = viewer.get("/w/salon/contacts/?tag=clicked:abc123").content.decode()
    assert "客0" in filtered and "客1" not in filtered


def test_rename_updates_the_segments_that_use_the_tag(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    people(workspace)
    segment = vip_segment(workspace)
    response = client_as(Role.OPERATOR).post(
        f"/w/salon/tags/{tag(workspace, 'VIP').pk}/rename/", {"name": "上得意様"}, follow=True
    )

    assert "タグ「VIP」を「上得意様」に変更しました" in response.content.decode()
    assert ContactTag.objects.filter(tag__name="上得意様").count() == 3
    segment.refresh_from_db()
    assert segment.definition["where"]["names"] == ["上得意様"]


def test_rename_to_an_existing_name_is_refused(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    people(workspace)
    response = client_as(Role.OWNER).post(
        f"/w/salon/tags/{tag(workspace, 'VIP').pk}/rename/", {"name": "ＶＩＰ会員"}, follow=True
    )
    assert "タグ「ＶＩＰ会員」はすでにあります" in response.content.decode()
    assert Tag.objects.filter(workspace=workspace, name="VIP").exists()


def test_merge_moves_contacts_and_segments_then_deletes_the_source(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    contacts = people(workspace)
    segment = vip_segment(workspace, "ＶＩＰ会員")
    response = client_as(Role.OPERATOR).post(
        f"/w/salon/tags/{tag(workspace, 'ＶＩＰ会員').pk}/merge/", {"into": "VIP"}, follow=True
    )

    assert "タグ「ＶＩＰ会員」を「VIP」に統合しました" in response.content.decode()
    assert not Tag.objects.filter(workspace=workspace, name="ＶＩＰ会員").exists()
    vip = set(ContactTag.objects.filter(tag__name="VIP").values_list("contact_id", flat=True))
    assert vip == {c.pk for c in contacts}
    segment.refresh_from_db()
    assert segment.definition["where"]["names"] == ["VIP"]


def test_delete_names_the_count_and_is_refused_while_a_segment_uses_the_tag(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    people(workspace)
    segment = vip_segment(workspace)
    owner = client_as(Role.OWNER)
    page = owner.get("/w/salon/tags/").content.decode()
    assert "タグ「VIP」を 3 人の連絡先から削除しますか?" in page  # the confirmation

    refused = owner.post(f"/w/salon/tags/{tag(workspace, 'VIP').pk}/delete/", follow=True)
    assert "このタグを使っているセグメントがあります: 上得意" in refused.content.decode()
    assert ContactTag.objects.filter(tag__name="VIP").count() == 3

    segment.delete()
    done = owner.post(f"/w/salon/tags/{tag(workspace, 'VIP').pk}/delete/", follow=True)
    assert "タグ「VIP」を 3 人の連絡先から削除しました" in done.content.decode()
    assert not Tag.objects.filter(workspace=workspace, name="VIP").exists()


def test_viewers_cannot_change_tags(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    people(workspace)
    viewer = client_as(Role.VIEWER)
    vip = tag(workspace, "VIP")
    assert viewer.post(f"/w/salon/tags/{vip.pk}/rename/", {"name": "x"}).status_code == 403
    assert viewer.post(f"/w/salon/tags/{vip.pk}/delete/").status_code == 403
    assert Tag.objects.filter(pk=vip.pk, name="VIP").exists()
