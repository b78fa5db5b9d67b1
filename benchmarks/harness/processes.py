"""A server's processes read from /proc: its uvicorn workers, their memory and CPU time."""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children of all its threads, and theirs)."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found += [child, *descendants(child)]
    return found


def role(pid: int, master: int) -> str:
    """``master``, ``worker`` (a uvicorn worker process), ``other`` (e.g. the resource
    tracker) or ``gone``."""
    if pid == master:
        return "master"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "gone"
    return "worker" if b"spawn_main" in command else "other"


def uvicorn_workers(master: int) -> list[int]:
    return [pid for pid in descendants(master) if role(pid, master) == "worker"]


def rss_mb(pid: int | str = "self", field: str = "VmRSS") -> float | None:
    """``field`` of /proc/PID/status in MB (VmRSS: resident now, VmHWM: the peak); None once
    the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time so far; None once the process is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
