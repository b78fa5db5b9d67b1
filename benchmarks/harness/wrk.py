"""wrk, the closed-loop HTTP load generator, driven by a Lua script of the caller's whose
``done()`` writes one JSON line after ``MARKER``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

MARKER = "WRK_RESULT "


def find() -> str | None:
    """The wrk executable, if installed (``apt-get install wrk``)."""
    return shutil.which("wrk")


def version(wrk: str) -> str | None:
    out = subprocess.run([wrk, "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0].strip() if out else None


def run(
    wrk: str,
    script: Path,
    url: str,
    *,
    connections: int,
    seconds: float,
    timeout: str | None = None,
) -> tuple[dict[str, Any], str]:
    """One thread (it shares the cores with the service), ``connections`` connections for
    ``seconds``; the script's JSON line and wrk's whole output."""
    command = [wrk, "-t1", f"-c{connections}", f"-d{seconds:g}s"]
    command += ["--timeout", timeout] if timeout else []
    command += ["--latency", "-s", str(script), url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next((x for x in out.splitlines() if x.startswith(MARKER)), None)
    if line is None:
        sys.exit(f"error: no result line from wrk:\n{out}")
    result: dict[str, Any] = json.loads(line.removeprefix(MARKER))
    return result, out
