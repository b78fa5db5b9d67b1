import csv
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from triage.cli import app
from triage.settings import get_settings

runner = CliRunner()
SAMPLE = str(Path(__file__).parents[1] / "data" / "tickets.csv")


@pytest.fixture
def small(small_sample: Path) -> str:
    return str(small_sample)


@pytest.fixture
def saved_version(artifact_dir: Path, tmp_path: Path) -> str:
    """A version in the models directory, no ACTIVE beside it: the suite's session model
    (tests/conftest.py), for tests of what the registry and the CLI do with a saved version,
    not of training (one here is ~7 CPU-s: test_report_follows_the_output_extension took 7.4
    CPU-s with its own, 0.1 with this copy)."""
    shutil.copytree(artifact_dir, tmp_path / "models" / artifact_dir.name)
    return artifact_dir.name


@pytest.fixture(autouse=True)
def _hashing_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("TRIAGE_EMBEDDER", "hashing:64")
    monkeypatch.setenv("TRIAGE_MODELS_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_train_then_predict_then_evaluate(tmp_path: Path, small: str) -> None:
    trained = runner.invoke(app, ["train", "--data", small, "--quiet"])
    assert trained.exit_code == 0, trained.output
    artifact = Path(trained.stdout.strip().splitlines()[-1])
    assert (artifact / "manifest.json").is_file()

    skipped = runner.invoke(app, ["train", "--data", small, "--if-none"])
    assert skipped.exit_code == 0
    assert "not training" in skipped.output
    assert [p.name for p in (tmp_path / "models").iterdir() if p.is_dir()] == [artifact.name]

    predicted = runner.invoke(app, ["predict", "latest", "Kertas macet di printer lantai 3"])
    assert predicted.exit_code == 0, predicted.output
    result = json.loads(predicted.stdout)
    assert result["model_version"] == artifact.name
    # The sample data has priority and group columns: triage train learns them too.
    assert set(result["predictions"]) == {"category", "tier", "priority", "group"}

    report = tmp_path / "report.json"
    evaluated = runner.invoke(
        app, ["evaluate", str(artifact), "--data", SAMPLE, "--output", str(report)]
    )
    assert evaluated.exit_code == 0, evaluated.output
    assert "category: accuracy" in evaluated.stdout
    tier = json.loads(report.read_text())["heads"]["tier"]
    assert tier["n"] == 660
    assert set(tier["decisions"]) == {"auto", "suggest", "review"}
    assert "at precision" in evaluated.stdout
    # A head that decides nothing automatically has no precision to print: "n/a", never 0.
    heads = json.loads(report.read_text())["heads"]
    for head, result in heads.items():
        if result["decisions"]["auto"]["precision"] is None:
            line = next(x for x in evaluated.stdout.splitlines() if x.startswith(f"{head}:"))
            assert "at precision n/a" in line
    assert "precision 0.0000" not in evaluated.stdout

    # A test file with a tier the model never saw: scored, the unseen label reported.
    with open(SAMPLE, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))[:40]
    for row in rows[:5]:
        row["tier"] = "9"
    unseen = tmp_path / "unseen.csv"
    with unseen.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    evaluated = runner.invoke(app, ["evaluate", str(artifact), "--data", str(unseen)])
    assert evaluated.exit_code == 0, evaluated.output
    assert "5 ticket(s) carry labels the model never saw: '9' (5)" in evaluated.stdout

    page = tmp_path / "report.html"
    reported = runner.invoke(app, ["report", "latest", "--output", str(page)])
    assert reported.exit_code == 0, reported.output
    assert "<img" in page.read_text()
    assert runner.invoke(app, ["report", "latest", "--format", "pdf"]).exit_code == 2


def test_training_never_changes_the_served_model_until_one_is_activated(
    tmp_path: Path, small: str
) -> None:
    from triage.api.app import create_app
    from triage.core.registry import ACTIVE

    models_dir = tmp_path / "models"

    def train(*options: str) -> str:
        trained = runner.invoke(app, ["train", "--data", small, "--no-tune", *options])
        assert trained.exit_code == 0, trained.output
        return Path(trained.stdout.strip().splitlines()[-1]).name

    def served() -> str:
        get_settings.cache_clear()
        with TestClient(create_app(get_settings())) as client:
            listed = client.get("/v1/models").json()
            assert [m["version"] for m in listed if m["active"]] == [
                client.get("/readyz").json()["model_version"]
            ]
            return str(client.get("/readyz").json()["model_version"])

    first = train()  # the first model of a directory is served
    assert (models_dir / ACTIVE).read_text().strip() == first
    with TestClient(create_app(get_settings())) as running:
        second = train("--seed", "1")
        assert running.get("/readyz").json()["model_version"] == first
        assert [m["active"] for m in running.get("/v1/models").json()] == [False, True]
    assert served() == first  # a restart does not pick up the newer version either
    activated = runner.invoke(app, ["activate", second])
    assert activated.exit_code == 0, activated.output
    assert f"{second} is now active (was {first})" in activated.output
    assert served() == second
    third = train("--seed", "2", "--activate")
    assert served() == third
    assert runner.invoke(app, ["activate", "19990101-000000-00000000"]).exit_code == 2


def test_a_directory_without_active_keeps_serving_the_version_served_first(
    tmp_path: Path, small: str, saved_version: str
) -> None:
    from triage.api.app import create_app
    from triage.core.registry import ACTIVE

    first = saved_version
    assert not (tmp_path / "models" / ACTIVE).exists()  # as a directory saved before ACTIVE
    with TestClient(create_app(get_settings())) as client:
        assert client.get("/readyz").json()["model_version"] == first
    assert (tmp_path / "models" / ACTIVE).read_text().strip() == first
    (tmp_path / "models" / ACTIVE).unlink()
    second = runner.invoke(app, ["train", "--data", small, "--no-tune", "--seed", "1"])
    assert second.exit_code == 0, second.output
    assert "is saved but not served" in second.output
    assert (tmp_path / "models" / ACTIVE).read_text().strip() == first


def test_train_options_turn_the_vote_off_and_move_the_cold_start(small: str) -> None:
    def refinements(*options: str) -> dict[str, dict[str, Any]]:
        trained = runner.invoke(app, ["train", "--data", small, "--quiet", *options])
        assert trained.exit_code == 0, trained.output
        artifact = Path(trained.stdout.strip().splitlines()[-1])
        metrics = json.loads((artifact / "metrics.json").read_text())
        return {head: report["refinement"] for head, report in metrics["heads"].items()}

    for refinement in refinements("--no-vote").values():
        assert refinement["mode"] == "trained"
        assert [c["vote_weight"] for c in refinement["vote_candidates"]] == [0.0]
    # The small sample has ~19 training tickets in its median category: a threshold above
    # that answers by centroids.
    cold = refinements("--cold-start-below", "1000")
    assert {r["mode"] for r in cold.values()} == {"cold start"}
    assert {r["vote_kind"] for r in cold.values()} == {"centroids"}


def test_bad_input_is_a_one_line_error_not_a_traceback(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["train", "--data", str(tmp_path / "absent.csv")])
    assert missing.exit_code == 2
    assert "error [invalid_data]" in missing.output
    assert "Traceback" not in missing.output

    wrong_column = runner.invoke(app, ["train", "--data", SAMPLE, "--label", "queue=Queue"])
    assert wrong_column.exit_code == 2
    assert "'Queue'" in wrong_column.output

    bad_label = runner.invoke(app, ["train", "--data", SAMPLE, "--label", "nonsense"])
    assert bad_label.exit_code == 2
    assert "HEAD=COLUMN" in bad_label.output

    no_model = runner.invoke(app, ["predict", "latest", "hello"])
    assert no_model.exit_code == 2
    assert "error [model_not_found]" in no_model.output


def test_help_is_wrapped_not_cut_and_names_the_defaults() -> None:
    from triage.core.embeddings import DEFAULT_EMBEDDER

    listing = runner.invoke(app, ["--help"], terminal_width=80).output.split("Commands:")[1]
    assert "..." not in listing
    assert "…" not in listing
    assert "Train a model and save it as a new version." in listing
    train_help = runner.invoke(app, ["train", "--help"], terminal_width=80).output
    assert "…" not in train_help
    assert "TRIAGE_MODELS_DIR" in train_help
    assert f"{DEFAULT_EMBEDDER} (the default" in " ".join(train_help.split())


def test_report_follows_the_output_extension(tmp_path: Path, saved_version: str) -> None:
    for name, markdown in [("report.md", True), ("report.markdown", True), ("r.html", False)]:
        written = runner.invoke(app, ["report", "latest", "--output", str(tmp_path / name)])
        assert written.exit_code == 0, written.output
        text = (tmp_path / name).read_text()
        assert text.lstrip().startswith("<") is not markdown, name
    forced = runner.invoke(
        app, ["report", "latest", "--format", "html", "--output", str(tmp_path / "x.md")]
    )
    assert forced.exit_code == 0
    assert (tmp_path / "x.md").read_text().lstrip().startswith("<")


def test_train_if_none_names_the_served_version_not_the_newest(tmp_path: Path) -> None:
    models = tmp_path / "models"
    for version in ("20260101-000000-aaaaaaaa", "20260102-000000-bbbbbbbb"):
        (models / version).mkdir(parents=True)
        (models / version / "manifest.json").write_text("{}", encoding="utf-8")
    (models / "ACTIVE").write_text("20260101-000000-aaaaaaaa\n", encoding="utf-8")

    skipped = runner.invoke(app, ["train", "--data", SAMPLE, "--if-none"])

    assert skipped.exit_code == 0, skipped.output
    assert "20260101-000000-aaaaaaaa is served" in skipped.output
    assert "not training" in skipped.output
