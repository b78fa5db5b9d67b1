"""A head pickled before the package was split into layers still loads."""

from __future__ import annotations

import sys
from pathlib import Path

import joblib
import numpy as np
import pytest

import triage.core.classifier as classifier_module
from triage.core.artifacts.load import _load_head
from triage.core.classifier import CalibratedLinearSVC


def _pickled_under_old_name(path: Path) -> None:
    """Save a fitted head as the flat package of earlier releases named it."""
    head = CalibratedLinearSVC().fit(np.eye(4), np.array(["a", "b", "a", "b"]))
    sys.modules["triage.classifier"] = classifier_module
    CalibratedLinearSVC.__module__ = "triage.classifier"
    try:
        joblib.dump(head, path)
    finally:
        CalibratedLinearSVC.__module__ = "triage.core.classifier"
        del sys.modules["triage.classifier"]


def test_a_head_saved_under_the_old_module_names_loads_and_predicts(tmp_path: Path) -> None:
    (tmp_path / "heads").mkdir()
    _pickled_under_old_name(tmp_path / "heads" / "tier.joblib")
    head = _load_head(tmp_path, "tier")
    assert isinstance(head, CalibratedLinearSVC)
    assert list(head.predict(np.eye(4))) == ["a", "b", "a", "b"]
    assert "triage.classifier" not in sys.modules  # the old names are not left behind


def test_without_the_old_names_such_a_head_would_not_load(tmp_path: Path) -> None:
    path = tmp_path / "tier.joblib"
    _pickled_under_old_name(path)
    with pytest.raises(ModuleNotFoundError, match=r"triage\.classifier"):
        joblib.load(path)
