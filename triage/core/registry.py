"""Which saved model is served: a pinned setting, else the ACTIVE pointer, else the newest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from triage.core.artifacts import MANIFEST, check_version_name, list_versions, resolve_model_dir
from triage.core.atomic import replace_text
from triage.core.errors import ModelNotFoundError

ACTIVE = "ACTIVE"


def active_version(models_dir: Path) -> str | None:
    """The version last activated, if its pointer names a saved model."""
    try:
        version = (models_dir / ACTIVE).read_text(encoding="utf-8").strip()
        check_version_name(version)
    except (OSError, ModelNotFoundError):  # no pointer, or a name that is not a version
        return None
    return version if (models_dir / version / MANIFEST).is_file() else None


def dangling_active(models_dir: Path) -> str | None:
    """What ACTIVE names when that is not a saved model (deleted, not copied back, a typo):
    then nothing may be served in its place, or a rollback would be lost without a word."""
    try:
        named = (models_dir / ACTIVE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return None if active_version(models_dir) is not None else named or "(empty)"


def set_active(models_dir: Path, version: str) -> None:
    """Point ACTIVE at ``version`` atomically (survives a restart)."""
    resolve_model_dir(models_dir, version)  # exists and has a valid name
    replace_text(models_dir / ACTIVE, version + "\n")


def keep_served(models_dir: Path) -> None:
    """Pin what is served now before a version is added. Without an ACTIVE pointer the newest
    version is served, and a new one must not take its place by merely being saved."""
    versions = list_versions(models_dir)
    if versions and active_version(models_dir) is None and dangling_active(models_dir) is None:
        set_active(models_dir, versions[-1])


def pin_first_served(models_dir: Path, version: str) -> bool:
    """Name ``version`` in ACTIVE when nothing is named yet and it is saved here, so that a
    restart serves it again, not a version saved since. True if the pointer was written."""
    if active_version(models_dir) is not None or version not in list_versions(models_dir):
        return False
    if dangling_active(models_dir) is not None:
        return False
    set_active(models_dir, version)
    return True


def served_model_dir(models_dir: Path, pinned: str | None = None) -> Path:
    """The artifact to serve: ``pinned`` (TRIAGE_MODEL_VERSION), the active one, the newest.

    An ACTIVE that names no saved model is refused, not passed over for the newest."""
    if pinned is None and (named := dangling_active(models_dir)) is not None:
        saved = ", ".join(reversed(list_versions(models_dir))) or "none"
        raise ModelNotFoundError(
            f"{models_dir / ACTIVE} names {named!r}, which is not saved in {models_dir} "
            f"(saved: {saved}); restore that version, or choose one with "
            "'triage activate VERSION' (or pin one with TRIAGE_MODEL_VERSION)",
            details={"active": named},
        )
    return resolve_model_dir(models_dir, pinned or active_version(models_dir))


def summaries(models_dir: Path, served: str | None) -> list[dict[str, Any]]:
    """Every saved version, newest first, from its manifest (not re-verified here)."""
    result = []
    for version in reversed(list_versions(models_dir)):
        try:
            manifest = json.loads((models_dir / version / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = {}
        result.append(
            {
                "version": version,
                "created_at": manifest.get("created_at"),
                "heads": {
                    head: manifest.get("summary", {}).get(head, {})
                    for head in manifest.get("heads", {})
                },
                "training_data": manifest.get("training_data", {}).get("file"),
                "active": version == served,
            }
        )
    return result
