"""Bounds not covered elsewhere: every one answers 413 in the one JSON error shape, never a 500.

(Covered elsewhere: /v1/classify text and body size in test_classify.py, batch sizes in
test_batch.py, test_feedback.py and test_similar.py, job size and upload size in test_jobs.py,
webhook bodies in tests/webhooks/test_webhook_api.py.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.asgi_scope import http_scope
from triage.api.app import create_app
from triage.service import TriageService
from triage.settings import Settings

LONG = "printer jam " * 500  # 6,000 characters: over max_text_chars (5,000), under the body limit


def _assert_413(response: httpx.Response, code: str) -> dict[str, Any]:
    assert response.status_code == 413, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    error: dict[str, Any] = body["error"]
    return error


@pytest.fixture
def api(settings: Settings, service: TriageService) -> Iterator[TestClient]:
    small = settings.model_copy(update={"jobs_worker": False, "max_upload_bytes": 2_000})
    with TestClient(create_app(small, service=service)) as client:
        yield client


@pytest.mark.parametrize("path", ["/v1/similar", "/v1/triage", "/v1/tickets/resolved"])
def test_ticket_text_over_the_limit_is_413_on_every_route_that_embeds(
    api: TestClient, path: str
) -> None:
    error = _assert_413(api.post(path, json={"id": "T-1", "body": LONG}), "ticket_too_large")
    assert error["details"] == {"limit": 5_000, "size": len(LONG)}


def test_one_long_ticket_in_a_resolved_batch_is_413_and_names_it(api: TestClient) -> None:
    batch = {"tickets": [{"id": "T-1", "body": "VPN drops"}, {"id": "T-2", "body": LONG}]}
    error = _assert_413(api.post("/v1/tickets/resolved", json=batch), "ticket_too_large")
    assert "tickets[1] ('T-2')" in error["message"]
    # Nothing of the batch was stored.
    found = api.post("/v1/similar", json={"body": "VPN drops"}).json()
    assert found["similar"] == []


def _chunks(total: int) -> Iterator[bytes]:
    yield b"id,subject\n"
    for index in range(total // 20):
        yield f"T{index:05d},printer jam\n".encode()


def test_a_streamed_job_upload_over_its_limit_is_413(api: TestClient) -> None:
    # No Content-Length: the limit is counted while the body streams in.
    response = api.post(
        "/v1/jobs/classify", content=_chunks(10_000), headers={"Content-Type": "text/csv"}
    )
    _assert_413(response, "payload_too_large")


def test_a_staff_page_form_over_the_body_limit_is_413(api: TestClient) -> None:
    form = {"subject": "x", "body": "y" * 60_000, "csrf": "z"}
    _assert_413(api.post("/ui/triage", data=form), "payload_too_large")


def test_a_huge_page_offset_is_refused_or_empty_never_a_500(api: TestClient) -> None:
    huge = "99999999999999999999999"
    job = api.post("/v1/jobs/classify", json={"tickets": [{"body": "VPN drops"}]}).json()
    response = api.get(f"/v1/jobs/{job['id']}", params={"offset": huge})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert api.get("/ui/queue", params={"offset": huge}).status_code == 200


def test_a_body_that_stalls_is_408_and_frees_the_connection(
    settings: Settings, service: TriageService
) -> None:
    """Before: a sender that stopped half-way held the connection (and its buffer) for ever."""
    import asyncio

    stalling = settings.model_copy(update={"body_timeout_seconds": 0.2, "jobs_worker": False})
    sent: list[dict[str, Any]] = []
    parts = iter([{"type": "http.request", "body": b'{"body": "prin', "more_body": True}])

    async def receive() -> dict[str, Any]:
        part = next(parts, None)
        if part is None:
            await asyncio.sleep(3600)  # the sender never sends the rest
        return part  # type: ignore[return-value]

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = http_scope("/v1/classify")
    with TestClient(create_app(stalling, service=service)) as client:
        asyncio.run(asyncio.wait_for(client.app(scope, receive, send), 10))  # type: ignore[arg-type]
    assert sent[0]["status"] == 408
    error = json.loads(sent[1]["body"])["error"]
    assert error["code"] == "request_timeout"
    assert error["details"] == {"seconds": 0.2}
