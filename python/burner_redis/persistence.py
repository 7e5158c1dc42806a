"""Persistence glue on the Python side: exceptions, and saving engines at interpreter exit.

The engine does the work (``Engine(persistence_path=...)``, ``Engine.save()``, ``Engine.close()``);
this module only gives its failures redis-py-family exception classes and makes sure every
persistent engine still open at exit gets its final save (``atexit``).
"""

from __future__ import annotations

import atexit
import logging
import weakref

from redis.exceptions import RedisError

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


_open_engines: weakref.WeakSet = weakref.WeakSet()


def track(engine) -> None:
    """Remembers a persistent engine so that it is saved and closed at interpreter exit."""
    _open_engines.add(engine)


def close_engine(engine) -> None:
    """Final save and release of a persistent engine; failures are logged, not raised."""
    try:
        engine.close()
    except Exception:
        logger.exception("final save of %r failed", engine)
    _open_engines.discard(engine)


@atexit.register
def _close_all() -> None:
    for engine in list(_open_engines):
        close_engine(engine)
