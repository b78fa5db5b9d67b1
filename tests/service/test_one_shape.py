"""One shape per classification: what jobs and webhooks store is what POST /v1/classify answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from triage.cli import app as cli_app
from triage.core.artifacts import load_model
from triage.service import Ticket, TriageService, classification_dict, policies_from_settings
from triage.settings import Settings, get_settings

TICKET = {"id": "INC-7", "subject": "Printer jams", "body": "Tray 2 jams on every job."}


def test_the_stored_shape_is_the_answer_of_classify(
    client: TestClient, service: TriageService
) -> None:
    for explain in (False, True):
        answered = client.post("/v1/classify", json={**TICKET, "explain": explain}).json()
        stored = classification_dict(service.classify(Ticket(**TICKET), explain=explain))
        assert answered == stored


def test_triage_predict_prints_what_classify_answers(
    artifact_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_MODELS_DIR", str(artifact_dir.parent))
    get_settings.cache_clear()
    try:
        printed = CliRunner().invoke(
            cli_app, ["predict", str(artifact_dir), TICKET["body"], "--subject", TICKET["subject"]]
        )
    finally:
        get_settings.cache_clear()
    assert printed.exit_code == 0, printed.output
    model = load_model(artifact_dir)
    service = TriageService(model, policies=policies_from_settings(model, Settings()))
    ticket = Ticket(subject=TICKET["subject"], body=TICKET["body"])
    assert json.loads(printed.stdout) == classification_dict(service.classify(ticket))
