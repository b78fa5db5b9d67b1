"""Hostile text (issue 24): cleaned on the way in, or a 4xx in the one error shape; never a 500.

Each case was a 500 before (or, on PostgreSQL, a 500 that SQLite hid): a numeric character
reference of 4,301 digits (``int()`` refuses it inside ``html.unescape``), NUL (PostgreSQL
refuses it in text), a lone surrogate (not encodable as UTF-8), JSON nested 5,000 deep
(``RecursionError``; now an invalid-JSON 422) and a queue entry id past 64 bits (``OverflowError``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.webhooks.webhook_signing import SECRETS, sign
from triage.api.app import create_app
from triage.core.safe_text import MAX_DEPTH
from triage.core.text import normalise_field
from triage.service import Ticket, TriageService
from triage.service.job_runner import JobRunner
from triage.settings import Settings
from triage.store.jobs import JobItem

HUGE_REFERENCE = "&#" + "9" * 4301 + ";"
SURROGATE = "\ud800"
NUL = "\u0000"
HOSTILE = [HUGE_REFERENCE, SURROGATE, NUL, f"a{NUL}b{SURROGATE}c"]
TICKET_ROUTES = ["/v1/classify", "/v1/triage", "/v1/similar", "/v1/tickets/resolved"]


@pytest.fixture
def api(settings: Settings, service: TriageService, database_url: str) -> Iterator[TestClient]:
    on = settings.model_copy(
        update={
            "database_url": database_url,
            "jobs_worker": False,
            "webhook_secrets": {k: SecretStr(v) for k, v in SECRETS.items()},
        }
    )
    with TestClient(create_app(on, service=service), raise_server_exceptions=False) as client:
        yield client


def _no_500(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400 and response.headers["content-type"].startswith(
        "application/json"
    ):
        assert set(response.json()) == {"error"}, response.text


def _post(api: TestClient, path: str, payload: Any) -> httpx.Response:
    """``payload`` as JSON with ASCII escapes (``\\ud800`` as JSON writes it; httpx's own
    encoder would refuse a lone surrogate before sending)."""
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return api.post(path, content=body, headers={"Content-Type": "application/json"})


def _ticket(path: str, **fields: Any) -> dict[str, Any]:
    ticket = {"id": "T-1", "subject": "printer", "body": "paper jam on tray 2", **fields}
    if path == "/v1/tickets/resolved":
        ticket |= {"resolution": "cleared the tray", "category": "hardware", "tenant": "acme"}
    return ticket


@pytest.mark.parametrize("text", HOSTILE, ids=["reference", "surrogate", "nul", "mixed"])
@pytest.mark.parametrize("path", TICKET_ROUTES)
def test_hostile_text_in_any_field_is_cleaned_not_a_500(
    api: TestClient, path: str, text: str
) -> None:
    fields = ["id", "subject", "body"]
    if path == "/v1/tickets/resolved":
        fields += ["resolution", "category", "tenant"]
    for field in fields:
        response = _post(api, path, _ticket(path, **{field: text}))
        _no_500(response)
        too_long = field in ("id", "tenant", "category") and len(text) > 200  # may be a 422
        assert response.status_code in ((200, 201, 422) if too_long else (200, 201)), response.text


def test_a_stored_id_with_nul_is_found_and_deleted_under_the_same_id(api: TestClient) -> None:
    ticket = _ticket("/v1/tickets/resolved", id=f"T{NUL}1")
    assert _post(api, "/v1/tickets/resolved", ticket).status_code in (200, 201)
    query = {"body": "paper jam on tray 2", "tenant": "acme"}
    found = api.post("/v1/similar", json=query).json()["similar"]
    assert [match["id"] for match in found] == ["T\ufffd1"]
    deleted = api.delete("/v1/tickets/T%001", params={"tenant": "acme"})  # NUL in the path
    assert deleted.status_code in (200, 204), deleted.text
    assert api.post("/v1/similar", json=query).json()["similar"] == []


def test_the_reference_becomes_a_replacement_character_in_the_model_text(
    api: TestClient,
) -> None:
    answer = _post(api, "/v1/classify", {"body": f"printer {HUGE_REFERENCE} &#65;"})
    assert answer.status_code == 200, answer.text
    # What the model reads: the too-long reference as U+FFFD, an ordinary one unescaped.
    assert normalise_field(f"printer {HUGE_REFERENCE} &#65; &#00000065;") == "printer \ufffd A A"


@pytest.mark.parametrize(
    "url",
    [
        "/v1/jobs/abc%00def",
        "/v1/webhooks/deliveries/abc%00def",
        "/v1/metrics/quality?model_version=v%00x",
        "/v1/similar/tickets/abc%00?tenant=a%00b",
        "/ui/tickets/99999999999999999999999",
    ],
)
def test_hostile_paths_and_queries_are_4xx(api: TestClient, url: str) -> None:
    method = api.delete if url.startswith("/v1/similar/tickets") else api.get
    response = method(url.replace("/v1/similar/tickets", "/v1/tickets"))
    _no_500(response)
    assert response.status_code != 200 or "metrics" in url


def _nested(depth: int) -> str:
    """A JSON object ``depth`` levels deep (written as text: json.dumps itself would recurse)."""
    return '{"a": ' * depth + '"deep"' + "}" * depth


def test_metadata_nested_5000_deep_is_a_422(api: TestClient) -> None:
    response = _post(
        api, "/v1/classify", f'{{"body": "printer jam", "metadata": {_nested(5_000)}}}'
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert f"nested more than {MAX_DEPTH} levels deep at line 1" in error["message"]
    shallow = f'{{"body": "printer jam", "metadata": {_nested(MAX_DEPTH - 2)}}}'
    assert _post(api, "/v1/classify", shallow).status_code == 200


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5_000])
def test_a_webhook_nested_too_deep_is_a_422_not_a_retry_forever(
    api: TestClient, depth: int
) -> None:
    start = '{"id": "OST-1", "event": "created", "subject": "Account locked", "body": "locked"'
    body = f'{start}, "current": {_nested(depth)}}}'.encode()
    response = api.post("/v1/webhooks/generic", content=body, headers=sign("generic", body))
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("text", HOSTILE, ids=["reference", "surrogate", "nul", "mixed"])
def test_a_webhook_with_hostile_text_is_accepted_and_cleaned(api: TestClient, text: str) -> None:
    payload = {"id": f"OST{text}", "event": "created", "subject": text, "body": f"locked {text}"}
    body = json.dumps(payload).encode()
    response = api.post("/v1/webhooks/generic", content=body, headers=sign("generic", body))
    assert response.status_code == 202, response.text
    delivery = response.json()["id"]
    _no_500(api.get(f"/v1/webhooks/deliveries/{delivery}"))


def test_a_job_with_a_hostile_ticket_classifies_all_of_them(api: TestClient) -> None:
    tickets = [{"body": "printer jam"}, {"body": HUGE_REFERENCE}, {"body": f"vpn{NUL}down"}]
    response = _post(api, "/v1/jobs/classify", {"tickets": tickets})
    assert response.status_code == 202, response.text
    job = response.json()["id"]
    _no_500(api.get(f"/v1/jobs/{job}"))


class _Exploding:
    """A service whose classification raises (not a domain error) on a ticket saying 'boom'."""

    def __init__(self, real: TriageService) -> None:
        self.real = real

    def classify_each(self, tickets: list[Ticket], *, explain: bool = False) -> list[Any]:
        if any("boom" in (t.body or "") for t in tickets):
            raise ValueError("something no one expected")
        return self.real.classify_each(tickets, explain=explain)


def test_a_job_ticket_that_raises_fails_alone(service: TriageService) -> None:
    chunk = [
        JobItem(position, {"body": body}, None, None)
        for position, body in enumerate(["printer jam", "boom", "vpn drops"])
    ]
    outcomes = JobRunner._classify(_Exploding(service), chunk, explain=False)  # type: ignore[arg-type]
    assert outcomes[0][0] is not None
    assert outcomes[2][0] is not None
    assert outcomes[1] == (
        None,
        {
            "code": "internal_error",
            "message": "this ticket could not be classified (internal error)",
        },
    )
