"""A model to serve: the one given, or one trained here; and the ``triage`` command."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from benchmarks.harness.server import BIN, environment


def triage(*args: str) -> None:
    """``triage ARGS`` from this environment's bin, offline; fails loudly."""
    subprocess.run([str(BIN / "triage"), *args], check=True, env=environment())


def ensure_model(
    models_dir: Path | None, data: Path, scratch: Path, embedder: str | None = "minilm"
) -> Path:
    """A models dir holding at least one version: the one given, else one trained on
    ``data`` into ``scratch`` with ``embedder`` (None: triage's default)."""
    from triage.core.artifacts import list_versions

    if models_dir is not None:
        if not list_versions(models_dir):
            sys.exit(f"error: {models_dir} holds no model; drop --models-dir to train one")
        return models_dir
    target = scratch / "models"
    print(f"training a model on {data} ({embedder or 'default'} embedder) ...", flush=True)
    started = time.perf_counter()
    options = ["--embedder", embedder] if embedder else []
    triage("train", "--data", str(data), "--out", str(target), "--quiet", *options)
    print(f"trained in {time.perf_counter() - started:.0f} s", flush=True)
    return target
