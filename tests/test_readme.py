"""The README documents every setting, so an operator never has to read the code."""

from __future__ import annotations

from tests.conftest import ROOT
from triage.settings import Settings


def test_every_setting_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [
        f"TRIAGE_{name.upper()}"
        for name in Settings.model_fields
        if f"`TRIAGE_{name.upper()}" not in readme
    ]
    assert not missing, f"settings missing from the README: {missing}"
