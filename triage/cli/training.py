"""``triage train`` and ``triage retrain``: a new model from a ticket file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from triage.cli.app import (
    DataOpt,
    DropRareOpt,
    EmbedderOpt,
    EncodingOpt,
    LabelOpt,
    QuietOpt,
    TestSizeOpt,
    TextColumnsOpt,
    fail,
    say,
    train_config,
)
from triage.core.errors import TriageError
from triage.settings import Settings, get_settings

if TYPE_CHECKING:
    from triage.core.embeddings import Embedder
    from triage.store.feedback import Feedback
    from triage.training.config import TrainConfig
    from triage.training.finetune import FinetuneConfig
    from triage.training.retrain import RetrainOutcome
    from triage.training.train import TrainResult

# ``triage retrain`` exit status when the challenger is refused: the command did its work,
# but a pipeline must be able to tell that nothing changed (2 is an error, 0 a promotion).
EXIT_REFUSED = 3

OutOpt = Annotated[
    Path | None, typer.Option(help="Models directory (default: TRIAGE_MODELS_DIR, models/).")
]
TestDataOpt = Annotated[
    Path | None,
    typer.Option(help="Evaluate on this file instead of holding out part of --data."),
]
TuneOpt = Annotated[
    bool,
    typer.Option(help="Choose C and class weighting per head by out-of-fold macro-F1 (4 fits)."),
]
FinetuneOpt = Annotated[
    bool,
    typer.Option(
        help="Fine-tune the embedding body on the first head's labels (contrastive, "
        "SetFit-style; minutes on a CPU) before fitting heads. A body that cannot be tuned "
        "(the default) is replaced by minilm, and said."
    ),
]
FinetuneEpochsOpt = Annotated[float, typer.Option(min=0.1, max=20)]
FinetuneMaxStepsOpt = Annotated[
    int, typer.Option(min=1, help="Upper bound on fine-tuning steps (64 tickets each).")
]
VoteOpt = Annotated[
    bool,
    typer.Option(
        help="Blend a vote of the nearest training tickets into each head, weighted as "
        "out-of-fold macro-F1 decides (--no-vote: the head alone)."
    ),
]
ColdStartOpt = Annotated[
    int,
    typer.Option(
        min=0,
        help="A head whose median class has fewer training tickets than this answers "
        "by the class-centroid vote alone (0: never).",
    ),
]
ActivateOpt = Annotated[
    bool,
    typer.Option(
        "--activate",
        help="Serve the new version (models/ACTIVE) at once; without it, what is served "
        "changes only with 'triage activate' (the first model is always served).",
    ),
]
RefitOpt = Annotated[
    bool,
    typer.Option(
        help="After the held-out evaluation, fit the served heads on every ticket, the "
        "held-out ones included, and keep the held-out figures as the estimate "
        "(--no-refit: serve the evaluated heads, fitted on the training part only).",
    ),
]
TrainEngineOpt = Annotated[
    str,
    typer.Option(
        help="local (one process) or ray: the embedding step on a Ray cluster (pip install "
        "'triage[scale]'); the heads are fitted here either way."
    ),
]
TrainAddressOpt = Annotated[
    str | None,
    typer.Option(help="--engine ray: the cluster to join (auto, ray://HOST:10001)."),
]
TrainWorkersOpt = Annotated[
    int | None, typer.Option(min=1, help="--engine ray: embedding actors (default: one per CPU).")
]
MaxTicketsOpt = Annotated[
    int | None,
    typer.Option(
        min=100,
        help="Train the heads on a stratified sample of this many rows when the file has "
        "more (said in the output and the model card); default: every row, 200000 with "
        "--engine ray.",
        show_default=False,
    ),
]
RAY_MAX_TICKETS = 200_000  # why: TrainConfig.max_tickets

IfNoneOpt = Annotated[
    bool, typer.Option("--if-none", help="Do nothing if the models directory has a model.")
]


def _holds_a_model(models_dir: Path) -> bool:
    """``--if-none``: whether ``models_dir`` holds a model already (and say so)."""
    from triage.core.artifacts import list_versions
    from triage.core.registry import active_version

    versions = list_versions(models_dir)
    if versions:
        served = active_version(models_dir)
        which = f"{served} is served" if served else f"newest {versions[-1]}, none active"
        say(f"{models_dir} already holds a model ({which}); not training")
    return bool(versions)


def _finetune_config(epochs: float, max_steps: int) -> FinetuneConfig:
    from triage.training.finetune import FinetuneConfig

    return FinetuneConfig(epochs=epochs, max_steps=max_steps)


def train(
    data: DataOpt,
    text_columns: TextColumnsOpt = None,
    label: LabelOpt = None,
    encoding: EncodingOpt = None,
    out: OutOpt = None,
    embedder: EmbedderOpt = None,
    test_data: TestDataOpt = None,
    test_size: TestSizeOpt = 0.2,
    seed: int = 0,
    drop_rare: DropRareOpt = False,
    tune: TuneOpt = True,
    finetune: FinetuneOpt = False,
    finetune_epochs: FinetuneEpochsOpt = 1.0,
    finetune_max_steps: FinetuneMaxStepsOpt = 400,
    vote: VoteOpt = True,
    cold_start_below: ColdStartOpt = 5,
    refit: RefitOpt = True,
    if_none: IfNoneOpt = False,
    activate: ActivateOpt = False,
    quiet: QuietOpt = False,
    engine: TrainEngineOpt = "local",
    address: TrainAddressOpt = None,
    workers: TrainWorkersOpt = None,
    max_tickets: MaxTicketsOpt = None,
) -> None:
    """Train a model on a ticket file and save it as a new version under the models dir."""
    from triage.core.embeddings import load_embedder
    from triage.training.fit_refinement import VOTE_WEIGHTS
    from triage.training.train import train_from_file

    settings = get_settings()
    models_dir = out or settings.models_dir
    if if_none and _holds_a_model(models_dir):
        return
    config = train_config(
        text_columns,
        label,
        test_size=test_size,
        seed=seed,
        drop_rare=drop_rare,
        tune=tune,
        finetune=_finetune_config(finetune_epochs, finetune_max_steps) if finetune else None,
        cold_start_below=cold_start_below,
        vote_weights=VOTE_WEIGHTS if vote else (0.0,),
        encoding=encoding,
        refit=refit,
        max_tickets=max_tickets or (RAY_MAX_TICKETS if engine == "ray" else None),
    )
    if engine not in ("local", "ray"):
        raise typer.BadParameter("one of local, ray", param_hint="--engine")
    if engine == "ray" and finetune:
        raise typer.BadParameter("fine-tuning runs on one machine", param_hint="--finetune")
    body = embedder or settings.embedder
    if finetune:
        from triage.training.finetune import finetunable_body

        body, note = finetunable_body(body)
        if note:
            say(note)
    try:
        loaded = load_embedder(body, threads=settings.threads)
        if engine == "ray":
            result = _train_on_ray(
                data, loaded, body, config, models_dir, quiet, activate, test_data, address, workers
            )
        else:
            result = train_from_file(
                data,
                loaded,
                config=config,
                test_path=test_data,
                models_dir=models_dir,
                progress=not quiet,
                say=(lambda _m: None) if quiet else say,
                activate=activate,
            )
    except TriageError as exc:
        raise fail(exc) from exc
    if result.path is not None:
        say(served_note(models_dir, result.path.name))
    typer.echo(str(result.path))


def _train_on_ray(
    data: Path,
    loaded: Embedder,
    body: str,
    config: TrainConfig,
    models_dir: Path,
    quiet: bool,
    activate: bool,
    test_data: Path | None,
    address: str | None,
    workers: int | None,
) -> TrainResult:
    """``--engine ray``: training as always, its embedding step on Ray actors."""
    from triage.scale.bodies import BodySpec
    from triage.scale.ray_embedder import RayEmbedder
    from triage.scale.ray_engine import ray_session
    from triage.training.train import train_from_file

    spec = BodySpec(embedder=body)
    spec.check()
    with ray_session(address, num_cpus=workers):
        return train_from_file(
            data,
            RayEmbedder(loaded, spec, workers=workers),
            config=config,
            test_path=test_data,
            models_dir=models_dir,
            progress=not quiet,
            say=(lambda _m: None) if quiet else say,
            activate=activate,
        )


def served_note(models_dir: Path, version: str) -> str:
    """Whether a version just saved is the one served, and how to serve it if not."""
    from triage.core.registry import active_version

    served = active_version(models_dir)
    if served == version:
        return f"{version} is active: 'triage serve' serves it, and running services follow"
    return (
        f"{version} is saved but not served: {served} stays active; serve the new one with "
        f"'triage activate {version}' or POST /v1/models/{version}/activate"
    )


WithFeedbackOpt = Annotated[
    bool,
    typer.Option(
        "--with-feedback",
        help="Write staff feedback from the database over the file's labels (the latest "
        "answer per ticket and head wins; one row per ticket id).",
    ),
]
CompareOnOpt = Annotated[
    Path | None,
    typer.Option(
        "--test",
        "--test-data",
        help="Compare both models on this file instead of the challenger's held-out split.",
    ),
]
ToleranceOpt = Annotated[
    float | None,
    typer.Option(
        min=0.0,
        max=1.0,
        help="Largest macro-F1 drop on a head that still promotes "
        "(default: TRIAGE_RETRAIN_TOLERANCE).",
    ),
]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Promote even if a head got worse (recorded).")
]
ReasonOpt = Annotated[
    str | None, typer.Option(help="Why --force: recorded in the new model's manifest.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the decision record as JSON.")]
RetrainTuneOpt = Annotated[
    bool, typer.Option(help="Choose C and class weighting per head (4 fits).")
]


def _as_json(outcome: RetrainOutcome) -> str:
    return json.dumps({"path": str(outcome.path), **outcome.record}, indent=2)


def _staff_feedback(settings: Settings, say: Callable[[str], None]) -> list[Feedback]:
    from triage.training.feedback_merge import read_feedback

    stored = read_feedback(settings)
    say(f"{len(stored.answers)} feedback label(s) in {stored.source}")
    return stored.answers


def retrain(
    data: DataOpt,
    with_feedback: WithFeedbackOpt = False,
    test_data: CompareOnOpt = None,
    tolerance: ToleranceOpt = None,
    force: ForceOpt = False,
    reason: ReasonOpt = None,
    as_json: JsonOpt = False,
    text_columns: TextColumnsOpt = None,
    label: LabelOpt = None,
    embedder: EmbedderOpt = None,
    test_size: TestSizeOpt = 0.2,
    seed: int = 0,
    drop_rare: DropRareOpt = False,
    tune: RetrainTuneOpt = True,
    quiet: QuietOpt = False,
) -> None:
    """Train a challenger and make it the served model only if no head got worse.

    Both models are scored on the same held-out tickets, leaving out any either trained on.
    Exit status: 0 promoted, 3 refused (the served model is kept), 2 error.
    """
    from triage.core.embeddings import load_embedder
    from triage.training.retrain import Gate, describe
    from triage.training.retrain import retrain as run_retrain

    if reason is not None and not force:
        raise typer.BadParameter("a reason is recorded only with --force", param_hint="--reason")
    settings = get_settings()
    config = train_config(
        text_columns, label, test_size=test_size, seed=seed, drop_rare=drop_rare, tune=tune
    )
    progress = (lambda _m: None) if quiet else say
    try:
        feedback = _staff_feedback(settings, progress) if with_feedback else None
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
            say=progress,
        )
    except TriageError as exc:
        raise fail(exc) from exc
    typer.echo(_as_json(outcome) if as_json else describe(outcome))
    if not outcome.promoted:
        raise typer.Exit(code=EXIT_REFUSED)
