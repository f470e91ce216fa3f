"""Which host serves which LINE API family, from a workspace's one `api_base_url`.

LINE splits its API over hosts: `api.line.me` (messaging, profiles, followers, link tokens,
audiences by JSON), `api-data.line.me` (content, file uploads, rich-menu images) and
`access.line.me` (the account-link page the user's browser opens).

Rule: when the workspace's base URL is LINE's own (`https://api.line.me`), each family gets its
real host. Any other base URL (the built-in emulator, a proxy) serves every family, and the
account-link page, under that one base URL, so a workspace needs a single setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

LINE_API_HOST = "api.line.me"
LINE_MESSAGING_BASE = "https://api.line.me"
LINE_DATA_BASE = "https://api-data.line.me"
LINE_ACCESS_BASE = "https://access.line.me"


@dataclass(frozen=True)
class LineHosts:
    messaging: str
    data: str
    access: str

    def account_link_url(self, link_token: str, nonce: str) -> str:
        query = urlencode({"linkToken": link_token, "nonce": nonce})
        return f"{self.access}/dialog/bot/accountLink?{query}"


def hosts_for(api_base_url: str) -> LineHosts:
    base = api_base_url.strip().rstrip("/")
    if urlsplit(base).hostname == LINE_API_HOST:
        return LineHosts(LINE_MESSAGING_BASE, LINE_DATA_BASE, LINE_ACCESS_BASE)
    return LineHosts(base, base, base)
