"""Pub/sub: channels and patterns through redis-py's PubSub, on one in-process engine."""

import asyncio

from burner_redis import BurnerRedis


async def main() -> None:
    r = BurnerRedis(decode_responses=True)
    ps = r.pubsub(ignore_subscribe_messages=True)
    await ps.subscribe("news")
    await ps.psubscribe("alerts.*")

    received = []

    async def listen() -> None:
        async for msg in ps.listen():
            received.append((msg["type"], msg["channel"], msg["data"]))
            if msg["data"] == "bye":
                return

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0)
    assert await r.publish("news", "hello") == 1
    assert await r.publish("alerts.disk", "90%") == 1
    assert await r.publish("weather", "nobody listens") == 0
    assert await r.pubsub_numsub("news") == [("news", 1)]
    await r.publish("news", "bye")
    await asyncio.wait_for(listener, 5)
    print("received ->", received)
    assert received == [("message", "news", "hello"), ("pmessage", "alerts.disk", "90%"), ("message", "news", "bye")]

    await ps.unsubscribe()
    await ps.punsubscribe()
    await ps.aclose()
    assert await r.pubsub_numsub("news") == [("news", 0)]
    await r.aclose()


if __name__ == "__main__":
    asyncio.run(main())
