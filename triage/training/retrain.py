"""``triage retrain``: train a challenger, compare it with the served champion, promote or not.

The challenger learns from the training file, optionally with staff feedback written over its
labels (``triage.training.feedback_merge``). Both models then answer the same held-out tickets
through ``load_model`` + ``predict_proba``, as they would be served, and the gate in
``triage.training.promotion`` decides.

Leakage: the held-out tickets are the challenger's, but the champion may have trained on some
of them; ``triage.training.comparison`` leaves out those either model trained on, when the
tickets have ids, and the record says how many (or that it cannot be known).

Serving: the challenger is saved into a hidden directory of the models directory, its
decision recorded in its manifest and metrics there, and only then moved beside the other
versions. Without an ACTIVE pointer the newest version is served, so before that move ACTIVE
is pinned to the version served now: a refused challenger is never served for being newest.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from triage.core.artifacts import add_record, list_versions, load_model
from triage.core.atomic import publish_dir
from triage.core.embeddings import Embedder
from triage.core.errors import ArtifactError, TriageError
from triage.core.model import TriageModel
from triage.core.registry import keep_served, served_model_dir, set_active
from triage.store.feedback import Feedback
from triage.training.comparison import ComparisonRows, comparison_rows, head_scores, row_notes
from triage.training.config import Say, TrainConfig
from triage.training.data import fingerprint, read_table
from triage.training.feedback_merge import FeedbackMerge, merge_feedback
from triage.training.promotion import Verdict, judge, render_table
from triage.training.split import split_rows
from triage.training.train import train_split

RECORD_KEY = "retrain"  # in the challenger's manifest and metrics.json
DEFAULT_TOLERANCE = 0.005


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
    load = partial(load_model, embedder_path=embedder_path, threads=threads)
    models_dir.mkdir(parents=True, exist_ok=True)
    champion, champion_error = _champion(models_dir, pinned, load, gate, say)
    staging = models_dir / f".retrain-{uuid.uuid4().hex[:8]}"
    try:
        run = _train_challenger(
            data_path, embedder, config, feedback, test_path, staging, champion, load, progress, say
        )
        verdict, record, evaluation = _judge(run, champion, champion_error, gate, say)
        record.update(
            evaluation=evaluation,
            data={"file": data_path.name, "sha256": fingerprint(data_path)},
            feedback=None if run.merge is None else run.merge.to_dict(),
            decided_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        add_record(run.path, RECORD_KEY, record)
        final = _publish(run.path, models_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    promoted = record["decision"] == "promoted"
    if promoted:
        _activate(models_dir, final.name, pinned, say)
    return RetrainOutcome(final, promoted, record, verdict, run.merge)


@dataclass(frozen=True)
class _ChallengerRun:
    """The challenger, trained and saved in the staging directory."""

    path: Path
    model: TriageModel
    rows: ComparisonRows | None  # None: too few tickets for a held-out split
    split_info: dict[str, Any]
    merge: FeedbackMerge | None


def _train_challenger(
    data_path: Path,
    embedder: Embedder,
    config: TrainConfig,
    feedback: Sequence[Feedback] | None,
    test_path: Path | None,
    staging: Path,
    champion: TriageModel | None,
    load: Callable[[Path], TriageModel],
    progress: bool,
    say: Say,
) -> _ChallengerRun:
    """Train the challenger into ``staging``, load it as the service would, and choose the
    held-out tickets both models are scored on."""
    with tempfile.TemporaryDirectory(prefix="triage-retrain-") as scratch:
        train_path, merge = _training_file(data_path, feedback, config, Path(scratch), say)
        # Champion and challenger are compared on held-out tickets neither has seen, so the
        # challenger is the evaluated model itself: no refit on the held-out part.
        split = split_rows(replace(config, refit=False), train_path, test_path)
        config = split.resolved(config)
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
        challenger = load(result.path)
        rows = (
            None if split.folds else comparison_rows(config, split, test_path, champion, challenger)
        )
    return _ChallengerRun(result.path, challenger, rows, split.info, merge)


def _judge(
    run: _ChallengerRun,
    champion: TriageModel | None,
    champion_error: str | None,
    gate: Gate,
    say: Say,
) -> tuple[Verdict | None, dict[str, Any], dict[str, Any]]:
    """Score both models on the same tickets; the verdict, the decision record and what the
    evaluation was on."""
    if run.rows is None:
        # Too few tickets for a held-out split: nothing both models can be scored on.
        evaluation = {"on": "nothing held out", "why": run.split_info["why"]}
        record = _unscored(champion, champion_error, run.model, gate, evaluation)
        return None, record, evaluation
    rows = run.rows
    for line in row_notes(rows.info, champion is not None):
        say(line)
    challenger_scores = head_scores(run.model, rows.texts, rows.truth)
    champion_scores = (
        None if champion is None else head_scores(champion, rows.champion_texts, rows.truth)
    )
    verdict, record = _decide(
        champion, champion_error, champion_scores, challenger_scores, run.model, gate
    )
    return verdict, record, rows.info


def _activate(models_dir: Path, version: str, pinned: str | None, say: Say) -> None:
    set_active(models_dir, version)
    if pinned and pinned != version:
        say(
            f"note: TRIAGE_MODEL_VERSION pins {pinned}: services keep serving it until the "
            "pin is removed"
        )


def _champion(
    models_dir: Path,
    pinned: str | None,
    load: Callable[[Path], TriageModel],
    gate: Gate,
    say: Say,
) -> tuple[TriageModel | None, str | None]:
    """The served model, loaded as the service loads it; (None, why) if it cannot be and the
    gate forces, so that a broken champion does not block its replacement."""
    if not list_versions(models_dir) and pinned is None:
        return None, None
    path = served_model_dir(models_dir, pinned)
    try:
        model = load(path)
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
    keep_served(models_dir)
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
