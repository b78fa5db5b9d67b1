"""The ``triage`` command line: train, evaluate, predict, serve."""

from __future__ import annotations

import json
import sys
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from triage.training.train import TrainConfig

from triage.core.errors import TriageError
from triage.settings import get_settings

# uvicorn's protocol with TCP_NODELAY per connection (see triage.api.transport).
NODELAY_HTTP = "triage.api.transport:NoDelayHTTPProtocol"
app = typer.Typer(
    help="Helpdesk ticket triage: train models, evaluate them, classify tickets, serve the API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

DataOpt = Annotated[
    Path, typer.Option("--data", help="Ticket file: CSV, JSON Lines, JSON or Parquet.")
]
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
    typer.Option(help="'minilm', 'hashing' or a local sentence-transformers directory."),
]
TestSizeOpt = Annotated[float, typer.Option(min=0.05, max=0.5)]
DropRareOpt = Annotated[
    bool, typer.Option(help="Drop (and report) classes with fewer than 2 rows.")
]


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _fail(exc: TriageError) -> typer.Exit:
    typer.secho(f"error [{exc.code}]: {exc.message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=2)


def _parse_labels(values: list[str] | None) -> dict[str, str] | None:
    if not values:
        return None
    labels = {}
    for value in values:
        head, sep, column = value.partition("=")
        if not sep or not head.strip() or not column.strip():
            raise typer.BadParameter(f"{value!r}: expected HEAD=COLUMN", param_hint="--label")
        labels[head.strip()] = column.strip()
    return labels


def _parse_columns(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    columns = tuple(c.strip() for c in value.split(",") if c.strip())
    if not columns:
        raise typer.BadParameter("name at least one column", param_hint="--text-columns")
    return columns


def _train_config(text_columns: str | None, label: list[str] | None, **options: Any) -> TrainConfig:
    """The ``TrainConfig`` of a command's --text-columns, --label and other options."""
    from triage.training.train import DEFAULT_LABELS, DEFAULT_TEXT_COLUMNS, TrainConfig

    return TrainConfig(
        text_columns=_parse_columns(text_columns) or DEFAULT_TEXT_COLUMNS,
        labels=_parse_labels(label) or dict(DEFAULT_LABELS),
        **options,
    )


def _model_path(model: str) -> Path:
    from triage.core.artifacts import resolve_model_dir

    path = Path(model)
    if path.is_dir():
        return path
    return resolve_model_dir(get_settings().models_dir, None if model == "latest" else model)


@app.command()
def train(
    data: DataOpt,
    text_columns: TextColumnsOpt = None,
    label: LabelOpt = None,
    out: Annotated[
        Path | None, typer.Option(help="Models directory (default: TRIAGE_MODELS_DIR, models/).")
    ] = None,
    embedder: EmbedderOpt = None,
    test_data: Annotated[
        Path | None,
        typer.Option(help="Evaluate on this file instead of holding out part of --data."),
    ] = None,
    test_size: TestSizeOpt = 0.2,
    seed: int = 0,
    drop_rare: DropRareOpt = False,
    tune: Annotated[
        bool,
        typer.Option(
            help="Choose C and class weighting per head by out-of-fold macro-F1 (4 fits)."
        ),
    ] = True,
    finetune: Annotated[
        bool,
        typer.Option(
            help="Fine-tune the embedding body on the first head's labels (contrastive, "
            "SetFit-style; sentence-transformers bodies; minutes on a CPU) before fitting heads."
        ),
    ] = False,
    finetune_epochs: Annotated[float, typer.Option(min=0.1, max=20)] = 1.0,
    finetune_max_steps: Annotated[
        int, typer.Option(min=1, help="Upper bound on fine-tuning steps (64 tickets each).")
    ] = 400,
    vote: Annotated[
        bool,
        typer.Option(
            help="Blend a vote of the nearest training tickets into each head, weighted as "
            "out-of-fold macro-F1 decides (--no-vote: the head alone)."
        ),
    ] = True,
    cold_start_below: Annotated[
        int,
        typer.Option(
            min=0,
            help="A head whose median class has fewer training tickets than this answers "
            "by the class-centroid vote alone (0: never).",
        ),
    ] = 5,
    if_none: Annotated[
        bool, typer.Option("--if-none", help="Do nothing if the models directory has a model.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Train a model on a ticket file and save it as a new version under the models dir."""
    from triage.core.artifacts import list_versions
    from triage.core.embeddings import load_embedder
    from triage.training.finetune import FinetuneConfig
    from triage.training.fit_refinement import VOTE_WEIGHTS
    from triage.training.train import (
        train_from_file,
    )

    settings = get_settings()
    models_dir = out or settings.models_dir
    if if_none and list_versions(models_dir):
        _say(f"{models_dir} already holds a model ({list_versions(models_dir)[-1]}); not training")
        return
    config = _train_config(
        text_columns,
        label,
        test_size=test_size,
        seed=seed,
        drop_rare=drop_rare,
        tune=tune,
        finetune=FinetuneConfig(epochs=finetune_epochs, max_steps=finetune_max_steps)
        if finetune
        else None,
        cold_start_below=cold_start_below,
        vote_weights=VOTE_WEIGHTS if vote else (0.0,),
    )
    say = (lambda _m: None) if quiet else _say
    try:
        body = load_embedder(embedder or settings.embedder, threads=settings.threads)
        result = train_from_file(
            data,
            body,
            config=config,
            test_path=test_data,
            models_dir=models_dir,
            progress=not quiet,
            say=say,
        )
    except TriageError as exc:
        raise _fail(exc) from exc
    typer.echo(str(result.path))


# ``triage retrain`` exit status when the challenger is refused: the command did its work,
# but a pipeline must be able to tell that nothing changed (2 is an error, 0 a promotion).
EXIT_REFUSED = 3


@app.command()
def retrain(
    data: DataOpt,
    with_feedback: Annotated[
        bool,
        typer.Option(
            "--with-feedback",
            help="Write staff feedback from the database over the file's labels (the latest "
            "answer per ticket and head wins; one row per ticket id).",
        ),
    ] = False,
    test_data: Annotated[
        Path | None,
        typer.Option(
            "--test",
            "--test-data",
            help="Compare both models on this file instead of the challenger's held-out split.",
        ),
    ] = None,
    tolerance: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Largest macro-F1 drop on a head that still promotes "
            "(default: TRIAGE_RETRAIN_TOLERANCE).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Promote even if a head got worse (recorded).")
    ] = False,
    reason: Annotated[
        str | None, typer.Option(help="Why --force: recorded in the new model's manifest.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the decision record as JSON.")
    ] = False,
    text_columns: TextColumnsOpt = None,
    label: LabelOpt = None,
    embedder: EmbedderOpt = None,
    test_size: TestSizeOpt = 0.2,
    seed: int = 0,
    drop_rare: DropRareOpt = False,
    tune: Annotated[
        bool, typer.Option(help="Choose C and class weighting per head (4 fits).")
    ] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Train a challenger and make it the served model only if no head got worse.

    Both models are scored on the same held-out tickets, leaving out any either trained on.
    Exit status: 0 promoted, 3 refused (the served model is kept), 2 error.
    """
    from triage.core.embeddings import load_embedder
    from triage.store.database import Database
    from triage.store.feedback import FeedbackStore
    from triage.training.retrain import Gate, describe
    from triage.training.retrain import retrain as run_retrain

    if reason is not None and not force:
        raise typer.BadParameter("a reason is recorded only with --force", param_hint="--reason")
    settings = get_settings()
    config = _train_config(
        text_columns, label, test_size=test_size, seed=seed, drop_rare=drop_rare, tune=tune
    )
    say = (lambda _m: None) if quiet else _say
    try:
        feedback = None
        if with_feedback:
            with Database(settings.database()) as database:
                database.upgrade()
                feedback = FeedbackStore(database).latest()
            say(f"{len(feedback)} feedback label(s) in {database.describe()}")
        outcome = run_retrain(
            data,
            load_embedder(embedder or settings.embedder, threads=settings.threads),
            models_dir=settings.models_dir,
            config=config,
            feedback=feedback,
            test_path=test_data,
            gate=Gate(
                tolerance=settings.retrain_tolerance if tolerance is None else tolerance,
                force=force,
                reason=reason,
            ),
            pinned=settings.model_version,
            embedder_path=settings.embedder_path,
            threads=settings.threads,
            progress=not quiet,
            say=say,
        )
    except TriageError as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(json.dumps({"path": str(outcome.path), **outcome.record}, indent=2))
    else:
        typer.echo(describe(outcome))
    if not outcome.promoted:
        raise typer.Exit(code=EXIT_REFUSED)


@app.command()
def evaluate(
    model: Annotated[str, typer.Argument(help="Artifact directory, version name or 'latest'.")],
    data: DataOpt,
    text_columns: TextColumnsOpt = None,
    label: LabelOpt = None,
    output: Annotated[Path | None, typer.Option(help="Also write the full report as JSON.")] = None,
) -> None:
    """Evaluate a saved model on a labelled ticket file (every row is used)."""
    from triage.core.artifacts import load_model
    from triage.service import policies_from_settings
    from triage.training.data import labelled_texts, read_table
    from triage.training.evaluate import decision_report, head_report

    settings = get_settings()
    try:
        loaded = load_model(
            _model_path(model), embedder_path=settings.embedder_path, threads=settings.threads
        )
        columns = _parse_columns(text_columns) or tuple(loaded.manifest["text_columns"])
        labels = _parse_labels(label) or {
            head: col for head, col in loaded.manifest["label_columns"].items()
        }
        unknown = sorted(set(labels) - set(loaded.heads))
        if unknown:
            raise typer.BadParameter(f"the model has no head(s) {unknown}", param_hint="--label")
        rows, _ = labelled_texts(
            read_table(data),
            text_columns=columns,
            label_columns=labels,
            min_per_class=1,
            min_classes=1,
        )
        probabilities = loaded.predict_proba(rows.texts, show_progress=True)
    except TriageError as exc:
        raise _fail(exc) from exc
    policies = policies_from_settings(loaded, settings)
    report = {}
    for head in labels:
        args = (rows.labels[head], probabilities[head], loaded.labels(head))
        report[head] = head_report(*args)
        report[head]["decisions"] = decision_report(*args, policies[head])
    for head, result in report.items():
        auto = result["decisions"]["auto"]
        typer.echo(
            f"{head}: accuracy {result['accuracy']:.4f}  macro-F1 {result['macro_f1']:.4f}  "
            f"ECE {result['calibration']['ece']:.4f}  auto {auto['share']:.1%} at precision "
            f"{auto['precision'] or 0:.4f}  (n={result['n']})"
        )
    if output:
        output.write_text(json.dumps({"model": loaded.version, "heads": report}, indent=2))


@app.command()
def predict(
    model: Annotated[str, typer.Argument(help="Artifact directory, version name or 'latest'.")],
    text: Annotated[str, typer.Argument(help="Ticket text ('-' reads standard input).")],
    subject: Annotated[str | None, typer.Option(help="Subject line, if separate.")] = None,
) -> None:
    """Classify one ticket and print the result as JSON."""
    from triage.core.artifacts import load_model
    from triage.service import Ticket, TriageService, policies_from_settings

    settings = get_settings()
    body = sys.stdin.read() if text == "-" else text
    try:
        loaded = load_model(
            _model_path(model), embedder_path=settings.embedder_path, threads=settings.threads
        )
        service = TriageService(
            loaded,
            policies=policies_from_settings(loaded, settings),
            max_text_chars=settings.max_text_chars,
        )
        result = service.classify(Ticket(subject=subject, body=body))
    except TriageError as exc:
        raise _fail(exc) from exc
    typer.echo(
        json.dumps(
            {
                "model_version": result.model_version,
                "predictions": {
                    head: {
                        "label": p.label,
                        "confidence": round(p.confidence, 4),
                        "threshold": p.threshold,
                        "decision": p.decision.value,
                        "distribution": {k: round(v, 4) for k, v in p.distribution.items()},
                    }
                    for head, p in result.predictions.items()
                },
            },
            indent=2,
            ensure_ascii=False,
        )
    )


@app.command()
def report(
    model: Annotated[str, typer.Argument(help="Artifact directory, version name or 'latest'.")],
    fmt: Annotated[
        str, typer.Option("--format", help="html (default) or markdown; figures embedded.")
    ] = "html",
    output: Annotated[
        Path | None, typer.Option(help="Write here (default: standard output).")
    ] = None,
) -> None:
    """Render a model's evaluation as one self-contained HTML or Markdown file."""
    from triage.training.report import render_report

    if fmt not in {"html", "markdown"}:
        raise typer.BadParameter("use html or markdown", param_hint="--format")
    try:
        text = render_report(_model_path(model), fmt=fmt)
    except TriageError as exc:
        raise _fail(exc) from exc
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        _say(f"wrote {output}")


keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who the key is for, e.g. zammad.")],
    scope: Annotated[
        list[str] | None, typer.Option(help="classify (default), feedback or admin; repeatable.")
    ] = None,
) -> None:
    """Make a new API key: prints the key once, and the hashed entry for TRIAGE_API_KEYS."""
    from triage.core.auth import ApiKey, Scope, hash_key, new_key

    try:
        scopes = {Scope(s) for s in scope or ["classify"]}
    except ValueError as exc:
        raise typer.BadParameter("use classify, feedback or admin", param_hint="--scope") from exc
    key = new_key()
    entry = ApiKey(name=name, sha256=hash_key(key), scopes=scopes)
    typer.echo(f"key (shown once, store it in the client): {key}")
    typer.echo("add to TRIAGE_API_KEYS (a JSON list):")
    typer.echo(entry.model_dump_json())


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: TRIAGE_HOST or 127.0.0.1.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: TRIAGE_PORT or 8000.")] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes, each with its own copy of the model.")
    ] = 1,
) -> None:
    """Serve the HTTP API with the newest (or TRIAGE_MODEL_VERSION) model."""
    import logging

    import uvicorn

    from triage.api.app import create_app
    from triage.service import TriageService

    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    bind = host or settings.host
    if not settings.api_keys:
        if not _is_loopback(bind):
            typer.secho(
                f"error [unsafe_bind]: refusing to serve on {bind} without API keys; "
                "create one with 'triage keys create' and set TRIAGE_API_KEYS",
                err=True,
                fg=typer.colors.RED,
            )
            raise typer.Exit(code=2)
        logging.getLogger("triage").warning(
            "no API keys configured (TRIAGE_API_KEYS): the API is open, on %s only", bind
        )
    try:
        # Load (and verify) before binding the port, so a bad artifact stops start-up with
        # one clear line instead of a server that never becomes ready.
        service = TriageService.from_settings(settings)
    except TriageError as exc:
        raise _fail(exc) from exc
    if workers > 1:
        # Each worker process builds its own app (and loads the model) from the settings.
        del service
        uvicorn.run(
            "triage.api.app:create_app",
            factory=True,
            workers=workers,
            host=bind,
            port=port or settings.port,
            log_level=settings.log_level,
            http=NODELAY_HTTP,
        )
        return
    uvicorn.run(
        create_app(settings, service=service),
        host=bind,
        port=port or settings.port,
        log_level=settings.log_level,
        http=NODELAY_HTTP,
    )


@app.command()
def worker() -> None:
    """Run queued jobs and webhook deliveries here (set TRIAGE_JOBS_WORKER=false on the API)."""
    import logging
    import signal

    from triage.service.job_runner import JobRunner
    from triage.service.lifecycle import ModelLifecycle
    from triage.service.webhook_runner import WebhookRunner
    from triage.store.database import Database
    from triage.store.deliveries import DeliveryStore
    from triage.store.jobs import JobStore
    from triage.webhooks.config import WEBHOOK_JOB_SOURCE

    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    lifecycle = ModelLifecycle(settings, None)  # no similar-ticket index: jobs only classify
    try:
        service = lifecycle.start().service
    except TriageError as exc:
        raise _fail(exc) from exc
    database = Database(settings.database())
    database.upgrade()
    store = JobStore(database)
    runner = JobRunner(
        store,
        lambda: lifecycle.service,
        chunk_size=settings.job_chunk_size,
        exclude_sources=(WEBHOOK_JOB_SOURCE,),
    )
    # Webhook deliveries get a runner (a thread) of their own: a backlog never delays them.
    webhook_runner = WebhookRunner.from_settings(
        store, DeliveryStore(database), lambda: lifecycle.service, settings
    )
    webhook_runner.start()
    # Like the API: a model activated anywhere on this models directory is followed here.
    watcher = None
    if settings.model_watch_seconds > 0 and settings.model_version is None:
        watcher = lifecycle.follow(settings.model_watch_seconds)

    def stop(*_: object) -> None:
        runner.stop()
        webhook_runner.stop()

    signal.signal(signal.SIGTERM, stop)
    _say(f"worker {runner.name}: model {service.model.version}, database {database.describe()}")
    try:
        runner.run_forever()
    except KeyboardInterrupt:
        stop()
    finally:
        if watcher is not None:
            watcher.stop()
        webhook_runner.stop()
        database.dispose()


db_app = typer.Typer(
    help="The database of feedback, jobs and resolved tickets.", no_args_is_help=True
)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations (the service also does this when it starts)."""
    from triage.store.database import Database

    with Database(get_settings().database()) as database:
        database.upgrade()
        typer.echo(f"{database.describe()}: at revision {database.revision()}")


index_app = typer.Typer(help="The store of resolved tickets behind similar-ticket search.")
app.add_typer(index_app, name="index")

_RESOLVED_FIELDS = (
    "id",
    "subject",
    "body",
    "resolution",
    "category",
    "tier",
    "resolved_at",
    "tenant",
    "visibility",
)


@index_app.command("build")
def index_build(
    data: DataOpt,
    model: Annotated[
        str | None,
        typer.Option(help="Embed with this model's embedder (version or path); default: served."),
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            help="FIELD=COLUMN, repeatable, for files with other column names "
            f"(fields: {', '.join(_RESOLVED_FIELDS)}).",
        ),
    ] = None,
    reembed: Annotated[
        bool,
        typer.Option(help="The store was built with another embedder: embed every ticket again."),
    ] = False,
    status_column: Annotated[
        str, typer.Option(help="If the file has this column, keep only resolved rows.")
    ] = "status",
    resolved_status: Annotated[
        list[str] | None,
        typer.Option(
            help="Values of the status column that mean solved (repeatable).", show_default=False
        ),
    ] = None,
) -> None:
    """Add (or update) resolved tickets from a file; running it again changes nothing.

    Rows whose status column says the ticket is not solved (default: anything but
    resolved, closed, solved, done) are skipped.
    """
    import pandas as pd
    from tqdm import tqdm

    from triage.core.artifacts import artifact_embedder, read_manifest
    from triage.core.registry import served_model_dir
    from triage.similar.service import SimilarService
    from triage.store.database import Database
    from triage.store.schema import utcnow
    from triage.store.tickets import Status, TicketRecord, Visibility
    from triage.training.data import read_table

    settings = get_settings()
    mapping = {f: f for f in _RESOLVED_FIELDS}
    for item in column or []:
        field, _, name = item.partition("=")
        if field not in mapping or not name:
            raise typer.BadParameter(f"use FIELD=COLUMN with FIELD one of {', '.join(mapping)}")
        mapping[field] = name
    try:
        path = _model_path(model) if model else served_model_dir(settings.models_dir)
        # The served body (the artifact's ONNX export when it has one): the store's vectors
        # must come from the embedder that answers requests.
        embedder = artifact_embedder(
            path,
            read_manifest(path),
            embedder_path=settings.embedder_path,
            threads=settings.threads,
        )
        frame = read_table(data)
        if mapping["id"] not in frame.columns:
            raise typer.BadParameter(
                f"{data} has no {mapping['id']!r} column; name the id column with "
                "--column id=COLUMN (ids make re-runs idempotent)"
            )
        if mapping["subject"] not in frame.columns and mapping["body"] not in frame.columns:
            raise typer.BadParameter(f"{data} has neither a subject nor a body column")
        skipped = 0
        if status_column in frame.columns:
            solved = {
                v.lower() for v in resolved_status or ["resolved", "closed", "solved", "done"]
            }
            keep = frame[status_column].astype(str).str.strip().str.lower().isin(solved)
            skipped = int((~keep).sum())
            frame = frame[keep]
        frame = frame.astype(object).where(pd.notna(frame), None)

        def value(row: Mapping[Hashable, Any], field: str) -> str | None:
            raw = row.get(mapping[field])
            return None if raw is None or str(raw).strip() == "" else str(raw)

        now = utcnow()
        records = []
        for row in frame.to_dict("records"):
            resolved = value(row, "resolved_at")
            records.append(
                TicketRecord(
                    ticket_id=str(value(row, "id")),
                    subject=value(row, "subject"),
                    body=value(row, "body"),
                    resolution=value(row, "resolution"),
                    category=value(row, "category"),
                    tier=value(row, "tier"),
                    resolved_at=pd.Timestamp(resolved, tz="UTC").to_pydatetime()
                    if resolved
                    else now,
                    tenant=value(row, "tenant") or "",
                    visibility=Visibility(value(row, "visibility") or "public"),
                    status=Status.RESOLVED,
                )
            )
        with Database(settings.database()) as database:
            database.upgrade()
            similar = SimilarService.from_settings(database, embedder, settings, adopt=reembed)
            if reembed:
                with tqdm(desc="re-embedding stored tickets", unit="ticket") as bar:
                    similar.reembed_all(progress=bar.update)
            with tqdm(total=len(records), desc="indexing", unit="ticket") as bar:
                result = similar.add(records, progress=bar.update)
            similar.close()
            typer.echo(
                f"{len(result.row_ids)} tickets in {database.describe()} ({similar.backend}): "
                f"{result.embedded} embedded, {result.unchanged} unchanged; "
                f"{skipped} rows skipped as not resolved"
            )
    except (TriageError, ValueError) as exc:
        if isinstance(exc, TriageError):
            raise _fail(exc) from exc
        raise typer.BadParameter(str(exc)) from exc


@app.command("export-onnx")
def export_onnx_command(
    model: Annotated[str, typer.Argument(help="Artifact directory, version name or 'latest'.")],
    precision: Annotated[
        str,
        typer.Option(
            help="auto: int8 if its vectors keep a mean cosine >= 0.99 to fp32, else fp32; "
            "int8 (fail instead of falling back); fp32."
        ),
    ] = "auto",
    sample_data: Annotated[
        Path | None,
        typer.Option(
            help="Ticket file whose texts check the export (default: built-in sample tickets)."
        ),
    ] = None,
    replace: Annotated[
        bool, typer.Option(help="Replace the ONNX body the model already has.")
    ] = False,
) -> None:
    """Add the embedding body to a saved model as int8 ONNX, so it is served without torch."""
    import tempfile

    from triage.core.artifacts import ONNX_ENTRY, add_onnx_embedder, read_manifest
    from triage.core.embeddings import SentenceTransformerEmbedder, embedder_for_artifact
    from triage.core.errors import EmbedderUnavailableError
    from triage.core.text import ticket_text
    from triage.training.data import read_table
    from triage.training.export_onnx import GUARD_TEXTS, Precision, export_onnx

    precisions: dict[str, Precision] = {"auto": "auto", "int8": "int8", "fp32": "fp32"}
    if precision not in precisions:
        raise typer.BadParameter("use auto, int8 or fp32", param_hint="--precision")
    settings = get_settings()
    try:
        path = _model_path(model)
        manifest = read_manifest(path)
        if ONNX_ENTRY in manifest and not replace:
            precision_now = manifest[ONNX_ENTRY]["precision"]
            _say(f"{path} already has an ONNX body ({precision_now}); --replace replaces it")
            raise typer.Exit(code=1)
        body = embedder_for_artifact(
            manifest["embedder"],
            override_path=settings.embedder_path,
            artifact_dir=path,
            threads=settings.threads,
        )
        if not isinstance(body, SentenceTransformerEmbedder):
            raise EmbedderUnavailableError(
                f"{path.name} was trained with a {body.identity['kind']!r} embedder: only "
                "sentence-transformers bodies are exported to ONNX"
            )
        sample = list(GUARD_TEXTS)
        if sample_data is not None:
            frame = read_table(sample_data).sample(frac=1.0, random_state=0)
            columns = [c for c in manifest.get("text_columns", []) if c in frame.columns]
            if not columns:
                raise typer.BadParameter(
                    f"{sample_data} has none of the model's text columns",
                    param_hint="--sample-data",
                )
            texts = (ticket_text(row) for row in frame[columns].itertuples(index=False))
            sample = [text for text in texts if text][:256] or sample
        with tempfile.TemporaryDirectory(prefix="triage-onnx-") as scratch:
            exported = export_onnx(
                body,
                Path(scratch),
                sample=sample,
                precision=precisions[precision],
                threads=settings.threads,
                say=_say,
            )
            add_onnx_embedder(path, exported.files, exported.spec, replace=replace)
    except TriageError as exc:
        raise _fail(exc) from exc
    typer.echo(json.dumps({"model": path.name, **exported.spec["quality"]}, indent=2))
    _say(f"{path}: the service now embeds with the {exported.precision} ONNX body")


if __name__ == "__main__":
    app()
