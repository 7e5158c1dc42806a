"""redis-py's Lock on burner: mutual exclusion across tasks, expiry, and a sync lock."""

import asyncio
import time

from burner_redis import BurnerRedis, BurnerSyncRedis


async def main() -> None:
    r = BurnerRedis()
    inside, peak, log = 0, 0, []

    async def worker(name: str) -> None:
        nonlocal inside, peak
        for _ in range(3):
            async with r.lock("resource", timeout=5, blocking_timeout=10, sleep=0.01):
                inside += 1
                peak = max(peak, inside)
                log.append(name)
                await asyncio.sleep(0.005)
                inside -= 1

    await asyncio.gather(*(worker(f"w{i}") for i in range(4)))
    print(f"{len(log)} critical sections, at most {peak} at a time")
    assert len(log) == 12 and peak == 1

    # A lock whose holder vanished expires after its timeout.
    stale = r.lock("job", timeout=0.2)
    assert await stale.acquire(blocking=False)
    assert not await r.lock("job").acquire(blocking=False)
    await asyncio.sleep(0.3)
    fresh = r.lock("job")
    assert await fresh.acquire(blocking=False), "expired lock should be free"
    await fresh.release()
    await r.aclose()

    s = BurnerSyncRedis()
    with s.lock("sync-lock", timeout=1) as lk:
        assert lk.owned() and s.lock("sync-lock").acquire(blocking=False) is False
        lk.extend(1)
        assert s.pttl("sync-lock") > 1000
    assert s.get("sync-lock") is None
    t0 = time.monotonic()
    assert s.lock("sync-lock").acquire(blocking_timeout=1)
    assert time.monotonic() - t0 < 0.5
    s.close()
    print("lock: ok")


if __name__ == "__main__":
    asyncio.run(main())
