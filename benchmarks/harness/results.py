"""Results: when they were measured, the command that measures them again, JSON on disk."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.harness.machine import brief


def now() -> str:
    """The UTC time to the second, as every result records it."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def command(module: str) -> str:
    """How to run this again: ``.venv/bin/python -m benchmarks.MODULE`` with this run's
    arguments."""
    return " ".join([".venv/bin/python", "-m", f"benchmarks.{module}", *sys.argv[1:]])


def stamp() -> dict[str, Any]:
    """When, on what and with which libraries an offline result was measured."""
    from triage.core.artifacts import library_versions

    return {"measured_at": now(), "machine": brief(), "libraries": library_versions()}


def read_json(path: Path) -> dict[str, Any]:
    """The results stored so far (a script merges its own into them), or nothing."""
    stored: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    return stored


def write_json(
    path: Path,
    data: Any,
    *,
    sort_keys: bool = False,
    default: Callable[[Any], Any] | None = None,
) -> None:
    """Indented UTF-8 JSON with a final newline; the folder is made if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=sort_keys, default=default)
    path.write_text(text + "\n", encoding="utf-8")
