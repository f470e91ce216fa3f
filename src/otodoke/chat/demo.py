"""The demo's chat inbox (the salon case): a few conversations with history, a note, an
assignment and the salon's saved replies (定型文). Created once; safe to call on every start."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from otodoke.chat.models import (
    ChatMessage,
    Conversation,
    ConversationState,
    Direction,
    Note,
    SavedReply,
    SendMethod,
    SendState,
)
from otodoke.contacts.models import Contact, LineStatus
from otodoke.workspaces.models import Workspace

SAVED_REPLIES = [
    ("営業時間", "営業時間は10:00〜19:00（火曜定休）です。ご予約はLINEでも承ります。"),
    ("予約確定", "ご予約ありがとうございます。当日お待ちしております。"),
    ("遅刻の連絡", "ご連絡ありがとうございます。お気をつけてお越しください。"),
]

# (minutes before now, from the friend?, text or sticker)
HISTORIES: list[list[tuple[int, bool, str]]] = [
    [
        (60 * 26, True, "こんにちは！今週土曜の14時にカットとカラーの予約できますか？"),
        (
            60 * 26 - 5,
            False,
            "こんにちは。土曜14時、空いております。担当は前回と同じ佐藤でよろしいですか？",
        ),
        (60 * 26 - 9, True, "はい、お願いします！"),
        (60 * 26 - 10, False, "ご予約ありがとうございます。当日お待ちしております。"),
        (35, True, "前回のトリートメントがすごく良かったです。家用のも買えますか？"),
    ],
    [
        (60 * 50, True, "sticker:446/1989"),
        (60 * 50 - 3, False, "ご来店ありがとうございました！またのお越しをお待ちしております。"),
        (12, True, "すみません、10分ほど遅れそうです。"),
    ],
    [
        (60 * 72, True, "駐車場はありますか？"),
        (
            60 * 72 - 20,
            False,
            "店舗裏に2台分ございます。満車の場合は向かいのコインパーキングをご利用ください。",
        ),
    ],
]


def ensure_chat_demo(workspace: Workspace) -> int:
    """Create the demo conversations once; returns how many were made (0 when they exist)."""
    for title, text in SAVED_REPLIES:
        SavedReply.objects.get_or_create(workspace=workspace, title=title, defaults={"text": text})
    if Conversation.objects.filter(workspace=workspace).exists():
        return 0
    friends = list(
        Contact.objects.filter(
            workspace=workspace, line_status=LineStatus.FOLLOWING, visit_count__gt=0
        )
        .exclude(name="")
        .order_by("-total_spent")[: len(HISTORIES)]
    )
    members = User.objects.filter(memberships__workspace=workspace)
    operator = members.filter(username="operator").first() or members.order_by("pk").first()
    now = timezone.now()
    for number, (contact, history) in enumerate(zip(friends, HISTORIES, strict=False)):
        conversation = Conversation.objects.create(workspace=workspace, contact=contact)
        for minutes, inbound, content in history:
            at = now - timedelta(minutes=minutes)
            if content.startswith("sticker:"):
                package, _, sticker = content.removeprefix("sticker:").partition("/")
                body = {"type": "sticker", "packageId": package, "stickerId": sticker}
                kind, text = "sticker", ""
            else:
                body, kind, text = {"type": "text", "text": content}, "text", content
            ChatMessage.objects.create(
                workspace=workspace,
                conversation=conversation,
                direction=Direction.IN if inbound else Direction.OUT,
                kind=kind,
                text=text,
                body=body if inbound else {"messages": [body]},
                at=at,
                state=SendState.RECEIVED if inbound else SendState.SENT,
                method="" if inbound else SendMethod.REPLY,
                sent_via="" if inbound else "demo",
                sent_by=None if inbound else operator,
            )
        last_in = history[-1]
        conversation.last_message_at = now - timedelta(minutes=last_in[0])
        conversation.last_kind = "sticker" if last_in[2].startswith("sticker:") else "text"
        conversation.last_preview = "" if last_in[2].startswith("sticker:") else last_in[2]
        conversation.unread = 1 if last_in[1] else 0
        conversation.state = ConversationState.OPEN if last_in[1] else ConversationState.DONE
        conversation.assignee = operator if number == 0 else None
        conversation.save()
        if number == 0:
            Note.objects.create(
                conversation=conversation,
                author=operator,
                text="ホームケア用トリートメント（3,300円）をおすすめ。次回来店時にサンプルを。",
                created_at=now - timedelta(minutes=30),
            )
    return len(friends)
