"""The pytest plugin's fixtures (loaded here with -p, as the entry point does for installs)."""

import redis
import redis.asyncio


def test_sync_fixture_is_fresh_and_works(burner_sync_redis):
    assert burner_sync_redis.dbsize() == 0
    burner_sync_redis.set("k", "v")
    assert burner_sync_redis.get("k") == b"v"


def test_sync_fixture_isolated_between_tests(burner_sync_redis):
    assert burner_sync_redis.get("k") is None


async def test_async_fixture(burner_redis, burner_sync_redis):
    await burner_redis.set("shared", "1")
    # Both fixtures use the same per-test engine.
    assert burner_sync_redis.get("shared") == b"1"


async def test_patch_routes_clients_to_engine(burner_patch_redis, burner_sync_pool):
    c1 = redis.Redis(host="db.invalid", port=6379, decode_responses=True)
    c1.set("x", "1")
    c2 = redis.asyncio.from_url("redis://db.invalid:6379/0")
    assert await c2.get("x") == b"1"
    c3 = redis.Redis.from_url("redis://db.invalid:6379/3", decode_responses=True)
    assert c3.get("x") is None  # db 3
    c3.set("y", "2")
    c4 = redis.asyncio.Redis(db=3)
    assert await c4.get("y") == b"2"
    assert redis.Redis(connection_pool=burner_sync_pool).get("x") == b"1"
