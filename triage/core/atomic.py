"""Atomic writes: after a crash a file or directory is either whole or absent, never half.

The pattern every writer follows: write beside the target under a hidden name, flush it to
the disk, rename it into place (atomic within one file system), then flush the directory so
that the rename itself survives a power cut.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


def fsync_dir(directory: Path, *, best_effort: bool = False) -> None:
    """Flush ``directory``'s entries (a rename into it) to the disk.

    ``best_effort``: ignore a directory that cannot be opened or flushed (some file systems
    refuse); for caches, whose loss costs a rebuild only.
    """
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        if best_effort:
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not best_effort:
            raise
    finally:
        os.close(fd)


def write_synced(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` and flush it to the disk before returning."""
    with path.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def replace_text(path: Path, text: str) -> None:
    """Replace ``path``'s content with ``text`` atomically: a reader sees the old or the new.

    A write that fails leaves the old file as it was (and the hidden ``.<name>.tmp`` beside
    it, overwritten by the next attempt).
    """
    temporary = path.with_name(f".{path.name}.tmp")
    write_synced(temporary, text)
    os.replace(temporary, path)
    fsync_dir(path.parent)


@contextmanager
def staging_dir(final: Path) -> Iterator[Path]:
    """A new hidden directory beside ``final`` to fill, removed with its contents if the block
    fails; move it into place with ``publish_dir``."""
    staging = final.with_name(f".tmp-{final.name}-{uuid.uuid4().hex[:8]}")
    staging.mkdir(parents=True)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def publish_dir(staging: Path, final: Path) -> None:
    """Rename the filled directory ``staging`` to ``final`` (which must not exist), durably."""
    fsync_dir(staging)
    os.rename(staging, final)
    fsync_dir(final.parent)


@contextmanager
def cache_folder(folder: Path) -> Iterator[Path]:
    """A scratch folder beside ``folder`` for the caller to fill, then published as ``folder``
    (a damaged one there is replaced); when another process published it first, theirs is
    kept. The scratch folder is removed whatever happens."""
    if folder.is_dir():
        shutil.rmtree(folder)  # present but unreadable: written again
    scratch = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}")
    scratch.mkdir(parents=True)
    try:
        yield scratch
        try:
            publish_dir(scratch, folder)
        except OSError:
            if not folder.is_dir():  # not another worker that got there first
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def read_or_build_cache(
    folder: Path,
    read: Callable[[], T | None],
    build: Callable[[], T],
    write: Callable[[T], None],
    *,
    what: str,
    write_errors: tuple[type[Exception], ...] = (OSError,),
) -> tuple[T, bool]:
    """What the cache in ``folder`` holds (``read``: None where absent or damaged) and True;
    else ``build``'s value, written there (``write``, through :func:`cache_folder`) and read
    back, and True; the built value itself and False where it cannot be cached.

    Workers started together all find no cache and all build: one that finds the cache
    another published meanwhile (read again before writing, and after a failed write) uses
    that one rather than write its own over it, which would remove the folder the other has
    just mapped and leave the two with a copy each instead of one shared.
    """
    found = read()
    if found is not None:
        return found, True
    built = build()
    found = read()
    if found is not None:
        return found, True
    try:
        write(built)
    except write_errors as exc:
        found = read()  # another process's, published first
        if found is not None:
            return found, True
        log.info("%s kept in memory (cannot cache it in %s: %s)", what, folder, exc)
        return built, False
    found = read() or read()  # again if another was replacing it
    return (found, True) if found is not None else (built, False)
