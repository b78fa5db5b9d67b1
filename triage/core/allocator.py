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
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

MMAP_THRESHOLD_BYTES = 1 << 20
_M_MMAP_THRESHOLD = -3  # glibc's malloc.h
_done = False


def return_large_buffers() -> bool:
    """Fix glibc's mmap threshold at ``MMAP_THRESHOLD_BYTES``; False where that is not done
    (another C library, or the variable set by the user)."""
    global _done
    if _done:
        return True
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        set_option = libc.mallopt
    except (OSError, AttributeError):
        return False
    if not set_option(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES):
        log.debug("mallopt(M_MMAP_THRESHOLD) refused")
        return False
    _done = True
    return True
