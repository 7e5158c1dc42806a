"""``PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE``: prefect-redis's concurrency lease storage, on the
process's shared engine."""

from __future__ import annotations

from typing import Any

from prefect_redis.lease_storage import ConcurrencyLeaseStorage as _RedisLeaseStorage

from . import messaging_client

__all__ = ["ConcurrencyLeaseStorage"]


class ConcurrencyLeaseStorage(_RedisLeaseStorage):
    """prefect-redis's ``ConcurrencyLeaseStorage``; its client defaults to the shared engine."""

    def __init__(self, redis_client: Any = None):
        super().__init__(redis_client=redis_client if redis_client is not None else messaging_client())
