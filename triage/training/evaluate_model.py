"""A saved model evaluated on a labelled ticket file (``triage evaluate``): every row is used."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from triage.core.decisions import HeadPolicy
from triage.core.model import TriageModel
from triage.training.data import encoding_note, labelled_texts, read_table
from triage.training.evaluate import decision_report, head_report


class UnknownHeadError(ValueError):
    """Label columns were named for heads the model does not have."""


def evaluate_file(
    model: TriageModel,
    data: Path,
    policies: Mapping[str, HeadPolicy],
    *,
    text_columns: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    encoding: str | None = None,
    say: Callable[[str], object] = lambda _m: None,
) -> dict[str, dict[str, Any]]:
    """Each head's report on ``data``, with the decisions its policy makes.

    ``text_columns`` and ``labels`` (head -> label column) default to the model's own.
    """
    columns = text_columns or tuple(model.manifest["text_columns"])
    labels = labels or dict(model.manifest["label_columns"])
    unknown = sorted(set(labels) - set(model.heads))
    if unknown:
        raise UnknownHeadError(f"the model has no head(s) {unknown}")
    frame = read_table(data, encoding)
    if note := encoding_note(frame, data):
        say(note)
    rows, _ = labelled_texts(
        frame,
        text_columns=columns,
        label_columns=labels,
        min_per_class=1,
        min_classes=1,
    )
    probabilities = model.predict_proba(rows.texts, show_progress=True)
    report = {}
    for head in labels:
        args = (rows.labels[head], probabilities[head], model.labels(head))
        report[head] = head_report(*args)
        report[head]["decisions"] = decision_report(*args, policies[head])
    return report
