"""Large NumPy work buffers go back to the system when freed (glibc's allocator).

glibc serves an allocation above its mmap threshold with a mapping of its own, unmapped when
freed; but each time such a block is freed it raises the threshold to that block's size (up
to 32 MB), so later buffers of that size come from the heap arenas, one per thread that
allocated, which keep them. A serving worker that embedded long tickets from its thread pool
then kept ~200 MB more than after loading (README "Speed of the default body"). A fixed
threshold stops that growth: buffers over 1 MB (a micro-batch of long tickets) are mapped
and returned; a short ticket's buffers (~300 kB) stay on the heap, reused without a system
call. Set once per serving process, by the app factory (``TRIAGE_RETURN_LARGE_BUFFERS``), never
by training or other commands: every larger buffer then costs a mapping and its page faults
(MiniLM encoding 600 tickets: +26 % CPU, 3x the minor faults). ``MALLOC_MMAP_THRESHOLD_`` in
the environment (glibc's own setting) wins.

``keep_small`` (same setting, same processes) caps glibc's heap arenas at two (each thread
of the server's pool would otherwise get one, up to 8 per core, each keeping what its
thread freed) and turns off NumPy's huge-page advice, which made each array of 4 MB or more
(the body's token-row table, micro-batch buffers) resident in 2 MB pages however little of
it was touched: 10 and 20 MB less in one serving process (``benchmarks/memory_breakdown``).
``MALLOC_ARENA_MAX`` and ``NUMPY_MADVISE_HUGEPAGE`` in the environment win.

``trim_heap`` gives back the free pages inside the arenas (``malloc_trim(0)``): glibc returns
only the free memory at an arena's top on its own, so what a burst of requests freed below
a block still in use (each in-flight request's NumPy buffers under 1 MB, its parsed body and
answer) stayed resident until the next burst: with 32 requests at once one process held
21-23 MB free inside its arenas, and a trim (1.9 ms) gave back 20 MB. The app's lifespan calls
it every ``TRIAGE_MEMORY_TRIM_SECONDS``; over HTTP it shows after an overload, not under a
steady load (README "What a worker's memory grows with under mixed load").
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
from typing import Any

log = logging.getLogger(__name__)

MMAP_THRESHOLD_BYTES = 1 << 20
ARENAS = 2
_M_MMAP_THRESHOLD = -3  # glibc's malloc.h
_M_ARENA_MAX = -8
_done = False


def return_large_buffers() -> bool:
    """Fix glibc's mmap threshold at ``MMAP_THRESHOLD_BYTES``; False where that is not done
    (another C library, or the variable set by the user)."""
    global _done
    if _done:
        return True
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    set_option = _mallopt()
    if set_option is None:
        return False
    if not set_option(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES):
        log.debug("mallopt(M_MMAP_THRESHOLD) refused")
        return False
    _done = True
    return True


def keep_small() -> None:
    """Cap glibc's arenas at ``ARENAS`` and stop NumPy's huge-page advice, unless the
    environment sets either."""
    set_option = _mallopt()
    keep_env = "MALLOC_ARENA_MAX" in os.environ or set_option is None
    if not keep_env and not set_option(_M_ARENA_MAX, ARENAS):
        log.debug("mallopt(M_ARENA_MAX) refused")
    if "NUMPY_MADVISE_HUGEPAGE" not in os.environ:
        from numpy._core import multiarray

        set_advice = getattr(multiarray, "_set_madvise_hugepage", None)
        if set_advice is not None:  # another NumPy keeps its own default
            set_advice(False)


def trim_heap() -> bool:
    """Return the whole free pages of every glibc heap arena to the system; False where the
    C library has no ``malloc_trim`` (e.g. musl)."""
    trim = _libc_function("malloc_trim")
    if trim is None:
        return False
    trim(0)  # 1 if memory was released: either way nothing else to do
    return True


def _mallopt() -> Any:
    return _libc_function("mallopt")


def _libc_function(name: str) -> Any:
    libc = _libc()
    return None if libc is None else getattr(libc, name, None)


@functools.cache
def _libc() -> Any:
    try:  # find_library runs ldconfig: once per process, not at every trim
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
