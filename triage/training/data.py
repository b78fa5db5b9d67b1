"""Reading and validating ticket files (CSV, JSON Lines, JSON or Parquet) with pandas."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from triage.core.checksums import sha256_file
from triage.core.errors import DataValidationError
from triage.core.text import ticket_text
from triage.core.text_files import UTF8, decode_text

_TEXT_READERS: dict[str, Callable[[io.StringIO], pd.DataFrame]] = {
    ".csv": lambda f: pd.read_csv(f, dtype=str, keep_default_na=False, na_values=[""]),
    ".jsonl": lambda f: pd.read_json(f, lines=True, dtype=False),
    ".ndjson": lambda f: pd.read_json(f, lines=True, dtype=False),
}
_READERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    ".json": lambda p: pd.read_json(p, dtype=False),
    ".parquet": pd.read_parquet,
    ".pq": pd.read_parquet,
}
_SHOWN = 5
ENCODING = "encoding"  # frame.attrs key: the encoding a text file was read in


def read_table(path: Path, encoding: str | None = None) -> pd.DataFrame:
    """A ticket file as a frame; the format comes from the suffix. A CSV or JSON Lines file
    is read in ``encoding`` when given, else UTF-8, else the encoding detected; which one
    is in ``frame.attrs["encoding"]`` (see :func:`encoding_note`)."""
    if not path.is_file():
        raise DataValidationError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in _TEXT_READERS and suffix not in _READERS:
        known = sorted([*_TEXT_READERS, *_READERS])
        raise DataValidationError(
            f"{path}: unsupported format {path.suffix!r}; use one of {', '.join(known)}"
        )
    decoded = None
    try:
        if suffix in _TEXT_READERS:
            decoded = decode_text(path.read_bytes(), encoding, source=str(path))
            frame = _TEXT_READERS[suffix](io.StringIO(decoded.text))
        else:
            frame = _READERS[suffix](path)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise DataValidationError(f"{path}: cannot be read as {path.suffix}: {exc}") from exc
    if frame.empty:
        raise DataValidationError(f"{path}: contains no rows")
    if decoded is not None:
        frame.attrs[ENCODING] = {"name": decoded.encoding, "detected": decoded.detected}
    return frame


def encoding_note(frame: pd.DataFrame, path: Path) -> str | None:
    """What to tell the user when ``path`` was not read as UTF-8, else None."""
    read_as = frame.attrs.get(ENCODING) or {"name": UTF8}
    if read_as["name"] == UTF8:
        return None
    if read_as.get("detected"):
        return (
            f"{path.name} is not UTF-8: read as {read_as['name']} (detected; --encoding "
            "names another)"
        )
    return f"{path.name} read as {read_as['name']}"


def fingerprint(path: Path) -> str:
    """sha256 of a data file, recorded in the artifact so a model names its training data."""
    return sha256_file(path)


@dataclass(frozen=True)
class LabelledTexts:
    """Model texts with one label column per head, row for row."""

    texts: list[str]
    labels: dict[str, list[str]]
    frame: pd.DataFrame


def match_columns(frame: pd.DataFrame, wanted: Iterable[str]) -> tuple[pd.DataFrame, list[str]]:
    """``frame`` with each wanted column that it has only under another case or with spaces
    around (``Status`` for ``status``) renamed to the wanted name, and a note per renaming.
    Every command matches columns this way; two candidates for one name are an error."""
    present = {str(column) for column in frame.columns}
    renames: dict[str, str] = {}
    for name in dict.fromkeys(wanted):
        if name in present:
            continue
        candidates = [c for c in present if c.strip().casefold() == name.strip().casefold()]
        if len(candidates) > 1:
            raise DataValidationError(
                f"columns {', '.join(map(repr, sorted(candidates)))} all match {name!r}; "
                "rename one of them"
            )
        if candidates:
            renames[candidates[0]] = name
    if not renames:
        return frame, []
    notes = [f"column {found!r} read as {name!r}" for found, name in renames.items()]
    return frame.rename(columns=renames), notes


def row_numbers(index: Sequence[int]) -> str:
    """Rows as a spreadsheet numbers them, from 0-based positions: the header is row 1, so
    the first ticket is row 2 (every command reports rows this way)."""
    shown = ", ".join(str(i + 2) for i in index[:_SHOWN])
    more = f" and {len(index) - _SHOWN} more" if len(index) > _SHOWN else ""
    return f"{shown}{more}"


def labelled_texts(
    frame: pd.DataFrame,
    *,
    text_columns: Sequence[str],
    label_columns: Mapping[str, str],
    min_per_class: int = 2,
    min_classes: int = 2,
    drop_rare: bool = False,
) -> tuple[LabelledTexts, list[str]]:
    """Validate a training frame and build model texts and labels.

    Nothing is dropped silently: a missing column, an empty text or a missing label is an
    error naming the rows; a class with fewer than ``min_per_class`` rows is an error unless
    ``drop_rare`` is set, and then each dropped class is returned in the notes.
    """
    frame, renamed = match_columns(frame, [*text_columns, *label_columns.values()])
    _check_columns(frame, list(text_columns) + list(label_columns.values()))
    frame = frame.reset_index(drop=True)
    texts = _model_texts(frame, text_columns)
    labels = _labels(frame, label_columns)
    keep, notes = _rows_without_rare_classes(frame.index, labels, min_per_class, drop_rare)
    notes = [*renamed, *notes]
    for head, values in labels.items():
        if values[keep].nunique() < min_classes:
            raise DataValidationError(f"head {head!r} needs at least two classes to learn from")
    kept = [int(i) for i in frame.index[keep]]
    result = LabelledTexts(
        texts=[texts[i] for i in kept],
        labels={head: [values[i] for i in kept] for head, values in labels.items()},
        frame=frame.loc[kept].reset_index(drop=True),
    )
    return result, notes


def _check_columns(frame: pd.DataFrame, wanted: list[str]) -> None:
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"missing column(s) {', '.join(map(repr, missing))}; the file has "
            f"{', '.join(map(repr, map(str, frame.columns)))} "
            "(choose with --text-columns and --label HEAD=COLUMN)"
        )


def _model_texts(frame: pd.DataFrame, text_columns: Sequence[str]) -> list[str]:
    """Each row's model text; a row without any is an error."""
    texts = [ticket_text(row) for row in frame[list(text_columns)].itertuples(index=False)]
    empty = [i for i, text in enumerate(texts) if not text]
    if empty:
        raise DataValidationError(
            f"{len(empty)} row(s) have no text in {', '.join(text_columns)}: "
            f"rows {row_numbers(empty)}"
        )
    return texts


def _labels(frame: pd.DataFrame, label_columns: Mapping[str, str]) -> dict[str, pd.Series]:
    """Each head's labels as stripped text; a row without one is an error."""
    labels: dict[str, pd.Series] = {}
    for head, column in label_columns.items():
        values = frame[column].map(lambda v: "" if v is None or v != v else str(v).strip())
        blank = [int(i) for i in values.index[values == ""]]
        if blank:
            raise DataValidationError(
                f"{len(blank)} row(s) have no {head} label in column {column!r}: "
                f"rows {row_numbers(blank)}"
            )
        labels[head] = values
    return labels


def _rows_without_rare_classes(
    index: pd.Index, labels: dict[str, pd.Series], min_per_class: int, drop_rare: bool
) -> tuple[pd.Series, list[str]]:
    """Which rows to keep, head after head, and a note per head whose rare classes were
    dropped; a class with fewer than ``min_per_class`` rows is an error unless ``drop_rare``."""
    keep = pd.Series(True, index=index)
    notes: list[str] = []
    for head, values in labels.items():
        counts = values[keep].value_counts()
        rare = sorted(str(label) for label in counts.index[counts < min_per_class])
        if rare and not drop_rare:
            raise DataValidationError(
                f"head {head!r}: {len(rare)} class(es) with fewer than {min_per_class} rows "
                f"({', '.join(rare[:_SHOWN])}{' …' if len(rare) > _SHOWN else ''}); a held-out "
                "split needs more examples — add data or pass --drop-rare to drop them (and "
                "their rows of --test-data)"
            )
        if rare:
            dropped = values.isin(rare) & keep
            keep &= ~values.isin(rare)
            notes.append(
                f"dropped {int(dropped.sum())} row(s) of {len(rare)} rare {head} class(es): "
                f"{', '.join(rare[:_SHOWN])}{' …' if len(rare) > _SHOWN else ''}"
            )
    return keep, notes
