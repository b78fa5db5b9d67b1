"""One BLAS thread for the small products of online detection.

A matrix-vector product of a few megabytes is memory-bound: OpenBLAS splitting it over every
core buys no time on a loaded machine and costs CPU (measured 3.8 ms of CPU per 10,000 x 512
scan with its threads, 1.5 ms with one, at load 10 on 2 cores). Limiting costs ~20 us a call.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import cache
from typing import Any

from threadpoolctl import ThreadpoolController


@cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()  # inspects the loaded libraries once


def one_blas_thread() -> AbstractContextManager[Any]:
    """A context in which BLAS runs on the calling thread only."""
    limit: AbstractContextManager[Any] = _controller().limit(limits=1, user_api="blas")
    return limit
