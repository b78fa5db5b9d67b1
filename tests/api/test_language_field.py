"""The detected language in answers: classification (one and batch) and similar tickets."""

from __future__ import annotations

from fastapi.testclient import TestClient

INDONESIAN = {
    "subject": "Printer lantai 3 macet terus",
    "body": "Setiap kali saya print, kertasnya nyangkut di tray 2 sejak tadi pagi.",
}
ENGLISH = {
    "subject": "Printer on 3rd floor jams",
    "body": "Every job since this morning stops with a paper jam in tray 2.",
}


def test_classify_reports_the_language_of_the_ticket(client: TestClient) -> None:
    indonesian = client.post("/v1/classify", json=INDONESIAN).json()
    english = client.post("/v1/classify", json=ENGLISH).json()
    assert indonesian["language"]["code"] == "id"
    assert english["language"]["code"] == "en"
    assert english["language"]["mixed"] is False
    assert 0.5 <= english["language"]["confidence"] <= 1.0


def test_batch_reports_each_tickets_language_in_order(client: TestClient) -> None:
    response = client.post("/v1/classify/batch", json={"tickets": [ENGLISH, INDONESIAN]})
    assert response.status_code == 200, response.text
    codes = [result["language"]["code"] for result in response.json()["results"]]
    assert codes == ["en", "id"]


def test_stored_tickets_keep_their_language(client: TestClient) -> None:
    resolved = {"id": "R-ID", "resolution": "Roller tray 2 diganti.", **INDONESIAN}
    assert client.post("/v1/tickets/resolved", json=resolved).status_code == 201
    response = client.post("/v1/similar", json={**ENGLISH, "k": 1})
    assert response.status_code == 200, response.text
    match = response.json()["similar"][0]
    assert (match["id"], match["language"]) == ("R-ID", "id")
