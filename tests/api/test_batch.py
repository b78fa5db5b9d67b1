from fastapi.testclient import TestClient

from triage.api.app import create_app
from triage.service import TriageService
from triage.settings import Settings

TICKETS = [
    {"id": "A", "subject": "Printer on 3rd floor jams"},
    {"id": "B", "body": "Lupa password email, akun terkunci setelah 5 kali salah"},
    {"id": "C", "subject": "VPN drops every hour", "body": "FortiClient disconnects"},
]


def test_batch_answers_each_ticket_in_order_like_single_calls(client: TestClient) -> None:
    response = client.post("/v1/classify/batch", json={"tickets": TICKETS})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["id"] for r in body["results"]] == ["A", "B", "C"]
    for ticket, result in zip(TICKETS, body["results"], strict=True):
        single = client.post("/v1/classify", json=ticket).json()
        for head in ("category", "tier"):
            assert result["predictions"][head]["label"] == single["predictions"][head]["label"]
            assert (
                abs(
                    result["predictions"][head]["confidence"]
                    - single["predictions"][head]["confidence"]
                )
                < 1e-6
            )


def test_a_bad_ticket_in_a_batch_is_named(client: TestClient) -> None:
    response = client.post("/v1/classify/batch", json={"tickets": [TICKETS[0], {"subject": " "}]})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["details"][0]["loc"] == ["body", "tickets", 1]
    too_long = client.post(
        "/v1/classify/batch", json={"tickets": [TICKETS[0], {"body": "x" * 5_001}]}
    )
    assert too_long.status_code == 413
    assert too_long.json()["error"]["message"].startswith("tickets[1]:")
    assert client.post("/v1/classify/batch", json={"tickets": []}).status_code == 422


def test_batches_over_the_limit_are_413(settings: Settings, service: TriageService) -> None:
    small = settings.model_copy(update={"max_batch": 2})
    with TestClient(create_app(small, service=service)) as limited:
        response = limited.post("/v1/classify/batch", json={"tickets": TICKETS})
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "batch_too_large",
        "message": "3 tickets in one batch; the limit is 2",
        "details": {"limit": 2, "size": 3},
    }
