"""What a benchmark ran on: cores, CPU, memory, load, library versions, the commit."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.harness import ROOT


def usable_cores() -> int:
    """Cores this process may run on (its affinity), not the machine's count."""
    return len(os.sched_getaffinity(0))


def loadavg() -> list[float]:
    """The 1, 5 and 15-minute load averages: the machine is shared, figures move with it."""
    return [round(x, 2) for x in os.getloadavg()]


def load_1m() -> float:
    return round(os.getloadavg()[0], 2)


def _proc_line(path: str, prefix: str) -> str | None:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return None
    return next((line for line in lines if line.startswith(prefix)), None)


def cpu_model() -> str | None:
    line = _proc_line("/proc/cpuinfo", "model name")
    return line.split(":", 1)[1].strip() if line else None


def memory_gb() -> float | None:
    """Total memory in GiB, from /proc/meminfo."""
    line = _proc_line("/proc/meminfo", "MemTotal:")
    return round(int(line.split()[1]) / 1024**2, 1) if line else None


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def git_dirty() -> bool | None:
    """Uncommitted changes to tracked files (read-only: nothing is written to .git)."""
    try:
        out = subprocess.run(["git", "diff", "--quiet", "HEAD", "--"], cwd=ROOT, check=False)
    except OSError:
        return None
    return {0: False, 1: True}.get(out.returncode)


def versions(*names: str) -> dict[str, str]:
    """Python's version and each named distribution's that is installed."""
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def describe(libraries: Sequence[str] = (), **extra: Any) -> dict[str, Any]:
    """The machine record of the benchmarks that serve over HTTP, taken at their start."""
    return {
        "cores": os.cpu_count(),
        "cores_usable": usable_cores(),
        "cpu": cpu_model(),
        "memory_gb": memory_gb(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "loadavg_at_start": loadavg(),
        "libraries": versions(*libraries),
        "git_commit": git_commit(),
        "git_dirty": git_dirty(),
        **extra,
    }


def brief() -> dict[str, Any]:
    """The short machine record of the offline benchmarks (quality, learning curve, …)."""
    return {"cpus": os.cpu_count(), "platform": platform.platform()}
