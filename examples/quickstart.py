"""Quick start: redis-py's asyncio and sync clients on an in-process burner engine."""

import asyncio

import redis
from burner_redis import BurnerConnectionPool, BurnerSyncConnectionPool
from redis.asyncio import Redis


async def main() -> None:
    r = Redis(connection_pool=BurnerConnectionPool(decode_responses=True))
    await r.set("greeting", "hello", ex=10)
    greeting, ttl = await r.get("greeting"), await r.ttl("greeting")
    print("GET greeting ->", greeting, "| TTL", ttl)
    assert greeting == "hello" and 0 < ttl <= 10

    async with r.pipeline(transaction=True) as p:
        p.set("a", "1").set("b", "2").mget("a", "b")
        results = await p.execute()
    print("MULTI/EXEC ->", results)
    assert results == [True, True, ["1", "2"]]

    # WATCH / MULTI / EXEC with optimistic retry, exactly as against a server.
    await r.set("balance", "100")

    async def withdraw(pipe):
        balance = int(await pipe.get("balance"))
        pipe.multi()
        pipe.set("balance", balance - 30)

    await r.transaction(withdraw, "balance")
    balance = await r.get("balance")
    print("balance after withdraw ->", balance)
    assert balance == "70"
    await r.aclose()

    s = redis.Redis(connection_pool=BurnerSyncConnectionPool())
    s.set("sync", b"works")
    print("sync client ->", s.get("sync"))
    assert s.get("sync") == b"works"


if __name__ == "__main__":
    asyncio.run(main())
