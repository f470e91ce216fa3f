"""The LINE API client: transports per API family, typed calls, permanent/transient errors."""

from otodoke.line.client.api import (
    FollowerPage,
    LineClient,
    LineProfile,
    backoff_delay,
    with_backoff,
)
from otodoke.line.client.errors import (
    LineApiError,
    LineRateLimitError,
    LineRetryKeyAcceptedError,
    LineTransportError,
    RateLimitKind,
)
from otodoke.line.client.hosts import LineHosts, hosts_for
from otodoke.line.client.transport import (
    DEFAULT_TIMEOUT,
    AsyncLineTransport,
    LineResponse,
    LineTransport,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "AsyncLineTransport",
    "FollowerPage",
    "LineApiError",
    "LineClient",
    "LineHosts",
    "LineProfile",
    "LineRateLimitError",
    "LineResponse",
    "LineRetryKeyAcceptedError",
    "LineTransport",
    "LineTransportError",
    "RateLimitKind",
    "backoff_delay",
    "hosts_for",
    "with_backoff",
]
