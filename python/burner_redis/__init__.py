"""burner-redis: an embedded, in-process Redis-compatible engine for redis-py.

    from redis.asyncio import Redis
    from burner_redis import BurnerConnectionPool
    r = Redis(connection_pool=BurnerConnectionPool())
"""

from __future__ import annotations

from ._engine import Engine
from .client import BurnerRedis, BurnerSyncRedis
from .connection import BurnerConnection, BurnerSyncConnection
from .pool import BurnerConnectionPool, BurnerSyncConnectionPool

__all__ = [
    "BurnerConnection",
    "BurnerConnectionPool",
    "BurnerRedis",
    "BurnerSyncConnection",
    "BurnerSyncConnectionPool",
    "BurnerSyncRedis",
    "Engine",
    "from_url",
]

__version__ = "0.2.0"


def from_url(url: str, *, asyncio: bool = True, **kwargs):
    """A redis-py client for a ``burner://[name]/[db]?...`` URL (async by default)."""
    if asyncio:
        from redis.asyncio import Redis

        pool = BurnerConnectionPool.from_url(url, **kwargs)
    else:
        from redis import Redis

        pool = BurnerSyncConnectionPool.from_url(url, **kwargs)
    if hasattr(Redis, "from_pool"):
        return Redis.from_pool(pool)
    client = Redis(connection_pool=pool)
    client.auto_close_connection_pool = True
    return client
