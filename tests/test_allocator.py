"""A serving process's allocator settings: two heap arenas, no huge-page advice, the
environment's own settings win, and trimming gives freed heap pages back (run in a child: they
hold for the whole process)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CHILD = """
from numpy._core.multiarray import _set_madvise_hugepage
from triage.core.allocator import keep_small
keep_small()
print(_set_madvise_hugepage(True))  # returns the setting it replaces
"""


def _advice_after_keep_small(**env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    environment.update(env)
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=environment, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_serving_turns_numpys_huge_page_advice_off() -> None:
    assert _advice_after_keep_small() == "False"


def test_the_environments_huge_page_setting_wins() -> None:
    assert _advice_after_keep_small(NUMPY_MADVISE_HUGEPAGE="1") == "True"


TRIM_CHILD = """
import ctypes
from triage.core.allocator import return_large_buffers, trim_heap
return_large_buffers()  # as in a serving process: blocks under 1 MB come from the heap
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def anonymous_mb():
    line = next(l for l in open("/proc/self/status") if l.startswith("RssAnon"))
    return int(line.split()[1]) // 1024
size = 256 << 10
blocks = [libc.malloc(size) for _ in range(400)]  # 100 MB, as a burst of requests' buffers
for block in blocks:
    ctypes.memset(block, 1, size)
for block in blocks[:-1]:  # the last one, still in use, keeps the heap's top
    libc.free(block)
freed = anonymous_mb()
trim_heap()
print(freed, anonymous_mb())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc")
def test_trimming_gives_back_what_a_burst_freed_below_a_block_in_use() -> None:
    done = subprocess.run(
        [sys.executable, "-c", TRIM_CHILD], capture_output=True, text=True, check=True
    )
    freed, trimmed = map(int, done.stdout.split())
    assert freed >= 90  # glibc kept the freed 100 MB: only an arena's top goes back unasked
    assert trimmed <= freed - 80
