from pathlib import Path

import pytest

from triage.core.artifacts import read_manifest
from triage.core.errors import ArtifactError
from triage.training.report import render_report


def test_every_head_has_its_figures_in_the_artifact(artifact_dir: Path) -> None:
    files = read_manifest(artifact_dir)["files"]
    for head in ("category", "tier"):
        for kind in ("reliability", "precision-coverage", "confusion"):
            name = f"report/{head}-{kind}.png"
            assert name in files
            assert (artifact_dir / name).read_bytes().startswith(b"\x89PNG")


def test_html_report_is_self_contained(artifact_dir: Path) -> None:
    page = render_report(artifact_dir)
    assert page.startswith("<!doctype html>")
    assert page.count('src="data:image/png;base64,') == 6
    assert "http://" not in page
    assert "https://" not in page
    assert "Head: category" in page
    assert "printers" in page
    assert "auto threshold" in page


def test_markdown_report_has_the_same_tables(artifact_dir: Path) -> None:
    text = render_report(artifact_dir, fmt="markdown")
    assert text.startswith(f"# triage model {artifact_dir.name}")
    assert "| class | precision | recall | F1 | support | auto threshold |" in text
    assert text.count("](data:image/png;base64,") == 6


def test_a_report_is_never_made_from_a_tampered_artifact(
    artifact_dir: Path, tmp_path: Path
) -> None:
    import shutil

    copy = tmp_path / artifact_dir.name
    shutil.copytree(artifact_dir, copy)
    (copy / "metrics.json").write_text("{}")
    with pytest.raises(ArtifactError, match="metrics.json does not match"):
        render_report(copy)
