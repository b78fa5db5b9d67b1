"""The one-BLAS-thread limit is process-wide: another thread leaving its own use of it must
not lift the limit while this one still holds it, and it must hold in whichever thread takes
it (threadpoolctl lets only one "controlling thread" set OpenBLAS's limits)."""

import threading
from collections.abc import Callable

import numpy  # noqa: F401  (loads the BLAS the limit acts on)
from threadpoolctl import ThreadpoolController, threadpool_info

from triage.core.blas_threads import one_blas_thread


def _blas_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def _in_a_thread(work: Callable[[], None]) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    if errors:
        raise errors[0]


def test_the_limit_holds_until_the_last_user_leaves() -> None:
    before = _blas_threads()
    entered, leave = threading.Event(), threading.Event()

    def other() -> None:
        with one_blas_thread():
            entered.set()
            leave.wait(5)

    thread = threading.Thread(target=other)
    thread.start()  # the other thread takes the limit first
    assert entered.wait(5)
    with one_blas_thread():
        leave.set()
        thread.join(5)  # and leaves first: the limit stays for this one
        assert _blas_threads() == {1}
        with one_blas_thread():  # nested
            assert _blas_threads() == {1}
        assert _blas_threads() == {1}
    assert _blas_threads() == before  # the last out restores what was there


def test_the_limit_holds_in_a_thread_after_another_thread_limited_blas() -> None:
    """A request thread after a warm-up on another: threadpoolctl 3.8 would silently ignore
    the request thread's limit, the warm-up's thread having become the controlling one."""
    before = _blas_threads()
    ThreadpoolController().limit(limits=1, user_api="blas").restore_original_limits()
    with one_blas_thread():  # this thread, then others, in turn
        assert _blas_threads() == {1}
    assert _blas_threads() == before

    def request() -> None:
        with one_blas_thread():
            assert _blas_threads() == {1}
        assert _blas_threads() == before

    _in_a_thread(request)
    _in_a_thread(request)
