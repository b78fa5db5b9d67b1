"""Feedback checked against the model it is about, before it is stored (issue 24).

Feedback naming a head the model has not, or a ``predicted`` label the head cannot answer,
is refused (422): it can only be a caller's mistake, and stored it would skew the live quality
figures (the staff page charts every version's feedback by head). ``final`` may be any label:
staff may settle on one the model does not know yet (a new category), which is what retraining
on feedback learns. The model is the version the feedback names when it is served or saved
here (its manifest), else the served one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from triage.core.artifacts import MANIFEST, check_version_name
from triage.core.errors import DataValidationError, ModelNotFoundError
from triage.core.model import TriageModel
from triage.store.feedback import Feedback

Labels = Mapping[str, frozenset[str]]


@lru_cache(maxsize=32)
def _saved_labels(manifest: Path, _mtime: float) -> Labels:
    heads = json.loads(manifest.read_text(encoding="utf-8")).get("heads", {})
    return {head: frozenset(spec.get("labels", [])) for head, spec in heads.items()}


def labels_of(version: str, served: TriageModel, models_dir: Path) -> Labels:
    """Each head's labels in ``version`` if it is served or saved here, else the served one's."""
    if version != served.version:
        try:
            check_version_name(version)
            manifest = models_dir / version / MANIFEST
            return _saved_labels(manifest, manifest.stat().st_mtime)
        except (ModelNotFoundError, OSError, ValueError):
            pass
    return {head: frozenset(served.labels(head)) for head in served.heads}


def check_feedback(items: Sequence[Feedback], served: TriageModel, models_dir: Path) -> None:
    """Raise :class:`DataValidationError` naming the first item whose head or predicted label
    the model does not have."""
    for index, item in enumerate(items):
        where = f"item {index} ({item.ticket_id!r})" if len(items) > 1 else "the feedback"
        labels = labels_of(item.model_version, served, models_dir)
        if item.head not in labels:
            raise DataValidationError(
                f"{where} names head {item.head!r}, which the model has not "
                f"(heads: {', '.join(sorted(labels))})",
                details={"item": index, "head": item.head, "heads": sorted(labels)},
            )
        if item.predicted not in labels[item.head]:
            known = ", ".join(sorted(labels[item.head]))
            raise DataValidationError(
                f"{where}: {item.predicted!r} is not a label head {item.head!r} can answer "
                f"(labels: {known})",
                details={"item": index, "predicted": item.predicted},
            )
