"""One shape per classification: what jobs and webhooks store is what POST /v1/classify answers."""

from __future__ import annotations

from fastapi.testclient import TestClient

from triage.service import Ticket, TriageService, classification_dict

TICKET = {"id": "INC-7", "subject": "Printer jams", "body": "Tray 2 jams on every job."}


def test_the_stored_shape_is_the_answer_of_classify(
    client: TestClient, service: TriageService
) -> None:
    for explain in (False, True):
        answered = client.post("/v1/classify", json={**TICKET, "explain": explain}).json()
        stored = classification_dict(service.classify(Ticket(**TICKET), explain=explain))
        assert answered == stored
