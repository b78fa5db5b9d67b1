"""The default body's per-token state between calls (``triage.core.use_fast``): the token
table of first-layer results, shared by an encoder's calls and kept for the ids seen most,
and the micro-batch workspaces an encoder keeps for its next calls."""

from __future__ import annotations

from typing import Any

import numpy as np

EMB_DIM = 512
CNN_DIM = 256
# Micro-batches between halvings of the ids' counts, by which the token table keeps the ids
# seen most: a stream whose words change then replaces its rows.
AGE_EVERY = 4096


class Workspace:
    """A micro-batch's arrays of per-token values, for up to ``tokens`` tokens, kept for
    the next one: allocated anew for each, their pages were faulted in anew (the allocator
    gave the memory back to the system between micro-batches): ~10 % more of the body's CPU
    (measured against the same code with glibc's trimming turned off)."""

    def __init__(self, tokens: int, feat_dim: int, orders: tuple[tuple[int, int], ...]) -> None:
        self.tokens = tokens
        self.feats = np.empty((tokens, feat_dim), dtype=np.float32)
        self.buf = np.empty((tokens + 1, CNN_DIM), dtype=np.float32)
        self.part = np.empty((tokens, CNN_DIM), dtype=np.float32)
        self.c2 = np.empty((tokens, CNN_DIM), dtype=np.float32)
        self.windows = np.empty(tokens * max(n for n, _ in orders) * CNN_DIM, dtype=np.float32)


class TokenRows:
    """First-layer results, and each id's row of the embedding table, for up to ``capacity``
    token ids, one row each; row ``capacity`` is zeros (the padding of windows at a
    sentence's edges).

    Shared by an encoder's calls, changed under its lock only: a call pins the rows it reads
    (``pins``), and rows are only written over where no call has them pinned, so no row
    changes under a reader. ``seen`` counts each id's micro-batches (halved every
    ``AGE_EVERY``); the rows given up for new ids are those of the ids seen least."""

    def __init__(
        self, capacity: int, vocab: int, branches: int, blocks: int, raw_dtype: Any
    ) -> None:
        self.capacity = capacity
        self.slot = np.full(vocab, -1, dtype=np.int64)
        self.ids = np.full(capacity, -1, dtype=np.int64)
        self.pins = np.zeros(capacity, dtype=np.int32)
        self.seen = np.zeros(vocab, dtype=np.int32)
        self.batches = 0
        self.raw = np.zeros((capacity + 1, EMB_DIM), dtype=raw_dtype)
        self.x = np.zeros((branches, capacity + 1, CNN_DIM), dtype=np.float32)
        self.products = np.zeros((blocks, capacity + 1, CNN_DIM), dtype=np.float32)

    def count(self, ids: np.ndarray) -> None:
        """One more micro-batch holding these (distinct) ids."""
        self.seen[ids] += 1
        self.batches += 1
        if self.batches % AGE_EVERY == 0:
            self.seen >>= 1

    def place(
        self, ids: np.ndarray, raw: np.ndarray, x: np.ndarray, products: np.ndarray
    ) -> np.ndarray | None:
        """Pinned rows holding ``ids`` (distinct, computed as ``raw``, ``x``,
        ``products``): any row another call has given one of them since, else a row
        written over, the unused ones first, then those of the ids seen least. None,
        changing nothing, where too few rows are unpinned."""
        slots: np.ndarray = self.slot[ids]
        had = slots >= 0
        self.pins[slots[had]] += 1  # first: those rows are not free for the others
        new = np.flatnonzero(~had)
        free = np.flatnonzero(self.pins == 0)
        if len(free) < len(new):
            self.pins[slots[had]] -= 1
            return None
        if len(new):
            if len(free) > len(new):
                held = self.ids[free]
                seen = np.where(held >= 0, self.seen[held], -1)
                free = free[np.argpartition(seen, len(new) - 1)[: len(new)]]
            given_up = self.ids[free]
            self.slot[given_up[given_up >= 0]] = -1
            self.write(free, ids[new], raw[new], x[:, new], products[:, new])
            self.pins[free] += 1
            slots[new] = free
        return slots

    def write(
        self,
        rows: np.ndarray,
        ids: np.ndarray,
        raw: np.ndarray,
        x: np.ndarray,
        products: np.ndarray,
    ) -> None:
        """These rows now hold these ids' results (rows nobody reads: unpinned, or a
        call's own table)."""
        self.raw[rows], self.x[:, rows], self.products[:, rows] = raw, x, products
        self.ids[rows] = ids
        self.slot[ids] = rows
