"""Persistence: data survives a restart (snapshot + append-only log in one file family)."""

import asyncio
import os
import tempfile

from burner_redis import BurnerRedis


async def main() -> None:
    path = os.path.join(tempfile.mkdtemp(prefix="burner-example-"), "data.dat")

    db = BurnerRedis(path, decode_responses=True)  # appendfsync="everysec" by default
    await db.set("user:1", "ada")
    await db.hset("settings", mapping={"theme": "dark"})
    await db.xadd("audit", {"event": "login"})
    await db.set("session", "tmp", px=100)
    await db.save()  # a snapshot now; the log already holds every write
    await db.rpush("after-snapshot", "still kept")  # only in the log
    await db.aclose()  # closing saves and releases the file

    await asyncio.sleep(0.15)  # the session key expires meanwhile
    db = BurnerRedis(path, decode_responses=True)
    restored = {
        "user:1": await db.get("user:1"),
        "settings": await db.hgetall("settings"),
        "audit": await db.xlen("audit"),
        "after-snapshot": await db.lrange("after-snapshot", 0, -1),
        "session": await db.get("session"),
    }
    print("restored ->", restored)
    assert restored == {
        "user:1": "ada",
        "settings": {"theme": "dark"},
        "audit": 1,
        "after-snapshot": ["still kept"],
        "session": None,
    }
    await db.aclose()
    print("files:", sorted(os.listdir(os.path.dirname(path))))


if __name__ == "__main__":
    asyncio.run(main())
