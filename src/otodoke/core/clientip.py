"""The client's IP address, believing `X-Forwarded-For` only from configured proxies.

Anyone can send `X-Forwarded-For`, so it is read only when the socket peer is one of
`TRUSTED_PROXIES` (OTODOKE_TRUSTED_PROXIES: IPs or CIDR networks). The list is walked from the
right, past every trusted hop, to the first address a trusted proxy saw connect; with no
trusted proxies (the default) the socket peer is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _networks(values: Sequence[str]) -> list[Network]:
    return [ipaddress.ip_network(v, strict=False) for v in values]


def _address(value: str) -> Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(address: Address, networks: Sequence[Network]) -> bool:
    return any(address.version == n.version and address in n for n in networks)


def client_ip(request: HttpRequest) -> str | None:
    peer = _address(request.META.get("REMOTE_ADDR") or "")
    if peer is None:
        return None
    networks = _networks(getattr(settings, "TRUSTED_PROXIES", []))
    if not _trusted(peer, networks):
        return str(peer)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    client = peer
    for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
        address = _address(hop)
        if address is None:  # garbage a trusted proxy passed on: stop at the last good hop
            break
        client = address
        if not _trusted(address, networks):
            break
    return str(client)
