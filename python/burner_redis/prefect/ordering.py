"""``PREFECT_SERVER_EVENTS_CAUSAL_ORDERING``: prefect-redis's causal ordering of events, on the
process's shared engine."""

from __future__ import annotations

from prefect_redis.ordering import CausalOrdering as _RedisCausalOrdering

from . import messaging_client

__all__ = ["CausalOrdering"]


class CausalOrdering(_RedisCausalOrdering):
    """prefect-redis's ``CausalOrdering`` with its client on the shared engine."""

    def __init__(self, scope: str):
        # prefect-redis's constructor makes a (lazy, never connected) client from its settings;
        # ours replaces it before any command is sent.
        super().__init__(scope=scope)
        self.redis = messaging_client()
