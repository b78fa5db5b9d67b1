"""POST /v1/email: a message triaged and queued, a repeat recognised, a reply joining its
ticket, an out-of-office reply set aside, size and media-type limits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from triage.api.app import create_app
from triage.service import TriageService
from triage.settings import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mail"
RFC822 = {"content-type": "message/rfc822"}


def _fixture(name: str) -> bytes:
    return next(FIXTURES.glob(f"{name}*.eml")).read_bytes()


def _expected(name: str) -> str:
    return next(FIXTURES.glob(f"{name}*.expected.txt")).read_text(encoding="utf-8").strip()


@pytest.fixture(scope="module")
def api(
    artifact_dir: Path, service: TriageService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    settings = Settings(
        models_dir=artifact_dir.parent,
        data_dir=tmp_path_factory.mktemp("email-api"),
        max_text_chars=5_000,
        mail_max_bytes=60_000,
        jobs_worker=False,
    )
    with TestClient(create_app(settings, service=service)) as client:
        yield client


def _queue_page(api: TestClient) -> str:
    response = api.get("/ui/queue")
    assert response.status_code == 200
    return response.text


def test_a_message_is_triaged_cleaned_and_queued(api: TestClient) -> None:
    response = api.post("/v1/email", content=_fixture("29-gmail-id-reply"), headers=RFC822)
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["email"]["text"] == _expected("29-gmail-id-reply")
    assert out["email"]["message_id"] == "<fixture-29@majubersama.co.id>"
    assert out["ticket_id"].startswith("email-")
    assert (out["joined"], out["duplicate"], out["skipped"]) == (False, False, None)
    assert set(out["classification"]["predictions"]) == {"category", "tier"}
    assert out["classification"]["id"] == out["ticket_id"]
    page = _queue_page(api)
    assert "Laptop sangat lambat" in page  # in the staff queue
    entry = re.search(r'href="/ui/tickets/(\d+)"', page)
    assert entry is not None
    assert "by e-mail" in api.get(f"/ui/tickets/{entry.group(1)}").text


def test_the_same_message_again_is_recognised_not_triaged_twice(api: TestClient) -> None:
    raw = _fixture("02-outlook-en-new")
    first = api.post("/v1/email", content=raw, headers=RFC822).json()
    again = api.post("/v1/email", content=raw, headers=RFC822)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["ticket_id"] == first["ticket_id"]
    assert again.json()["classification"] == first["classification"]


def test_a_reply_joins_the_ticket_it_answers(api: TestClient) -> None:
    first = api.post("/v1/email", content=_fixture("01-gmail-en-new"), headers=RFC822).json()
    reply = (
        "From: Ann Lee <ann.lee@acme.example>\r\nTo: helpdesk@example.com\r\n"
        "Subject: Re: VPN disconnects every 10 minutes\r\nMessage-ID: <reply-1@acme.example>\r\n"
        f"In-Reply-To: <helpdesk-answer@example.com>\r\nReferences: {first['email']['message_id']} "
        "<helpdesk-answer@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "It happened again just now, the VPN client shows error 809.\r\n\r\nThanks,\r\nAnn\r\n\r\n"
        "On Mon, Jun 3, 2024 at 9:12 AM Helpdesk IT <helpdesk@example.com> wrote:\r\n> Please send the error code.\r\n"
    ).encode()
    joined = api.post("/v1/email", content=reply, headers=RFC822)
    assert joined.status_code == 201, joined.text
    out = joined.json()
    assert out["joined"] is True
    assert out["ticket_id"] == first["ticket_id"]
    assert out["email"]["text"] == "It happened again just now, the VPN client shows error 809."
    page = _queue_page(api)
    assert page.count("VPN disconnects every 10 minutes") == 1  # one ticket, not two


def test_an_out_of_office_reply_is_set_aside_with_its_reason(api: TestClient) -> None:
    response = api.post("/v1/email", content=_fixture("*-exchange-out-of-office"), headers=RFC822)
    assert response.status_code == 201
    out = response.json()
    assert out["skipped"] == "auto-submitted: auto-generated"
    assert (out["classification"], out["ticket_id"]) == (None, None)
    assert "Automatic reply" not in _queue_page(api)


def test_html_in_a_message_is_shown_escaped_on_the_staff_page(api: TestClient) -> None:
    raw = (
        b"From: x@example.com\r\nSubject: <img src=x onerror=alert(1)> printer\r\n"
        b"Message-ID: <xss-1@example.com>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<p>Printer &lt;script&gt;alert(2)&lt;/script&gt; jams</p><script>alert(3)</script>\r\n"
    )
    out = api.post("/v1/email", content=raw, headers=RFC822).json()
    assert out["email"]["text"] == "Printer <script>alert(2)</script> jams"
    page = _queue_page(api)
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_a_message_over_the_size_limit_is_413(api: TestClient) -> None:
    raw = b"Subject: big\r\n\r\n" + b"x" * 70_000
    response = api.post("/v1/email", content=raw, headers=RFC822)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_body_that_is_not_a_message_is_415(api: TestClient) -> None:
    response = api.post("/v1/email", json={"subject": "x"})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_forgetting_the_ticket_drops_the_mail_text_but_still_knows_the_message(
    api: TestClient,
) -> None:
    raw = _fixture("13-gmail-id-new")
    ticket = api.post("/v1/email", content=raw, headers=RFC822).json()["ticket_id"]
    forgotten = api.delete(f"/v1/tickets/{ticket}")
    assert forgotten.status_code == 200
    assert forgotten.json()["emails"] == 1
    again = api.post("/v1/email", content=raw, headers=RFC822).json()
    assert (again["duplicate"], again["ticket_id"], again["classification"]) == (True, ticket, None)
