"""pytest plugin (registered through the ``pytest11`` entry point; nothing happens until a test
uses one of its fixtures).

Fixtures, each on a fresh engine per test:

* ``burner_engine`` - the :class:`burner_redis.Engine` itself;
* ``burner_pool`` / ``burner_sync_pool`` - pools on that engine;
* ``burner_redis`` / ``burner_sync_redis`` - ``redis.asyncio.Redis`` / ``redis.Redis`` clients;
* ``burner_patch_redis`` - routes every ``redis.Redis``, ``redis.asyncio.Redis`` and ``from_url``
  client that the code under test builds (without a pool of its own) to the test's engine.

The fixtures are plain (sync) fixtures, so they work under any pytest-asyncio loop scope, and every
test has its own engine, so they are safe under pytest-xdist.
"""

from __future__ import annotations

import functools

import pytest


@pytest.fixture
def burner_engine():
    """A fresh, empty engine for this test."""
    from burner_redis import Engine

    return Engine()


@pytest.fixture
def burner_pool(burner_engine):
    """An asyncio connection pool on the test's engine."""
    from burner_redis import BurnerConnectionPool

    pool = BurnerConnectionPool(burner_engine)
    yield pool
    pool._disconnect_all()


@pytest.fixture
def burner_sync_pool(burner_engine):
    """A sync connection pool on the test's engine."""
    from burner_redis import BurnerSyncConnectionPool

    pool = BurnerSyncConnectionPool(burner_engine)
    yield pool
    pool.disconnect()


@pytest.fixture
def burner_redis(burner_pool):
    """A ``redis.asyncio.Redis`` client on the test's engine."""
    import redis.asyncio

    return redis.asyncio.Redis(connection_pool=burner_pool)


@pytest.fixture
def burner_sync_redis(burner_sync_pool):
    """A ``redis.Redis`` client on the test's engine."""
    import redis

    return redis.Redis(connection_pool=burner_sync_pool)


_POOL_KWARGS = ("db", "decode_responses", "encoding", "encoding_errors", "protocol", "client_name", "username", "password")


def _pool_kwargs(kwargs: dict) -> dict:
    return {k: kwargs[k] for k in _POOL_KWARGS if k in kwargs and kwargs[k] is not None}


@pytest.fixture
def burner_patch_redis(burner_engine, monkeypatch):
    """Makes redis-py clients built by the code under test use the test's engine.

    ``redis.Redis(...)``, ``redis.asyncio.Redis(...)``, ``Redis.from_url(...)`` and the module-level
    ``from_url`` functions all get a burner pool (keeping ``db``, ``decode_responses``,
    ``protocol``, ...), unless the caller passes a ``connection_pool`` itself. Yields the engine.
    """
    import redis
    import redis.asyncio

    from burner_redis import BurnerConnectionPool, BurnerSyncConnectionPool

    def patch_class(cls, pool_cls):
        original_init = cls.__init__

        @functools.wraps(original_init)
        def __init__(self, *args, **kwargs):
            if kwargs.get("connection_pool") is None and not args:
                kwargs = dict(kwargs)
                kwargs["connection_pool"] = pool_cls(burner_engine, **_pool_kwargs(kwargs))
            return original_init(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", __init__)

        def from_url(klass, url, **kwargs):
            from redis.connection import parse_url

            parsed = parse_url(url) if not url.startswith("burner://") else {}
            merged = {**parsed, **kwargs}
            client = klass(connection_pool=pool_cls(burner_engine, **_pool_kwargs(merged)))
            client.auto_close_connection_pool = True
            return client

        monkeypatch.setattr(cls, "from_url", classmethod(from_url))
        return from_url

    sync_from_url = patch_class(redis.Redis, BurnerSyncConnectionPool)
    async_from_url = patch_class(redis.asyncio.Redis, BurnerConnectionPool)
    monkeypatch.setattr(redis, "from_url", lambda url, **kw: sync_from_url(redis.Redis, url, **kw))
    monkeypatch.setattr(redis.asyncio, "from_url", lambda url, **kw: async_from_url(redis.asyncio.Redis, url, **kw))
    yield burner_engine
