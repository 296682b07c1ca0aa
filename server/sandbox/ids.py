"""Deterministic ids and per-object random streams derived from the sandbox seed."""

from __future__ import annotations

import hashlib
import random
import uuid


class IdFactory:
    """Mints UUID4-shaped ids from a seeded generator, so a seed replays the same ids."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._rng = random.Random(f"ids:{seed}")  # noqa: S311 - reproducible ids, not secrets

    def new(self) -> str:
        """A fresh UUID string."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def rng(self, *parts: object) -> random.Random:
        """A random stream fixed by the seed and ``parts`` (e.g. a run id and a node id)."""
        text = ":".join(str(p) for p in (self._seed, *parts))
        return random.Random(hashlib.sha256(text.encode()).hexdigest())  # noqa: S311


def fingerprint(secret: str) -> str:
    """A short, stable, non-reversible label for an API key."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]
