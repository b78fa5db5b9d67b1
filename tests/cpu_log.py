"""Where the suite's CPU goes: with TRIAGE_TEST_CPU_LOG=PREFIX, each test's CPU seconds
(setup, call and teardown; the process's threads and the children it has waited for) and
wall seconds are appended to PREFIX.<pid>, one file per pytest-xdist worker.

CPU is the figure to compare between runs on a shared machine: wall time moves with the
load, CPU much less. ``python -m tests.cpu_log PREFIX`` sums the files by module.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class CpuLog:
    def __init__(self, prefix: str) -> None:
        self.path = Path(f"{prefix}.{os.getpid()}")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        cpu, wall = _cpu_seconds(), time.perf_counter()
        yield
        line = f"{item.nodeid}\t{_cpu_seconds() - cpu:.2f}\t{time.perf_counter() - wall:.2f}\n"
        with self.path.open("a") as log:
            log.write(line)


def summary(prefix: str, top: int = 40) -> str:
    """CPU and wall seconds by module, the costliest first, with the total."""
    by_module: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for path in Path(prefix).parent.glob(Path(prefix).name + ".*"):
        for line in path.read_text().splitlines():
            nodeid, cpu, wall = line.split("\t")
            row = by_module[nodeid.split("::")[0]]
            row[0] += float(cpu)
            row[1] += float(wall)
            row[2] += 1
    rows = sorted(by_module.items(), key=lambda kv: -kv[1][0])
    total_cpu = sum(r[0] for _, r in rows)
    total_wall = sum(r[1] for _, r in rows)
    lines = [f"{'CPU s':>8} {'wall s':>8} {'tests':>6}  module"]
    lines += [f"{c:8.1f} {w:8.1f} {int(n):6d}  {m}" for m, (c, w, n) in rows[:top]]
    lines.append(f"{total_cpu:8.1f} {total_wall:8.1f} {'':6}  all {len(rows)} modules")
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary(sys.argv[1]))
