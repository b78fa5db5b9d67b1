"""The osTicket forwarder: a piped e-mail goes on to osTicket unchanged and reaches triage as
signed canonical JSON, once per Message-ID; triage being down never loses the mail."""

from __future__ import annotations

import io
import json
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.webhooks.webhook_signing import SECRETS, fixture
from triage.webhooks import osticket_forward
from triage.webhooks.sources import receive

EMAIL = fixture("osticket_email.eml")


def test_an_email_becomes_a_canonical_ticket() -> None:
    ticket = osticket_forward.ticket_from_email(EMAIL)
    assert ticket["id"] == ticket["delivery_id"] == "<CAF3x9Lr8q2M0e1@mail.example.com>"
    assert ticket["subject"] == "Cannot print to the plotter in room 2.14"
    assert ticket["body"].startswith('Hello,\n\nthe plotter in room 2.14 shows "offline"')
    assert "switched on" in ticket["body"]  # quoted-printable decoded
    assert (ticket["body_format"], ticket["requester"]) == ("text", "lena.fischer@example.com")


def test_the_forwarded_request_is_accepted_by_triage(api: TestClient) -> None:
    ticket = osticket_forward.ticket_from_email(EMAIL)
    request = osticket_forward.signed_request("http://triage", SECRETS["generic"], ticket)
    assert request.full_url == "http://triage/v1/webhooks/generic"
    assert isinstance(request.data, bytes)
    headers = dict(request.header_items())
    first = api.post("/v1/webhooks/generic", content=request.data, headers=headers)
    assert first.status_code == 202, first.text
    assert first.json()["ticket"]["external_id"] == ticket["id"]
    # The MTA delivers the same message again, signed afresh: triaged once.
    again = osticket_forward.signed_request("http://triage", SECRETS["generic"], ticket)
    second = api.post(
        "/v1/webhooks/generic", content=again.data, headers=dict(again.header_items())
    )
    assert (second.status_code, second.json()["id"]) == (200, first.json()["id"])


@pytest.fixture
def fake_triage() -> Iterator[list[dict[str, Any]]]:
    """A stand-in triage on loopback that verifies each delivery as the real one does."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            inbound = receive(
                "generic",
                body,
                dict(self.headers.items()),
                secret=SECRETS["generic"],
                max_age=timedelta(minutes=5),
                now=datetime.now(UTC),
            )
            received.append({"path": self.path, "key": inbound.key, "ticket": inbound.ticket})
            answer = json.dumps({"id": "d" * 32, "status": "queued"}).encode()
            self.send_response(202)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    received.append({"url": f"http://127.0.0.1:{server.server_address[1]}"})
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()


def run_forwarder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str, then: str | None
) -> int:
    secret = tmp_path / "generic.secret"
    secret.write_text(SECRETS["generic"] + "\n")
    stdin = io.TextIOWrapper(io.BytesIO(EMAIL))
    monkeypatch.setattr(sys, "stdin", stdin)
    argv = ["--url", url, "--secret-file", str(secret)]
    if then:
        argv += ["--then", then]
    return osticket_forward.main(argv)


def test_the_mail_goes_on_to_osticket_and_the_ticket_to_triage(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_triage: list[dict[str, Any]]
) -> None:
    url = fake_triage.pop(0)["url"]
    passed_on = tmp_path / "osticket-received.eml"
    status = run_forwarder(monkeypatch, tmp_path, url, f"tee {passed_on}")
    assert status == 0
    assert passed_on.read_bytes() == EMAIL  # unchanged, byte for byte
    [delivery] = fake_triage
    assert delivery["path"] == "/v1/webhooks/generic"
    assert delivery["key"] == "<CAF3x9Lr8q2M0e1@mail.example.com>"
    assert delivery["ticket"].subject == "Cannot print to the plotter in room 2.14"


def test_triage_down_never_loses_the_mail(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(osticket_forward.time, "sleep", lambda _: None)
    passed_on = tmp_path / "osticket-received.eml"
    status = run_forwarder(monkeypatch, tmp_path, "http://127.0.0.1:9", f"tee {passed_on}")
    assert status == 0
    assert passed_on.read_bytes() == EMAIL
    assert "triage unreachable after 3 attempts" in capsys.readouterr().err


def test_osticket_failing_is_the_exit_status(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_triage: list[dict[str, Any]]
) -> None:
    url = fake_triage.pop(0)["url"]
    assert run_forwarder(monkeypatch, tmp_path, url, "sh -c 'cat >/dev/null; exit 75'") == 75
    assert len(fake_triage) == 1  # triage still hears of it
