"""Pipelines and transactions: batching, MULTI/EXEC atomicity, and WATCH retrying on a conflict."""

import asyncio

from burner_redis import BurnerRedis
from redis.exceptions import ResponseError, WatchError


async def main() -> None:
    r = BurnerRedis(decode_responses=True)

    # A plain pipeline: one round trip, replies in order, errors kept in place.
    async with r.pipeline(transaction=False) as p:
        p.set("n", 1).incr("n").lpush("n", "x").get("n")
        replies = await p.execute(raise_on_error=False)
    print("pipeline ->", [type(x).__name__ if isinstance(x, Exception) else x for x in replies])
    assert replies[:2] == [True, 2] and isinstance(replies[2], ResponseError) and replies[3] == "2"

    # MULTI/EXEC: every command or none is visible.
    async with r.pipeline() as p:
        p.hset("order:1", mapping={"item": "book", "qty": 2}).sadd("orders", "1").hgetall("order:1")
        _, _, order = await p.execute()
    assert order == {"item": "book", "qty": "2"}

    # WATCH: a write by another client between WATCH and EXEC aborts the transaction.
    await r.set("stock", 10)
    other = BurnerRedis(engine=r.engine, decode_responses=True)  # a second client, same data
    attempts = 0

    async def buy(pipe):
        nonlocal attempts
        attempts += 1
        stock = int(await pipe.get("stock"))
        if attempts == 1:
            await other.decr("stock")  # someone else buys meanwhile
        pipe.multi()
        pipe.set("stock", stock - 3)

    await r.transaction(buy, "stock")  # retries on WatchError
    stock = await r.get("stock")
    print(f"stock after 2 purchases -> {stock} ({attempts} attempts)")
    assert stock == "6" and attempts == 2

    async with r.pipeline() as p:
        await p.watch("stock")
        await other.set("stock", 0)
        p.multi()
        p.set("stock", 100)
        try:
            await p.execute()
            raise AssertionError("EXEC should have been aborted")
        except WatchError:
            pass
    assert await r.get("stock") == "0"
    await other.aclose()
    await r.aclose()


if __name__ == "__main__":
    asyncio.run(main())
