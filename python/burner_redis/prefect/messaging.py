"""``PREFECT_MESSAGING_BROKER`` and ``PREFECT_MESSAGING_CACHE``: prefect-redis's Redis Streams
broker and deduplication cache, on the process's shared engine.

Exports what Prefect's broker and cache modules must: ``Publisher``, ``Consumer``,
``ephemeral_subscription``, ``break_topic`` and ``Cache``. Publisher and consumer tuning comes from
``PREFECT_REDIS_MESSAGING_PUBLISHER_*`` / ``PREFECT_REDIS_MESSAGING_CONSUMER_*`` as with
prefect-redis.
"""

from __future__ import annotations

from typing import Any

from . import messaging_client, private_copy


def _get_client(*_args: Any, **_kwargs: Any) -> Any:
    return messaging_client()


_impl = private_copy("prefect_redis.messaging", get_async_redis_client=_get_client)

Publisher = _impl.Publisher
Consumer = _impl.Consumer
Cache = _impl.Cache
ephemeral_subscription = _impl.ephemeral_subscription
break_topic = _impl.break_topic

__all__ = ["Cache", "Consumer", "Publisher", "break_topic", "ephemeral_subscription"]
