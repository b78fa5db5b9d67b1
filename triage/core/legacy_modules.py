"""Where modules of earlier releases now live, for artifacts pickled by those releases.

A head saved by joblib names the modules of the classes and functions it holds (a
``triage.core.features`` transformer, say). The package has since been split into layers; while a
head is unpickled, the old names are made to point at the modules that now hold the same
code, so a model trained before the move loads and answers as it did.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager

# The release that moved each module: 0.1.0 (December 2026), flat package → core/.
MOVED = {
    **{
        f"triage.{name}": f"triage.core.{name}"
        for name in (
            "artifacts",
            "auth",
            "auto_gate",
            "checksums",
            "classifier",
            "decisions",
            "drift",
            "embeddings",
            "errors",
            "explain",
            "features",
            "head_files",
            "informative",
            "language",
            "linear_heads",
            "model",
            "multilingual",
            "neighbours",
            "onnx_embedder",
            "promises",
            "redaction",
            "refinement",
            "registry",
            "text",
        )
    },
    "triage.language_model": "triage.core.language_identifier",
}


@contextmanager
def old_module_names() -> Iterator[None]:
    """Within the block, ``import triage.core.features`` (and the rest of ``MOVED``) finds the
    module's new home; the names are removed again afterwards."""
    added = []
    for old, new in MOVED.items():
        if old not in sys.modules:
            sys.modules[old] = importlib.import_module(new)
            added.append(old)
    try:
        yield
    finally:
        for old in added:
            sys.modules.pop(old, None)
