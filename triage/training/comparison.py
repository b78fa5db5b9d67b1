"""The tickets a challenger and the champion are both scored on, and their scores.

Leakage: the held-out tickets are the challenger's (its stratified split of the training
data, or ``test_path``), but the champion may have trained on some of them, which would flatter
it. When the tickets have ids, those either model trained on (the ids its artifact keeps in
``neighbours.npz``) are left out, so both are scored on tickets neither saw; the record says
how many were left out. Without ids that cannot be known, and the record says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from triage.core.errors import DataValidationError
from triage.core.model import TriageModel
from triage.core.text import ticket_text
from triage.training.config import TrainConfig
from triage.training.evaluate import score
from triage.training.split import Split

FEW_ROWS = 100  # below this many evaluated tickets the comparison is noisy: say so


@dataclass(frozen=True)
class ComparisonRows:
    """The held-out tickets both models are scored on."""

    texts: list[str]
    champion_texts: list[str]  # the same tickets in the champion's text columns
    truth: dict[str, list[str]]
    info: dict[str, Any]


def comparison_rows(
    config: TrainConfig,
    split: Split,
    test_path: Path | None,
    champion: TriageModel | None,
    challenger: TriageModel,
) -> ComparisonRows:
    """The challenger's held-out tickets that neither model trained on (when ids tell)."""
    rows = np.asarray(split.test_idx)
    info: dict[str, Any] = {
        "on": f"test file {test_path.name}" if test_path else "held-out split of the data",
        "held_out": len(rows),
        "ids_checked": config.id_column in split.frame.columns,
        "seen_by_champion": None,
        "seen_by_challenger": None,
    }
    if info["ids_checked"]:
        ids = np.asarray([_ticket_id(v) for v in split.frame[config.id_column].iloc[rows]])
        keep = np.ones(len(rows), dtype=bool)
        for name, model in (("champion", champion), ("challenger", challenger)):
            trained_on = _training_ids(model)
            if trained_on is None:
                continue
            seen = np.isin(ids, trained_on) & (ids != "")
            info[f"seen_by_{name}"] = int(seen.sum())
            keep &= ~seen
        rows = rows[keep]
    info["evaluated"] = len(rows)
    if not len(rows):
        raise DataValidationError(
            f"all {info['held_out']} held-out tickets were in a model's training data, so there "
            "is nothing to compare on fairly; pass --test with tickets neither model trained on"
        )
    texts = [split.texts[i] for i in rows]
    champion_texts = texts
    if champion is not None and champion.manifest.get("text_columns") != list(config.text_columns):
        champion_texts = _texts_for(champion, split.frame, rows)
    return ComparisonRows(
        texts=texts,
        champion_texts=champion_texts,
        truth={head: [str(v) for v in split.labels[head][rows]] for head in config.labels},
        info=info,
    )


def row_notes(info: Mapping[str, Any], with_champion: bool) -> list[str]:
    """What a person should know about the rows: how many, which were left out, noise."""
    notes = [f"scoring on {info['evaluated']} of {info['held_out']} tickets ({info['on']})"]
    if with_champion and info["seen_by_champion"] is None:
        notes.append("whether the champion trained on some of them is unknown (no ticket ids)")
    elif info["seen_by_champion"]:
        notes.append(f"left out {info['seen_by_champion']} the champion trained on")
    if info["seen_by_challenger"]:
        notes.append(f"left out {info['seen_by_challenger']} the challenger trained on")
    if info["evaluated"] < FEW_ROWS:
        notes.append(
            f"only {info['evaluated']} tickets: the comparison is noisy; a fixed held-out file "
            "(--test) that no model trains on makes it steadier"
        )
    return notes


def _ticket_id(value: object) -> str:
    return "" if value is None or value != value else str(value).strip()  # None, NaN: no id


# Training names tickets of a file without ids "row 1", "row 2", … (triage.training.train).
_ROW_NUMBER = re.compile(r"row \d+")


def _training_ids(model: TriageModel | None) -> np.ndarray | None:
    """The ids of the tickets ``model`` trained on, if its artifact keeps real ones."""
    if model is None or model.neighbours is None:
        return None
    ids = model.neighbours.ids.astype(str)
    if all(_ROW_NUMBER.fullmatch(i) for i in ids):
        return None  # trained on a file without ids: which tickets it saw is unknown
    return ids


def _texts_for(model: TriageModel, frame: pd.DataFrame, rows: np.ndarray) -> list[str]:
    """The held-out tickets as ``model`` reads them: from its own text columns."""
    columns = list(model.manifest.get("text_columns", []))
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"the champion {model.version} reads column(s) {', '.join(missing)}, which the data "
            "lacks: the two models cannot be scored on the same tickets"
        )
    return [ticket_text(row) for row in frame.iloc[rows][columns].itertuples(index=False)]


def head_scores(
    model: TriageModel, texts: list[str], truth: Mapping[str, list[str]]
) -> dict[str, dict[str, float] | None]:
    """Accuracy and macro-F1 per head of ``model`` (None for a head with no true labels)."""
    probabilities = model.predict_proba(texts)
    result: dict[str, dict[str, float] | None] = {}
    for head in model.heads:
        if head not in truth:
            result[head] = None
            continue
        labels = model.labels(head)
        predicted = [labels[i] for i in probabilities[head].argmax(axis=1)]
        result[head] = score(truth[head], predicted)
    return result
