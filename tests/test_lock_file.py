"""requirements/serve.lock, the image's hashed install, stays in step with serve.txt (issue 24).

Before: only torch was pinned; the image installed whatever the index served that day.
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s\\;]+)")


def _locked() -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of every pin in the lock."""
    found: dict[str, tuple[str, int]] = {}
    name = ""
    for line in (ROOT / "requirements" / "serve.lock").read_text().splitlines():
        if match := PIN.match(line):
            name = canonicalize_name(match.group(1))
            found[name] = (match.group(2), 0)
        elif line.strip().startswith("--hash=sha256:") and name:
            version, hashes = found[name]
            found[name] = (version, hashes + 1)
    return found


def test_every_service_requirement_is_locked_with_hashes_within_its_range() -> None:
    locked = _locked()
    assert all(hashes > 0 for _, hashes in locked.values())
    for line in (ROOT / "requirements" / "serve.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is not in serve.lock: run make lock"
        assert requirement.specifier.contains(locked[name][0], prereleases=True), (
            f"serve.lock pins {name}=={locked[name][0]}, outside {requirement.specifier}"
        )
    assert "torch" not in locked  # the service image has none
