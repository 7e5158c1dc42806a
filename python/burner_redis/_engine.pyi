"""Type stubs for the compiled engine module (burner_redis._engine)."""

import os
from collections.abc import Sequence
from typing import Any

class Blocked:
    """Marker: the head command of a session is blocked."""

BLOCKED: Blocked

class Engine:
    """An engine; sessions made from the same Engine share data."""

    def __init__(
        self,
        databases: int = 16,
        manual_clock_ms: int | None = None,
        persistence_path: str | os.PathLike[str] | None = None,
        appendonly: bool = True,
        appendfsync: str = "everysec",
        save_rules: str | Sequence[tuple[int, int]] | None = None,
        auto_rewrite_percentage: int = 100,
        auto_rewrite_min_size: int = 64 * 1024 * 1024,
        start_on_damage: bool = False,
    ) -> None: ...
    def save(self, path: str | os.PathLike[str] | None = None) -> bool: ...
    def close(self) -> None: ...
    @property
    def lastsave(self) -> int: ...
    def session(
        self,
        protocol: int = 2,
        decode_responses: bool = False,
        encoding: str = "utf-8",
        encoding_errors: str = "strict",
        sets_as_set: bool = False,
    ) -> Session: ...
    def advance_clock(self, ms: int) -> None: ...

class Session:
    """One connection's engine state and its queue of replies."""

    @property
    def protocol(self) -> int: ...
    @property
    def client_id(self) -> int: ...
    @property
    def killed(self) -> bool: ...
    @property
    def needs_reset(self) -> bool: ...
    def execute(self, args: tuple[Any, ...]) -> None: ...
    def execute_many(self, cmds: Sequence[tuple[Any, ...]]) -> None: ...
    def read(self, disable_decoding: bool = False) -> Any: ...
    def pending(self) -> int: ...
    def block_step(self, fut: Any, event_loop: Any, disable_decoding: bool = False) -> Any | tuple[Blocked, float | None]: ...
    def block_wait(self, disable_decoding: bool = False) -> Any: ...
    def cancel_block(self) -> None: ...
    def reset(self) -> None: ...
    def close(self) -> None: ...

def _close_persistent_engines() -> list[str]:
    """Final save of every engine of this process that still has persistence attached; returns
    the failures."""
