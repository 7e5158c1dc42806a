"""Lua scripting: an atomic rate limiter with register_script (EVALSHA, loaded on first use)."""

import asyncio

from burner_redis import BurnerRedis

# Allow LIMIT calls per window per key; returns {allowed, remaining}.
RATE_LIMIT = """
local current = redis.call('INCR', KEYS[1])
if current == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local limit = tonumber(ARGV[1])
if current > limit then
  return {0, 0}
end
return {1, limit - current}
"""


async def main() -> None:
    r = BurnerRedis(decode_responses=True)
    limiter = r.register_script(RATE_LIMIT)
    results = [await limiter(keys=["rate:alice"], args=[3, 200]) for _ in range(5)]
    print("alice ->", results)
    assert results == [[1, 2], [1, 1], [1, 0], [0, 0], [0, 0]]
    assert await limiter(keys=["rate:bob"], args=[3, 200]) == [1, 2]  # separate key
    await asyncio.sleep(0.25)
    assert await limiter(keys=["rate:alice"], args=[3, 200]) == [1, 2]  # window expired

    # Scripts run atomically: 20 concurrent callers, exactly 3 allowed.
    allowed = await asyncio.gather(*(limiter(keys=["rate:burst"], args=[3, 10_000]) for _ in range(20)))
    assert sum(a for a, _ in allowed) == 3

    # Plain EVAL with Redis's Lua libraries (cjson here).
    doc = await r.eval("return cjson.encode({n = tonumber(ARGV[1]) * 2})", 0, 21)
    assert doc == '{"n":42}'
    await r.aclose()
    print("lua: ok")


if __name__ == "__main__":
    asyncio.run(main())
