"""Simulated friends: creation with Japanese-looking names and random demographics."""

from __future__ import annotations

from line_emulator.state import Channel, Emulator, Friend, FriendStatus

FAMILY_NAMES = (
    "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤",
    "吉田", "山田", "佐々木", "山口", "松本", "井上", "木村", "林", "斎藤", "清水",
)  # fmt: skip
GIVEN_NAMES = (
    "太郎", "花子", "翔太", "さくら", "大輔", "美咲", "健太", "陽菜", "蓮", "結衣",
    "悠真", "葵", "湊", "凛", "拓海", "あかり", "ゆうき", "みゆ", "ケン", "ユイ",
)  # fmt: skip


def random_user_id(emulator: Emulator) -> str:
    return "U" + f"{emulator.random.getrandbits(128):032x}"


def create_friends(
    emulator: Emulator,
    channel: Channel,
    count: int,
    status: FriendStatus = "following",
) -> list[Friend]:
    """Add `count` friends with random names and demographics (reproducible with a seed)."""
    rng = emulator.random
    now = emulator.now()
    created: list[Friend] = []
    for _ in range(count):
        user_id = random_user_id(emulator)
        friend = Friend(
            user_id=user_id,
            display_name=rng.choice(FAMILY_NAMES) + " " + rng.choice(GIVEN_NAMES),
            picture_url=f"https://profile.line-scdn.net/emulator/{user_id}",
            language=rng.choice(("ja", "ja", "ja", "en")),
            status=status,
            gender=rng.choice(("male", "female", None)),
            age=rng.choice((None, *range(13, 80))),
            area=rng.choice((None, *(f"jp_{n:02d}" for n in range(1, 48)))),
            app_type=rng.choice(("ios", "android")),
            followed_at=now if status != "unfollowed-never" else None,
        )
        channel.friends[user_id] = friend
        created.append(friend)
    return created


def add_friend(
    emulator: Emulator,
    channel: Channel,
    user_id: str | None = None,
    display_name: str | None = None,
    status: FriendStatus = "following",
) -> Friend:
    """Add one friend with a given ID or name; random values fill what is not given."""
    friend = create_friends(emulator, channel, 1, status)[0]
    if user_id is not None:
        del channel.friends[friend.user_id]
        friend.user_id = user_id
        friend.picture_url = f"https://profile.line-scdn.net/emulator/{user_id}"
        channel.friends[user_id] = friend
    if display_name is not None:
        friend.display_name = display_name
    return friend
