"""Facts about the installed redis-py that the connection and pools adapt to (5.0 -> 8.1)."""

from __future__ import annotations

import redis
from redis.connection import DEFAULT_RESP_VERSION

try:
    _VERSION = tuple(int(p) for p in redis.__version__.split(".")[:2])
except ValueError:  # pragma: no cover - odd local builds
    _VERSION = (8, 1)

REDIS_PY_VERSION = _VERSION
#: redis-py 5.0.x's RESP3 parser turns sets into Python sets; 5.1+ returns lists.
SETS_AS_SET = _VERSION < (5, 1)


def effective_protocol(protocol) -> int:
    """The protocol a connection speaks: the user's choice, else the installed default."""
    if protocol is None:
        return int(DEFAULT_RESP_VERSION)
    try:
        p = int(protocol)
    except (TypeError, ValueError):
        from redis.exceptions import ConnectionError

        raise ConnectionError("protocol must be an integer") from None
    if p not in (2, 3):
        from redis.exceptions import ConnectionError

        raise ConnectionError("protocol must be either 2 or 3")
    return p
