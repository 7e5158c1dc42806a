"""Persistence glue on the Python side: exceptions, and saving engines at interpreter exit.

The engine does the work (``Engine(persistence_path=...)``, ``Engine.save()``, ``Engine.close()``);
this module only gives its failures redis-py-family exception classes and makes sure every
persistent engine still open at exit, made by a pool or directly, gets its final save
(``atexit``).
"""

from __future__ import annotations

import atexit
import logging

from redis.exceptions import RedisError

from . import _engine

logger = logging.getLogger("burner_redis.persistence")

#: Engine keyword arguments that configure persistence (split from connection kwargs by pools).
ENGINE_KWARGS = (
    "persistence_path",
    "appendonly",
    "appendfsync",
    "save_rules",
    "auto_rewrite_percentage",
    "auto_rewrite_min_size",
    "start_on_damage",
)


class PersistenceError(RedisError):
    """Saving or loading the data files failed."""


class CorruptDataError(PersistenceError):
    """A snapshot or log file is damaged; the message names the file and byte offset."""


class DataLockedError(PersistenceError):
    """Another process (or engine) already has these data files open."""


def close_engine(engine) -> None:
    """Final save and release of a persistent engine; failures are logged, not raised."""
    try:
        engine.close()
    except Exception:
        logger.exception("final save of %r failed", engine)


@atexit.register
def _close_all() -> None:
    # Every persistent engine still alive, made by a pool or directly: the engine keeps the
    # (weak) registry, so one that was dropped already is not kept alive by it.
    for failure in _engine._close_persistent_engines():
        logger.error("final save at exit failed: %s", failure)
