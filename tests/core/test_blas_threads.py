"""The one-BLAS-thread limit is process-wide: another thread leaving its own use of it must
not lift the limit while this one still holds it."""

import threading

import numpy  # noqa: F401  (loads the BLAS the limit acts on)
from threadpoolctl import threadpool_info

from triage.core.blas_threads import one_blas_thread


def _blas_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


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
