"""Reading a training file and choosing which rows train and which are held out."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from triage.core.errors import DataValidationError
from triage.training.config import TrainConfig
from triage.training.data import (
    LabelledTexts,
    encoding_note,
    fingerprint,
    labelled_texts,
    match_columns,
    read_table,
)
from triage.training.evaluation_plan import Fold, plan_evaluation


@dataclass(frozen=True)
class Split:
    """A training file read and validated: every text, its labels, which rows train and
    which are held out (``split_rows``)."""

    texts: list[str]
    labels: dict[str, np.ndarray]
    frame: pd.DataFrame
    train_idx: np.ndarray
    test_idx: np.ndarray
    info: dict[str, Any]
    notes: list[str]
    training_data: dict[str, Any]
    # Too few tickets for a held-out split: every row is scored by the fold that leaves it
    # out (test_idx is then empty, train_idx every row).
    folds: tuple[Fold, ...] = ()
    # The heads learned, by column: the config's labels and the optional heads found.
    label_columns: dict[str, str] = field(default_factory=dict)

    def resolved(self, config: TrainConfig) -> TrainConfig:
        """``config`` learning exactly this split's heads."""
        return replace(config, labels=dict(self.label_columns), optional_labels={})

    @property
    def refit(self) -> bool:
        """Whether the held-out rows were scored by heads fitted without them, and the
        shipped heads then fitted on every row (``folds`` holds that one split)."""
        return bool(self.info.get("refit"))

    @property
    def cross_validated(self) -> bool:
        return bool(self.folds) and not self.refit

    @property
    def evaluated_idx(self) -> np.ndarray:
        """The rows the evaluation scores: the held-out rows, or every row of the folds."""
        if not self.folds:
            return self.test_idx
        return np.sort(np.concatenate([scored for _, scored in self.folds]))


def stratified_sample(
    frame: pd.DataFrame, heads: dict[str, str], size: int, seed: int
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """About ``size`` rows of ``frame``, each class of the first head kept in its share
    (at least 2 rows of a class, or all it has), and what was done, said for the output and
    the model card. Why a cap at all: ``TrainConfig.max_tickets``."""
    column = next(iter(heads.values()))
    rng = np.random.default_rng(seed)
    keep: list[np.ndarray] = []
    labels = frame[column].astype(str)
    for _, rows in labels.groupby(labels, sort=True).groups.items():
        positions = frame.index.get_indexer(rows)
        want = min(len(positions), max(2, round(len(positions) * size / len(frame))))
        keep.append(rng.choice(positions, size=want, replace=False))
    chosen = np.sort(np.concatenate(keep))
    note = (
        f"a stratified sample of {len(chosen)} of {len(frame)} rows trains the heads "
        f"(by {column!r}, seed {seed}; --max-tickets {size}): the learning curve does not "
        "justify fitting heads on more (README: Beyond one machine)"
    )
    info = {"rows": len(chosen), "of": len(frame), "by": column, "max_tickets": size}
    return frame.iloc[chosen].reset_index(drop=True), {**info, "note": note}


def split_rows(config: TrainConfig, data_path: Path, test_path: Path | None) -> Split:
    """Validated texts and labels, and which rows train and which are held out."""
    frame = read_table(data_path, config.encoding)
    # Columns match whatever their case before the optional heads are looked for, so a
    # `Priority` column gives the priority head as `priority` does.
    optional = [column for columns in config.optional_labels.values() for column in columns]
    frame, renamed = match_columns(
        frame, [*config.text_columns, *config.labels.values(), *optional]
    )
    heads, skipped = _learnable_heads(config, frame)
    config = replace(config, labels=heads, optional_labels={})
    rows_read = len(frame)
    sampled: dict[str, Any] | None = None
    if config.max_tickets is not None and len(frame) > config.max_tickets:
        frame, sampled = stratified_sample(frame, heads, config.max_tickets, config.seed)
        skipped = [*skipped, sampled["note"]]
    data, notes = labelled_texts(
        frame,
        text_columns=config.text_columns,
        label_columns=config.labels,
        min_per_class=config.min_per_class,
        drop_rare=config.drop_rare,
    )
    notes = [*renamed, *skipped, *notes]
    if note := encoding_note(frame, data_path):
        notes = [note, *notes]
    training_data: dict[str, Any] = {
        "file": data_path.name,
        "sha256": fingerprint(data_path),
        "rows": rows_read,
        "rows_used": len(data.texts),
    }
    if sampled is not None:
        training_data["sample"] = {k: v for k, v in sampled.items() if k != "note"}
    if test_path is None:
        return _planned_split(config, data, notes, training_data)
    return _split_with_test_file(config, data, notes, training_data, test_path)


def _learnable_heads(config: TrainConfig, frame: pd.DataFrame) -> tuple[dict[str, str], list[str]]:
    """The config's heads, and each optional head whose column can be learnt from as it is:
    a label in every row, two classes or more, none rarer than ``min_per_class`` (unless
    rare classes are dropped). An optional head that cannot is left out, with a note."""
    heads = config.heads_for(frame.columns)
    notes = []
    for head in [h for h in heads if h not in config.labels]:
        values = frame[heads[head]].map(lambda v: "" if v is None or v != v else str(v).strip())
        counts = values[values != ""].value_counts()
        why = None
        if (values == "").any():
            why = f"{int((values == '').sum())} row(s) have no label"
        elif len(counts) < 2:
            why = "fewer than two classes"
        elif not config.drop_rare and int(counts.min()) < config.min_per_class:
            why = f"a class with fewer than {config.min_per_class} rows"
        if why is not None:
            notes.append(f"not learning {head} from column {heads[head]!r}: {why}")
            del heads[head]
    return heads, notes


def _planned_split(
    config: TrainConfig, data: LabelledTexts, notes: list[str], training_data: dict[str, Any]
) -> Split:
    """Rows held out as ``plan_evaluation`` chooses: a stratified split, or folds."""
    labels = {head: np.asarray(values) for head, values in data.labels.items()}
    first_head = next(iter(config.labels))
    plan = plan_evaluation(labels, first_head, test_size=config.test_size, seed=config.seed)
    if config.refit and not plan.folds:
        # The held-out rows are scored by heads fitted without them, as one fold would be;
        # the shipped heads then learn from every row.
        return Split(
            data.texts,
            labels,
            data.frame,
            np.arange(len(data.texts)),
            np.arange(0),
            {**plan.info, "seed": config.seed, "refit": True},
            notes,
            training_data,
            ((plan.train_idx, plan.test_idx),),
            dict(config.labels),
        )
    return Split(
        data.texts,
        labels,
        data.frame,
        plan.train_idx,
        plan.test_idx,
        {**plan.info, "seed": config.seed},
        notes,
        training_data,
        plan.folds,
        dict(config.labels),
    )


def _split_with_test_file(
    config: TrainConfig,
    data: LabelledTexts,
    notes: list[str],
    training_data: dict[str, Any],
    test_path: Path,
) -> Split:
    """Every row of the data file trains; the rows of ``test_path`` are held out."""
    test_frame = read_table(test_path, config.encoding)
    if note := encoding_note(test_frame, test_path):
        notes = [*notes, note]
    test, _ = labelled_texts(
        test_frame,
        text_columns=config.text_columns,
        label_columns=config.labels,
        min_per_class=1,
        min_classes=1,
    )
    heads = list(config.labels)
    n_test_file = len(test.texts)
    test, unseen = _without_unseen_labels(test, data, heads, test_path, config.drop_rare)
    removed = n_test_file - len(test.texts)
    if unseen:
        notes = [*notes, _unseen_note(unseen, removed, n_test_file)]
        training_data["unseen_test_labels"] = unseen
    training_data["test_file"] = test_path.name
    training_data["test_sha256"] = fingerprint(test_path)
    n_train, n_test = len(data.texts), len(test.texts)
    return Split(
        data.texts + test.texts,
        {head: np.asarray(data.labels[head] + test.labels[head]) for head in heads},
        pd.concat([data.frame, test.frame], ignore_index=True),
        np.arange(n_train),
        np.arange(n_train, n_train + n_test),
        {
            "method": "test file",
            "test_file": test_path.name,
            "seed": config.seed,
            "stratify_on": None,
            "n_train": n_train,
            "n_test": n_test,
            "n_evaluated": n_test,
            "test_rows_unseen": removed,
        },
        notes,
        training_data,
        label_columns=dict(config.labels),
    )


def _without_unseen_labels(
    test: LabelledTexts, data: LabelledTexts, heads: list[str], test_path: Path, drop_rare: bool
) -> tuple[LabelledTexts, dict[str, dict[str, int]]]:
    """The test rows whose every label was trained, and per head the unseen labels' row
    counts. With ``drop_rare`` the classes dropped from the data file (and any label it never
    had) leave the test file too; without it an unseen label is an error."""
    keep = np.ones(len(test.texts), dtype=bool)
    unseen: dict[str, dict[str, int]] = {}
    for head in heads:
        values = np.asarray(test.labels[head])
        missing = ~np.isin(values, np.asarray(sorted(set(data.labels[head]))))
        if not missing.any():
            continue
        labels, counts = np.unique(values[missing], return_counts=True)
        if not drop_rare:
            raise DataValidationError(
                f"{test_path}: {head} label(s) never seen in training: "
                f"{', '.join(map(str, labels[:5]))} ({int(missing.sum())} test row(s)); pass "
                "--drop-rare to leave them out of the evaluation and report them"
            )
        unseen[head] = {str(label): int(n) for label, n in zip(labels, counts, strict=True)}
        keep &= ~missing
    if not unseen:
        return test, {}
    if not keep.any():
        raise DataValidationError(f"{test_path}: no test row has a label seen in training")
    kept = np.flatnonzero(keep).tolist()
    return (
        LabelledTexts(
            texts=[test.texts[i] for i in kept],
            labels={head: [test.labels[head][i] for i in kept] for head in heads},
            frame=test.frame.iloc[kept].reset_index(drop=True),
        ),
        unseen,
    )


def _unseen_note(unseen: dict[str, dict[str, int]], removed: int, n_test_file: int) -> str:
    listed = "; ".join(
        f"{head} " + ", ".join(f"{label} ({rows})" for label, rows in per_head.items())
        for head, per_head in unseen.items()
    )
    return (
        f"left {removed} of {n_test_file} test row(s) out of the evaluation: label(s) not "
        f"trained (dropped as rare, or absent from the data file): {listed}"
    )


def describe_split(split: Split, seed: int) -> str:
    """One line: how many tickets train the shipped heads, and how they are evaluated."""
    n = len(split.texts)
    if split.refit:
        return (
            f"{n} tickets: evaluated on {split.info['n_test']} held out from "
            f"{split.info['n_train']} ({split.info['method']}, seed {seed}); the served heads "
            f"are then fitted on all {n} (--no-refit: serve the evaluated ones)"
        )
    if not split.folds:
        return (
            f"{n} tickets: {len(split.train_idx)} to train, {len(split.test_idx)} held out "
            f"({split.info['method']}, seed {seed})"
        )
    return (
        f"{n} tickets, all {len(split.train_idx)} to train; evaluated by "
        f"{split.info['method']} ({split.info['folds']} fits): {split.info['why']}"
    )
