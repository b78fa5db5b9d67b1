"""sha256 of files, streamed: artifact manifests, data fingerprints, embedder weights."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path


def sha256_files(paths: Iterable[Path]) -> str:
    """One digest over the bytes of ``paths``, in the order given."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    """Hex sha256 of one file."""
    return sha256_files([path])
