"""LINE emojis after personalisation (issue 12.25): each emoji's `index` is the UTF-16 position
of a `$` in the text, so a name inserted before it moves it. The send recomputes every index
for each recipient (names of different lengths, surrogate pairs, the default), the emulator
refuses an index that misses its `$` as LINE does, and each friend's phone shows the emoji
where the author put it."""

from __future__ import annotations

import pytest

from otodoke.campaigns.models import DeliveryStatus
from otodoke.campaigns.tests.conftest import Line, make_contacts, run, send_all
from otodoke.messaging.personalize import compile_messages, recipient_context
from otodoke.messaging.validation import utf16_len
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db

SALE = {"productId": "5ac1bfd5040ab15980c9b435", "emojiId": "001"}
BELL = {"productId": "5ac1bfd5040ab15980c9b435", "emojiId": "002"}
TEMPLATE = '{{ name | default("お客様") }}さん、$ セール開催中 $'
# The author's indexes count the template as written: `$` at 30 and 39 (UTF-16).
MESSAGES = [
    {
        "type": "text",
        "text": TEMPLATE,
        "emojis": [{**SALE, "index": 39}, {**BELL, "index": 30}],
    }
]


def _dollars(text: str) -> list[int]:
    return [utf16_len(text[:i]) for i, char in enumerate(text) if char == "$"]


@pytest.mark.parametrize(
    ("name", "text", "indexes"),
    [
        ("山田花子", "山田花子さん、$ セール開催中 $", [16, 7]),
        ("A", "Aさん、$ セール開催中 $", [13, 4]),
        # 𠮷 and 🌸 are outside the BMP: two UTF-16 units each, one Python character.
        ("𠮷田🌸", "𠮷田🌸さん、$ セール開催中 $", [17, 8]),
        ("", "お客様さん、$ セール開催中 $", [15, 6]),
    ],
)
def test_each_render_points_every_emoji_at_its_dollar(
    name: str, text: str, indexes: list[int]
) -> None:
    [message] = compile_messages(MESSAGES).render(recipient_context(name, {}))
    assert message["text"] == text
    assert [emoji["index"] for emoji in message["emojis"]] == indexes
    assert [emoji["emojiId"] for emoji in message["emojis"]] == ["001", "002"]
    assert sorted(indexes) == _dollars(text)


def test_an_emoji_whose_dollar_a_condition_leaves_out_is_left_out_too() -> None:
    messages = [
        {
            "type": "text",
            "text": "{% if attributes.vip %}$ {% endif %}{{ name }}さん $",
            "emojis": [{**BELL, "index": 23}, {**SALE, "index": 49}],
        }
    ]
    compiled = compile_messages(messages)
    [vip] = compiled.render(recipient_context("𠮷", {"vip": True}))
    assert (vip["text"], [e["index"] for e in vip["emojis"]]) == ("$ 𠮷さん $", [0, 7])
    [plain] = compiled.render(recipient_context("𠮷", {}))
    assert plain["text"] == "𠮷さん $"
    assert plain["emojis"] == [{**SALE, "index": 5}]


def test_a_dollar_in_a_customers_name_is_not_taken_for_an_emoji() -> None:
    [message] = compile_messages(MESSAGES).render(recipient_context("$$", {}))
    assert message["text"] == "$$さん、$ セール開催中 $"
    assert [emoji["index"] for emoji in message["emojis"]] == [14, 5]


def test_the_send_delivers_each_emoji_at_its_dollar(workspace: Workspace, line: Line) -> None:
    names = ["山田花子", "A", "𠮷田🌸", ""]
    contacts = make_contacts(workspace, line, 4, names=names)
    _, delivery = send_all(workspace, messages=MESSAGES)
    assert run(delivery.pk) == DeliveryStatus.DONE
    # Only 200s: the emulator refuses an emoji index that does not point at a `$`, as LINE does.
    sends = {
        path: statuses
        for path, statuses in line.responses()["counts"].items()
        if "/v2/bot/message/" in path
    }
    assert sends, "nothing was sent"
    assert {status for statuses in sends.values() for status in statuses} == {"200"}, sends
    for contact in contacts:
        [copy] = line.received(str(contact.line_user_id))
        [message] = copy["messages"]
        text = message["text"]
        assert text.endswith("さん、$ セール開催中 $")
        assert sorted(e["index"] for e in message["emojis"]) == _dollars(text)
