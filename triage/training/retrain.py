"""``triage retrain``: train a challenger, compare it with the served champion, promote or not.

The challenger learns from the training file, optionally with staff feedback written over its
labels (``triage.training.feedback_merge``). Both models then answer the same held-out tickets
through ``load_model`` + ``predict_proba``, as they would be served, and the gate in
``triage.training.promotion`` decides.

Leakage: the held-out tickets are the challenger's (its stratified split of the training
data, or ``test_path``), but the champion may have trained on some of them, which would flatter
it. When the tickets have ids, those either model trained on (the ids its artifact keeps in
``neighbours.npz``) are left out, so both are scored on tickets neither saw; the record says
how many were left out. Without ids that cannot be known, and the record says so.

Serving: the challenger is saved into a hidden directory of the models directory, its
decision recorded in its manifest and metrics there, and only then moved beside the other
versions. Without an ACTIVE pointer the newest version is served, so before that move ACTIVE
is pinned to the version served now: a refused challenger is never served for being newest.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from triage.core.artifacts import add_record, list_versions, load_model
from triage.core.atomic import publish_dir
from triage.core.embeddings import Embedder
from triage.core.errors import ArtifactError, DataValidationError, TriageError
from triage.core.model import TriageModel
from triage.core.registry import active_version, served_model_dir, set_active
from triage.core.text import ticket_text
from triage.store.feedback import Feedback
from triage.training.config import Say, TrainConfig
from triage.training.data import fingerprint, read_table
from triage.training.evaluate import score
from triage.training.feedback_merge import FeedbackMerge, merge_feedback
from triage.training.promotion import Verdict, judge, render_table
from triage.training.split import Split, split_rows
from triage.training.train import train_split

RECORD_KEY = "retrain"  # in the challenger's manifest and metrics.json
DEFAULT_TOLERANCE = 0.005
FEW_ROWS = 100  # below this many evaluated tickets the comparison is noisy: say so


@dataclass(frozen=True)
class Gate:
    """When a challenger replaces the champion."""

    tolerance: float = DEFAULT_TOLERANCE
    force: bool = False  # promote even if a head got worse
    reason: str | None = None  # why, recorded with a forced promotion


@dataclass(frozen=True)
class RetrainOutcome:
    path: Path  # the challenger, saved as a version in the models directory
    promoted: bool
    record: dict[str, Any]  # as stored under RECORD_KEY
    verdict: Verdict | None  # None: there was no champion to compare with
    merge: FeedbackMerge | None


@dataclass(frozen=True)
class _Rows:
    """The held-out tickets both models are scored on."""

    texts: list[str]
    champion_texts: list[str]  # the same tickets in the champion's text columns
    truth: dict[str, list[str]]
    info: dict[str, Any]


def retrain(
    data_path: Path,
    embedder: Embedder,
    *,
    models_dir: Path,
    config: TrainConfig | None = None,
    feedback: Sequence[Feedback] | None = None,
    test_path: Path | None = None,
    gate: Gate | None = None,
    pinned: str | None = None,
    embedder_path: Path | None = None,
    threads: int = 2,
    progress: bool = False,
    say: Say = lambda _msg: None,
) -> RetrainOutcome:
    """Train a challenger on ``data_path`` (with ``feedback`` applied, when given), score it and
    the served model (``pinned``, else ACTIVE, else the newest) on the same held-out tickets,
    save it as a new version and make it ACTIVE only if ``gate`` lets it."""
    config = config or TrainConfig()
    gate = gate or Gate()
    models_dir.mkdir(parents=True, exist_ok=True)
    champion, champion_error = _champion(models_dir, pinned, embedder_path, threads, gate, say)
    staging = models_dir / f".retrain-{uuid.uuid4().hex[:8]}"
    try:
        with tempfile.TemporaryDirectory(prefix="triage-retrain-") as scratch:
            train_path, merge = _training_file(data_path, feedback, config, Path(scratch), say)
            split = split_rows(config, train_path, test_path)
            (Path(scratch) / "train").mkdir()
            # The staging path is not where the version ends up: its "saved" line would mislead.
            result = train_split(
                split,
                embedder,
                config,
                Path(scratch) / "train",
                staging,
                progress,
                lambda m: None if m.startswith("saved ") else say(m),
            )
            assert result.path is not None
            challenger = load_model(result.path, embedder_path=embedder_path, threads=threads)
            rows = (
                None if split.folds else _held_out(config, split, test_path, champion, challenger)
            )
        if rows is None:
            # Too few tickets for a held-out split: nothing both models can be scored on.
            evaluation = {"on": "nothing held out", "why": split.info["why"]}
            verdict, record = (
                None,
                _unscored(champion, champion_error, challenger, gate, evaluation),
            )
        else:
            for line in _row_notes(rows.info, champion is not None):
                say(line)
            challenger_scores = _scores(challenger, rows.texts, rows.truth)
            champion_scores = (
                None if champion is None else _scores(champion, rows.champion_texts, rows.truth)
            )
            verdict, record = _decide(
                champion, champion_error, champion_scores, challenger_scores, challenger, gate
            )
            evaluation = rows.info
        record.update(
            evaluation=evaluation,
            data={"file": data_path.name, "sha256": fingerprint(data_path)},
            feedback=None if merge is None else merge.to_dict(),
            decided_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        add_record(result.path, RECORD_KEY, record)
        final = _publish(result.path, models_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    promoted = record["decision"] == "promoted"
    if promoted:
        set_active(models_dir, final.name)
        if pinned and pinned != final.name:
            say(
                f"note: TRIAGE_MODEL_VERSION pins {pinned}: services keep serving it until the "
                "pin is removed"
            )
    return RetrainOutcome(final, promoted, record, verdict, merge)


def _champion(
    models_dir: Path,
    pinned: str | None,
    embedder_path: Path | None,
    threads: int,
    gate: Gate,
    say: Say,
) -> tuple[TriageModel | None, str | None]:
    """The served model, loaded as the service loads it; (None, why) if it cannot be and the
    gate forces, so that a broken champion does not block its replacement."""
    if not list_versions(models_dir) and pinned is None:
        return None, None
    path = served_model_dir(models_dir, pinned)
    try:
        model = load_model(path, embedder_path=embedder_path, threads=threads)
    except TriageError as exc:
        if not gate.force:
            raise
        say(f"the champion {path.name} cannot be loaded ({exc.message}); --force goes on")
        return None, f"the champion {path.name} could not be loaded: {exc.message}"
    say(f"champion: {model.version}")
    return model, None


def _training_file(
    data_path: Path,
    feedback: Sequence[Feedback] | None,
    config: TrainConfig,
    scratch: Path,
    say: Say,
) -> tuple[Path, FeedbackMerge | None]:
    """The file to train on: ``data_path`` itself, or a copy with the feedback applied."""
    if feedback is None:
        return data_path, None
    merged, merge = merge_feedback(
        read_table(data_path), feedback, label_columns=config.labels, id_column=config.id_column
    )
    for line in merge.lines(data_path.name):
        say(line)
    if data_path.suffix.lower() == ".csv":
        path = scratch / f"{data_path.stem}+feedback.csv"
        merged.to_csv(path, index=False)
    else:
        path = scratch / f"{data_path.stem}+feedback.jsonl"
        merged.to_json(path, orient="records", lines=True, force_ascii=False, date_format="iso")
    return path, merge


def _held_out(
    config: TrainConfig,
    split: Split,
    test_path: Path | None,
    champion: TriageModel | None,
    challenger: TriageModel,
) -> _Rows:
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
    return _Rows(
        texts=texts,
        champion_texts=champion_texts,
        truth={head: [str(v) for v in split.labels[head][rows]] for head in config.labels},
        info=info,
    )


def _row_notes(info: Mapping[str, Any], with_champion: bool) -> list[str]:
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


def _scores(
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


def _decide(
    champion: TriageModel | None,
    champion_error: str | None,
    champion_scores: Mapping[str, Mapping[str, float] | None] | None,
    challenger_scores: Mapping[str, Mapping[str, float] | None],
    challenger: TriageModel,
    gate: Gate,
) -> tuple[Verdict | None, dict[str, Any]]:
    """The verdict of the gate and the decision record."""
    new = {h: s["macro_f1"] for h, s in challenger_scores.items() if s is not None}
    record: dict[str, Any] = {
        "champion": None if champion is None else champion.version,
        "challenger": challenger.version,
        "tolerance": gate.tolerance,
        "forced": False,
    }
    if champion is None or champion_scores is None:
        record.update(
            decision="promoted",
            gate=None,
            heads={h: {"challenger": s} for h, s in challenger_scores.items()},
        )
        if champion_error is None:
            record["reason"] = "first model: no champion to compare with"
        else:
            record.update(forced=True, reason=_forced_reason(gate, champion_error))
        return None, record
    old = {h: None if s is None else s["macro_f1"] for h, s in champion_scores.items()}
    verdict = judge(old, new, tolerance=gate.tolerance)
    record["gate"] = verdict.reason
    record["heads"] = {
        h.head: {
            "champion": champion_scores.get(h.head),
            "challenger": challenger_scores.get(h.head),
            "macro_f1_delta": h.delta,
            "passed": h.passed,
            "note": h.note,
        }
        for h in verdict.heads
    }
    if verdict.passed:
        record.update(decision="promoted", reason=verdict.reason)
    elif gate.force:
        record.update(decision="promoted", forced=True, reason=_forced_reason(gate, verdict.reason))
    else:
        record.update(decision="refused", reason=verdict.reason)
    return verdict, record


def _unscored(
    champion: TriageModel | None,
    champion_error: str | None,
    challenger: TriageModel,
    gate: Gate,
    evaluation: Mapping[str, Any],
) -> dict[str, Any]:
    """The decision record when the data held nothing out: a first model is promoted, a
    champion is only replaced by force."""
    if champion is None:
        return _decide(None, champion_error, None, {}, challenger, gate)[1]
    finding = (
        f"no held-out tickets to compare the two models on ({evaluation['why']}); pass --test "
        "with labelled tickets neither model trained on"
    )
    record: dict[str, Any] = {
        "champion": champion.version,
        "challenger": challenger.version,
        "tolerance": gate.tolerance,
        "forced": gate.force,
        "gate": finding,
        "heads": {},
    }
    if gate.force:
        record.update(decision="promoted", reason=_forced_reason(gate, finding))
    else:
        record.update(decision="refused", reason=finding)
    return record


def _forced_reason(gate: Gate, finding: str) -> str:
    return (
        f"{gate.reason}; forced despite: {finding}" if gate.reason else f"forced despite: {finding}"
    )


def _publish(staged: Path, models_dir: Path) -> Path:
    """Move the staged version beside the others, without it being served for being newest."""
    final = models_dir / staged.name
    if final.exists():
        raise ArtifactError(f"{final} already exists; model versions are never overwritten")
    versions = list_versions(models_dir)
    if versions and active_version(models_dir) is None:
        set_active(models_dir, versions[-1])  # what is served now, by the newest-fallback
    publish_dir(staged, final)
    return final


def describe(outcome: RetrainOutcome) -> str:
    """What happened, for a person: the per-head table and the decision."""
    record = outcome.record
    lines = [] if outcome.verdict is None else [render_table(outcome.verdict.heads), ""]
    version = outcome.path.name
    if outcome.promoted:
        forced = " (forced)" if record["forced"] else ""
        lines.append(f"promoted{forced}: {version} is now active — {record['reason']}")
    else:
        lines += [
            f"refused: {record['reason']}",
            f"{record['champion']} keeps serving; the challenger is saved as {version}, not "
            f"active (POST /v1/models/{version}/activate, or retrain with --force, to use it)",
        ]
    return "\n".join(lines)
