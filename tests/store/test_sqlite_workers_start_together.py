"""Worker processes that open a new SQLite file at the same moment all start.

Switching a new file to write-ahead logging answers "database is locked" at once to all but
one of the processes doing it together, without waiting for the busy timeout; a uvicorn
worker then failed its start-up on a fresh data directory (the suite saw it once in
tests/test_benchmark_harness.py). Each round here is a new file opened by three processes
released by one barrier.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from triage.store.database import Database

ROUNDS = 30
PROCESSES = 3


def _open_new_files(folder: str, barrier: Any, results: Any) -> None:
    for round_ in range(ROUNDS):
        barrier.wait()
        try:
            database = Database(f"sqlite:///{folder}/round{round_}.db")
            database.check_integrity()  # the first statement on the file: a connection opens
            database.dispose()
            results.put("ok")
        except Exception as exc:  # reported, not raised: the test counts them
            results.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_a_new_file_together_all_start(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    workers = [
        context.Process(target=_open_new_files, args=(str(tmp_path), barrier, results))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in range(ROUNDS * PROCESSES)]
    for worker in workers:
        worker.join(timeout=60)
    failed = [outcome for outcome in outcomes if outcome != "ok"]
    assert not failed, f"{len(failed)} of {len(outcomes)} opens failed, e.g. {failed[0]}"
    assert {p.name for p in tmp_path.glob("*.db")} == {f"round{r}.db" for r in range(ROUNDS)}
