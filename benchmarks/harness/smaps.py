"""Where a process's resident memory is: /proc/PID/smaps summed by mapping kind.

Groups: ``heap`` (glibc's main arena), ``anon`` (every other anonymous mapping: thread
arenas, NumPy's large buffers, mapped Python objects), ``stack``, each file under a cache
or data directory by its name (the mapped body, the language tables), ``.so`` for every
shared library together, and ``other files``. Per group: Rss, Pss (the share of pages
other processes also map), Anonymous and the file-backed rest, in MB.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

_FIELDS = ("Rss", "Pss", "Anonymous", "AnonHugePages")
# Libraries the service must never import to answer (they cost tens of MB each).
HEAVY_MODULES = ("torch", "sklearn", "scipy", "pandas", "transformers", "onnxruntime")


def _group(path: str) -> str:
    if not path:
        return "anon"
    if path == "[heap]":
        return "heap"
    if path.startswith("[stack"):
        return "stack"
    if path.startswith("[anon"):
        return "anon"
    if path.startswith("["):
        return "other"
    if ".so" in Path(path).name:
        return ".so"
    name = Path(path).name
    if name in ("weights.bin", "tokenizer.marshal") or "cache" in path or "models" in path:
        return f"file {name}"
    return "other files"


def breakdown(pid: int | str = "self") -> dict[str, dict[str, float]]:
    """Rss, Pss, Anonymous (and file = Rss - Anonymous) in MB per mapping group, plus
    ``total``; empty once the process is gone."""
    groups: dict[str, dict[str, float]] = {}
    current: dict[str, float] | None = None
    try:
        lines = Path(f"/proc/{pid}/smaps").read_text().splitlines()
    except OSError:
        return {}
    for line in lines:
        head, _, rest = line.partition(" ")
        if "-" in head and not head.endswith(":"):
            parts = line.split(None, 5)
            current = groups.setdefault(_group(parts[5] if len(parts) > 5 else ""), {})
            continue
        key = head.rstrip(":")
        if current is not None and key in _FIELDS:
            current[key] = current.get(key, 0.0) + int(rest.split()[0]) / 1024
    total: dict[str, float] = {}
    for values in groups.values():
        values["file"] = values.get("Rss", 0.0) - values.get("Anonymous", 0.0)
        for key, value in values.items():
            total[key] = total.get(key, 0.0) + value
    groups["total"] = total
    return {
        name: {k: round(v, 1) for k, v in values.items()}
        for name, values in sorted(groups.items(), key=lambda kv: -kv[1].get("Rss", 0.0))
        if values.get("Rss", 0.0) >= 0.1 or name == "total"
    }


def table(parts: dict[str, dict[str, float]]) -> str:
    """The breakdown as Markdown rows: group | RSS | PSS | anonymous | file-backed."""
    lines = [
        "| mapping | RSS MB | PSS MB | anonymous MB | file-backed MB |",
        "|---|---|---|---|---|",
    ]
    for name, v in parts.items():
        lines.append(
            f"| {name} | {v.get('Rss', 0):.1f} | {v.get('Pss', 0):.1f} "
            f"| {v.get('Anonymous', 0):.1f} | {v.get('file', 0):.1f} |"
        )
    return "\n".join(lines)


def heavy_modules(modules: Any) -> list[str]:
    """Which of ``HEAVY_MODULES`` are imported (``modules``: a ``sys.modules``)."""
    return [name for name in HEAVY_MODULES if name in modules]
