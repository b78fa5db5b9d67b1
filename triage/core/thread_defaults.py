"""How many inference threads a serving process takes when TRIAGE_THREADS is not set.

The cores this process may use (its CPU affinity, and a cgroup's CPU quota where one is set,
as in a container limited with ``--cpus``), shared by the worker processes of the server
(``WEB_CONCURRENCY``, which uvicorn reads and ``triage serve --workers`` sets): each worker
takes ``cores // workers`` threads, at least one. More threads than that made the workers'
BLAS threads compete for the cores: 2 workers x 2 threads on 2 cores collapsed to 34 req/s
with a p99 of 1.7 s (issue 29). A single short ticket uses one thread whatever this says
(``triage.core.multilingual.SMALL_INPUT_CHARS``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # cgroup v2: "<quota> <period>" or "max <period>"


def usable_cores() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    try:
        quota, period = _CPU_MAX.read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return cores


def server_workers() -> int:
    try:
        return max(1, int(os.environ.get("WEB_CONCURRENCY", "1")))
    except ValueError:
        return 1


def default_threads() -> int:
    """``cores // workers``, at least 1."""
    return max(1, usable_cores() // server_workers())
