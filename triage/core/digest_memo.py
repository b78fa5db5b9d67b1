"""sha256 digests remembered by the file's identity on disk, so that a worker's start does not
read again, to hash them, the ~170 MB of body weights and mapped caches it hashed before.

A digest is remembered (in one small JSON file, beside the caches) with the file's device,
inode, size, modification and change times in nanoseconds; it is used only while all five
are unchanged. Anything that writes to the file or replaces it changes them: a rebuilt
cache is a new inode, a byte written in place moves both times (the change time cannot be
set back from user space). What stays unseen is a change below the file system (a disk
corrupting a block in place), as for every file a process has already loaded. As git does
for its index, a file changed in the last two seconds is never remembered: the file
system's clock is coarser than a nanosecond, and a write right after hashing could
otherwise keep the same times. Without a place to keep the memo (a read-only data
directory), every digest is computed.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from triage.core.checksums import sha256_files

_SETTLED_NS = 2_000_000_000  # a file unchanged this long is remembered
MEMO_NAME = "digests.json"  # in the cache directory


def _stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


class DigestMemo:
    """sha256 of files (``sha256_files``), remembered in ``memo`` (None: never)."""

    def __init__(self, memo: Path | None) -> None:
        self.memo = memo

    @classmethod
    def in_cache(cls, cache_dir: Path | None) -> DigestMemo:
        """The memo of a cache directory (None: no memo)."""
        return cls(None if cache_dir is None else cache_dir / MEMO_NAME)

    def sha256(self, paths: Sequence[Path]) -> str:
        """The digest of ``paths``' bytes in order, as ``sha256_files``; read from the memo
        where every file is as it was when hashed."""
        if self.memo is None:
            return sha256_files(paths)
        key = "\n".join(str(path.resolve()) for path in paths)
        stamps = [_stamp(path) for path in paths]
        entry = self._entries().get(key)
        if isinstance(entry, dict) and entry.get("stamps") == stamps:
            return str(entry["sha256"])
        digest = sha256_files(paths)
        settled = time.time_ns() - max(max(s[3], s[4]) for s in stamps) > _SETTLED_NS
        if settled and [_stamp(path) for path in paths] == stamps:  # unchanged while read
            self._remember(key, {"stamps": stamps, "sha256": digest})
        return digest

    def _entries(self) -> dict[str, Any]:
        assert self.memo is not None
        try:
            entries = json.loads(self.memo.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return entries if isinstance(entries, dict) else {}

    def _remember(self, key: str, entry: dict[str, Any]) -> None:
        """Add ``entry`` (and drop those of files gone); another process's write at the same
        time may win, which only costs a digest computed again."""
        assert self.memo is not None
        entries = {
            k: v for k, v in self._entries().items() if all(Path(p).exists() for p in k.split("\n"))
        }
        entries[key] = entry
        temporary = self.memo.with_name(f".{self.memo.name}.{uuid.uuid4().hex[:8]}")
        try:
            temporary.write_text(json.dumps(entries), encoding="utf-8")
            os.replace(temporary, self.memo)
        except OSError:  # a read-only or full data directory: no memo, no harm
            temporary.unlink(missing_ok=True)
