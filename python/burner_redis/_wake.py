"""Tiny helper the engine calls to resolve an asyncio future (kept in Python so that the
check-then-set runs on the loop thread in one step)."""


def wake(fut):
    if not fut.done():
        fut.set_result(None)
