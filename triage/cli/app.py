"""The ``triage`` Typer app, the options several commands share, and how a command says
something, fails, or reads its common arguments.

Commands import what they need inside their body, so that ``triage --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from triage.core.embeddings import DEFAULT_EMBEDDER
from triage.core.errors import TriageError
from triage.settings import get_settings

if TYPE_CHECKING:
    from triage.training.train import TrainConfig

app = typer.Typer(
    help="Helpdesk ticket triage: train models, evaluate them, classify tickets, serve the API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help, wrapped at the terminal's width: Rich's option tables cut words short
    # ("TRIAGE_MODELS_D…") on an 80-column terminal or in a pipe.
    rich_markup_mode=None,
    context_settings={"max_content_width": 100},
)

DataOpt = Annotated[
    Path, typer.Option("--data", help="Ticket file: CSV, JSON Lines, JSON or Parquet.")
]
ModelArg = Annotated[str, typer.Argument(help="Artifact directory, version name or 'latest'.")]
TextColumnsOpt = Annotated[
    str | None,
    typer.Option(help="Comma-separated text columns, joined in order (default: subject,body)."),
]
LabelOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--label",
        help="HEAD=COLUMN, repeatable (default: category=category and tier=tier).",
    ),
]
EmbedderOpt = Annotated[
    str | None,
    typer.Option(
        help=f"Embedding body: {DEFAULT_EMBEDDER} (the default, or TRIAGE_EMBEDDER; "
        "multilingual), e5-multilingual (multilingual, needs the e5 extra), minilm (English; "
        "--finetune can tune it), hashing[:DIM] (a test stand-in) or a local "
        "sentence-transformers directory (--finetune can tune it)."
    ),
]
EncodingOpt = Annotated[
    str | None,
    typer.Option(
        help="Encoding of a CSV or JSON Lines file, e.g. cp1252 (default: UTF-8, else "
        "detected, and said)."
    ),
]
TestSizeOpt = Annotated[float, typer.Option(min=0.05, max=0.5)]
DropRareOpt = Annotated[
    bool, typer.Option(help="Drop (and report) classes with fewer than 2 rows.")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")]


def say(message: str) -> None:
    """Progress and notes go to standard error; standard output carries the result."""
    typer.echo(message, err=True)


def fail(exc: TriageError) -> typer.Exit:
    """The one line a domain error prints, and exit status 2 (raise what this returns)."""
    typer.secho(f"error [{exc.code}]: {exc.message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=2)


def parse_labels(values: list[str] | None) -> dict[str, str] | None:
    """``--label HEAD=COLUMN`` options as a mapping (None: none given)."""
    if not values:
        return None
    labels = {}
    for value in values:
        head, sep, column = value.partition("=")
        if not sep or not head.strip() or not column.strip():
            raise typer.BadParameter(f"{value!r}: expected HEAD=COLUMN", param_hint="--label")
        labels[head.strip()] = column.strip()
    return labels


def parse_columns(value: str | None) -> tuple[str, ...] | None:
    """``--text-columns a,b`` as a tuple (None: not given)."""
    if value is None:
        return None
    columns = tuple(c.strip() for c in value.split(",") if c.strip())
    if not columns:
        raise typer.BadParameter("name at least one column", param_hint="--text-columns")
    return columns


def train_config(text_columns: str | None, label: list[str] | None, **options: Any) -> TrainConfig:
    """The ``TrainConfig`` of a command's --text-columns, --label and other options."""
    from triage.training.config import OPTIONAL_LABELS
    from triage.training.train import DEFAULT_LABELS, DEFAULT_TEXT_COLUMNS, TrainConfig

    labels = parse_labels(label)
    return TrainConfig(
        text_columns=parse_columns(text_columns) or DEFAULT_TEXT_COLUMNS,
        labels=labels or dict(DEFAULT_LABELS),
        # Without --label: priority and the assignment group too, where the file has them.
        optional_labels={} if labels else dict(OPTIONAL_LABELS),
        **options,
    )


def model_path(model: str) -> Path:
    """The artifact a MODEL argument names: a directory, a version, or 'latest'."""
    from triage.core.artifacts import resolve_model_dir

    path = Path(model)
    if path.is_dir():
        return path
    return resolve_model_dir(get_settings().models_dir, None if model == "latest" else model)
