"""Small per-head JSON files of an artifact (``{"format": N, "heads": {head: {...}}}``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def write_heads_file(
    root: Path, relative: str, file_format: int, heads: Mapping[str, Mapping[str, Any]]
) -> str:
    """Write ``heads`` to ``root / relative``; return ``relative`` (for the manifest)."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"format": file_format, "heads": {name: dict(entry) for name, entry in heads.items()}}
    path.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    return relative


def read_heads_file(
    root: Path, relative: str, file_format: int, what: str
) -> dict[str, dict[str, Any]]:
    """The per-head entries of ``root / relative``; ValueError if another format."""
    data = json.loads((root / relative).read_text(encoding="utf-8"))
    if data.get("format") != file_format:
        raise ValueError(f"{what} format {data.get('format')!r}, expected {file_format}")
    return {str(name): dict(entry) for name, entry in data["heads"].items()}
