"""One BLAS thread, process-wide, while any caller asks for it.

threadpoolctl's limit is a property of the process, not of a thread: the default body's
forward pass and online incident detection both run on one BLAS thread, and if each kept its
own limiter, one thread leaving would restore OpenBLAS's threads under another still inside
(a body call sharing the process with a detector call, say). So there is one limit, counted:
the first caller in sets it, the last out restores what was there.

Why one thread: the products here are small and memory-bound; OpenBLAS splitting them over
every core buys no time and costs CPU (measured 3.8 ms of CPU per 10,000 x 512 scan with its
threads, 1.5 ms with one, at load 10 on 2 cores), and with more threads than cores serving
workers collapsed (issue 29). Taking the limit costs ~20 us.

The libraries are inspected again whenever a module has been imported since the last look:
a BLAS loaded later (SciPy's, torch's) comes with an extension module.

threadpoolctl (3.8) lets only one thread, the "controlling thread", set OpenBLAS's limits
(pthreads build: one pool for the process); calls from any other thread are silently
ignored, and a limit taken without ``with`` never gives the control back. Here the thread
that takes the limit and the one that restores it may differ (two requests overlapping), so
each of them takes the control for its call (``clear_controlling_thread(force=True)``, the
documented release) and gives it back at once; this limiter is the process's only user of
the limit at serving time. Without that, the first thread ever to limit (a start-up warm-up,
say) kept the control and every request thread ran OpenBLAS on all cores.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_lock = threading.Lock()
_users = 0
_limiter: Any = None
_controller: Any = None
_modules_seen = -1


def _limit_factory() -> Callable[..., Any] | None:
    """The controller's ``limit``, inspected again if modules were imported since; None
    without threadpoolctl (BLAS then keeps its own setting)."""
    global _controller, _modules_seen
    if _controller is None or len(sys.modules) != _modules_seen:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - a dependency of scikit-learn, always here
            return None
        _modules_seen = len(sys.modules)
        _controller = ThreadpoolController()
    limit: Callable[..., Any] = _controller.limit
    return limit


def _release_control() -> None:
    try:
        from threadpoolctl import OpenBLASController
    except ImportError:  # pragma: no cover - threadpoolctl < 3.8 has no controlling thread
        return
    OpenBLASController.clear_controlling_thread(force=True)


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS on the calling thread only while this context is open in any thread (nested and
    concurrent uses share one limit)."""
    global _users, _limiter
    with _lock:
        if _users == 0:
            factory = _limit_factory()
            if factory is not None:
                _release_control()
                _limiter = factory(limits=1, user_api="blas")
                _release_control()
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _limiter is not None:
                _release_control()
                _limiter.restore_original_limits()
                _release_control()
                _limiter = None
