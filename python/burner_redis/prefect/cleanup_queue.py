"""``PREFECT_SERVER_WORKER_CHANNEL_CLEANUP_QUEUE_STORAGE``: prefect-redis's worker cleanup queue,
on the process's shared engine (``PREFECT_REDIS_WORKER_CLEANUP_QUEUE_DB``, ``_PROTOCOL`` and
``_KEY_PREFIX`` apply)."""

from __future__ import annotations

from typing import Any

from prefect_redis.cleanup_queue import RedisWorkerCleanupQueueSettings
from prefect_redis.cleanup_queue import WorkerCleanupQueue as _RedisWorkerCleanupQueue

from . import client

__all__ = ["WorkerCleanupQueue"]


class WorkerCleanupQueue(_RedisWorkerCleanupQueue):
    """prefect-redis's ``WorkerCleanupQueue``; its client defaults to the shared engine."""

    def __init__(self, *, redis_client: Any = None, key_prefix: str | None = None):
        if redis_client is None:
            s = RedisWorkerCleanupQueueSettings()
            redis_client = client(db=s.db, protocol=s.protocol)
        super().__init__(redis_client=redis_client, key_prefix=key_prefix)
