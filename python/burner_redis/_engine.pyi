"""Type stubs for the compiled engine module (burner_redis._engine).

Checked against the built extension by mypy's stubtest (scripts/stubtest.sh, run by CI).
"""

import os
from collections.abc import Mapping, Sequence
from typing import Any, final

from typing_extensions import Self

__all__ = ["BLOCKED", "EMPTY", "Blocked", "Empty", "Engine", "PushWaiter", "Server", "Session", "_close_persistent_engines"]

@final
class Blocked:
    """Marker: the head command of a session is blocked."""

BLOCKED: Blocked

@final
class Empty:
    """Marker: ``read`` found nothing queued on a connection that may receive pushes."""

EMPTY: Empty

@final
class Engine:
    """An engine; sessions made from the same Engine share data."""

    def __new__(
        cls,
        databases: int = 16,
        manual_clock_ms: int | None = None,
        persistence_path: str | os.PathLike[str] | None = None,
        appendonly: bool = True,
        appendfsync: str = "everysec",
        save_rules: str | Sequence[tuple[int, int]] | None = None,
        auto_rewrite_percentage: int = 100,
        auto_rewrite_min_size: int = ...,
        start_on_damage: bool = False,
        config: Mapping[str, str | int | bool] | None = None,
    ) -> Self: ...
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
    def serve(
        self,
        unix_socket: str | None = None,
        port: int | None = None,
        host: str = ...,
        password: str | None = None,
        unixsocketperm: int = 0o700,
        max_bulk_len: int = ...,
    ) -> Server: ...
    def advance_clock(self, ms: int) -> None: ...

@final
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
    def readable(self) -> bool: ...
    def pending(self) -> int: ...
    def push_waiter(self) -> PushWaiter: ...
    def block_step(self, fut: Any, event_loop: Any, disable_decoding: bool = False) -> Any | tuple[Blocked, float | None]: ...
    def block_wait(self, disable_decoding: bool = False) -> Any: ...
    def cancel_block(self) -> None: ...
    def reset(self) -> None: ...
    def close(self) -> None: ...

@final
class PushWaiter:
    """A session's pushed-message buffer, seen as a change counter to wait on."""

    def seq(self) -> int: ...
    def wait(self, seq: int, timeout: float | None = None) -> bool: ...
    def register(self, seq: int, fut: Any, event_loop: Any) -> bool: ...
    def clear(self) -> None: ...
    @property
    def buffered_bytes(self) -> int: ...

@final
class Server:
    """A running RESP server for an engine (see ``Engine.serve``)."""

    @property
    def port(self) -> int | None: ...
    @property
    def unix_socket(self) -> str | None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, _a: object, _b: object, _c: object) -> None: ...

def _close_persistent_engines() -> list[str]:
    """Final save of every engine of this process that still has persistence attached; returns
    the failures."""
