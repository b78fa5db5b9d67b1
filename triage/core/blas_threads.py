"""One BLAS thread for the small products of online detection.

A matrix-vector product of a few megabytes is memory-bound: OpenBLAS splitting it over every
core buys no time on a loaded machine and costs CPU (measured 3.8 ms of CPU per 10,000 x 512
scan with its threads, 1.5 ms with one, at load 10 on 2 cores). Limiting costs ~20 us a call.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import cache
from typing import Any

from threadpoolctl import ThreadpoolController


@cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()  # inspects the loaded libraries once


_depth = threading.local()


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """A context in which BLAS runs on the calling thread only (nested, only the outermost
    pays for the limit)."""
    depth = getattr(_depth, "value", 0)
    _depth.value = depth + 1
    try:
        if depth:
            yield
            return
        limit: AbstractContextManager[Any] = _controller().limit(limits=1, user_api="blas")
        with limit:
            yield
    finally:
        _depth.value = depth
