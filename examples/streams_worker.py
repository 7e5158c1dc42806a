"""A Redis Streams job queue: producers, a consumer group of workers, and recovery of the jobs a
crashed worker left pending (XAUTOCLAIM). Every job is processed exactly once."""

import asyncio

from burner_redis import BurnerRedis

JOBS = 200


async def main() -> None:
    r = BurnerRedis(decode_responses=True)
    await r.xgroup_create("jobs", "workers", id="0", mkstream=True)
    done: dict = {}

    async def produce() -> None:
        for i in range(JOBS):
            await r.xadd("jobs", {"n": i})

    async def worker(name: str) -> None:
        while len(done) < JOBS:
            # Reclaim jobs idle for 50 ms (the crashed worker's), then read new ones.
            _, claimed, _ = await r.xautoclaim("jobs", "workers", name, min_idle_time=50, count=10)
            batch = claimed or [m for _, ms in await r.xreadgroup("workers", name, {"jobs": ">"}, count=10, block=100) for m in ms]
            for msg_id, fields in batch:
                assert msg_id not in done, f"{msg_id} processed twice"
                done[msg_id] = int(fields["n"]) ** 2
                await r.xack("jobs", "workers", msg_id)

    await produce()
    # A worker that takes 5 jobs and dies without acknowledging them.
    lost = await r.xreadgroup("workers", "crashy", {"jobs": ">"}, count=5)
    assert len(lost[0][1]) == 5
    await asyncio.gather(*(worker(f"w{i}") for i in range(3)))

    pending = await r.xpending("jobs", "workers")
    print(f"processed {len(done)} jobs, {pending['pending']} pending")
    assert len(done) == JOBS and pending["pending"] == 0
    assert sorted(done.values()) == [i * i for i in range(JOBS)]
    await r.aclose()


if __name__ == "__main__":
    asyncio.run(main())
