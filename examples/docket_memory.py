"""pydocket with ``memory://``: a background-task queue with no Redis server.

pydocket's memory:// mode runs on this package's ``BurnerRedis`` (``pip install pydocket``; its
``burner-redis`` dependency is this package). Changing the URL to ``redis://host:6379/0`` moves
the same code to a real Redis.
"""

import asyncio
from datetime import datetime, timedelta, timezone

from docket import Docket, Worker

results: list = []


async def resize(image: str, width: int) -> None:
    results.append((image, width))


async def main() -> None:
    async with Docket(name="example", url="memory://example") as docket:
        for i in range(20):
            await docket.add(resize)(f"img{i}.png", 100 + i)
        # A task keyed once runs once, however often it is added.
        for _ in range(3):
            await docket.add(resize, key="thumbnail-cover")("cover.png", 64)
        later = datetime.now(timezone.utc) + timedelta(milliseconds=300)
        await docket.add(resize, when=later)("scheduled.png", 1)

        async with Worker(docket, concurrency=5) as worker:
            await worker.run_until_finished()

    print(f"{len(results)} tasks ran")
    assert sorted(r for r in results if r[0].startswith("img")) == sorted(
        (f"img{i}.png", 100 + i) for i in range(20)
    )
    assert results.count(("cover.png", 64)) == 1
    assert results[-1] == ("scheduled.png", 1)  # ran when due, after the rest
    assert len(results) == 22


if __name__ == "__main__":
    asyncio.run(main())
