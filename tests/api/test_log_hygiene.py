"""What the service logs: never an API key or webhook secret, and ticket text at DEBUG only."""

from __future__ import annotations

import copy
import json
import logging
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.webhooks.webhook_signing import SECRETS, sign
from triage.api.app import create_app
from triage.core.auth import ApiKey, Scope, hash_key
from triage.service import TriageService
from triage.settings import Settings

CLASSIFY_KEY = "trg_log-test-classify-0123456789abcdef"
ADMIN_KEY = "trg_log-test-admin-fedcba9876543210"
WRONG_KEY = "trg_log-test-wrong-key-not-configured"
BODY = "Zebracorn printer in room 4 shows paper jam, contact zebracorn.user@example.com"
WEBHOOK_BODY = "Zebracorn webhook says the VPN drops every hour"
SECRET_VALUES = [CLASSIFY_KEY, ADMIN_KEY, WRONG_KEY, *SECRETS.values()]


def _app(settings: Settings, service: TriageService, *, redact: bool) -> TestClient:
    keys = [
        ApiKey(name="desk", sha256=hash_key(CLASSIFY_KEY), scopes={Scope.CLASSIFY}),
        ApiKey(name="ops", sha256=hash_key(ADMIN_KEY), scopes={Scope.ADMIN}),
    ]
    configured = settings.model_copy(
        update={
            "api_keys": keys,
            "webhook_secrets": {k: SecretStr(v) for k, v in SECRETS.items()},
            "redact_pii": redact,
        }
    )
    logged = copy.copy(service)  # the served model, logging as the settings say
    logged.redact_pii = redact
    return TestClient(create_app(configured, service=logged))


def _traffic(client: TestClient) -> None:
    """Requests with keys in both headers, refused keys, a webhook and its result."""
    bearer = {"Authorization": f"Bearer {CLASSIFY_KEY}"}
    ticket = {"id": "INC-1", "subject": "Printer jam", "body": BODY}
    assert client.post("/v1/classify", json=ticket, headers=bearer).status_code == 200
    batch = {"tickets": [ticket]}
    assert (
        client.post("/v1/classify/batch", json=batch, headers={"X-API-Key": CLASSIFY_KEY})
    ).status_code == 200
    admin = {"X-API-Key": ADMIN_KEY}
    assert client.post("/v1/triage", json=ticket, headers=admin).status_code == 200
    for refused in (
        {"Authorization": f"Bearer {WRONG_KEY}"},
        {"X-API-Key": WRONG_KEY},
        {"Authorization": f"Basic {WRONG_KEY}"},
        {},
    ):
        assert client.post("/v1/classify", json=ticket, headers=refused).status_code == 401
    # A valid key without the scope.
    feedback = {"ticket_id": "INC-1", "head": "tier", "predicted": "L1", "final": "L2"}
    assert (
        client.post("/v1/feedback", json=feedback | {"model_version": "x"}, headers=bearer)
    ).status_code == 403
    delivery = json.dumps({"id": "W-1", "subject": "VPN", "body": WEBHOOK_BODY}).encode()
    forged = sign("generic", delivery, secret="not-the-secret")
    assert client.post("/v1/webhooks/generic", content=delivery, headers=forged).status_code == 401
    accepted = client.post(
        "/v1/webhooks/generic", content=delivery, headers=sign("generic", delivery)
    )
    assert accepted.status_code == 202, accepted.text
    deadline = time.monotonic() + 30
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = client.get(accepted.headers["location"], headers=bearer).json()
        if state["status"] in ("done", "failed"):
            break
        time.sleep(0.02)
    assert state["status"] == "done", state


def _text(record: logging.LogRecord) -> str:
    """Everything a handler could write: the message, the traceback, the stack."""
    return logging.Formatter("%(name)s %(message)s").format(record)


@pytest.fixture
def records(
    request: pytest.FixtureRequest,
    settings: Settings,
    service: TriageService,
    caplog: pytest.LogCaptureFixture,
) -> list[logging.LogRecord]:
    level, redact = request.param
    caplog.set_level(level)  # the root logger: every library's records too
    with _app(settings, service, redact=redact) as client:
        _traffic(client)
    return caplog.records


@pytest.mark.parametrize("records", [(logging.DEBUG, False), (logging.INFO, False)], indirect=True)
def test_no_api_key_or_webhook_secret_is_ever_logged(records: list[logging.LogRecord]) -> None:
    assert records  # the app did log (start-up at least)
    for record in records:
        text = _text(record)
        leaked = [secret for secret in SECRET_VALUES if secret in text]
        assert not leaked, f"{record.name} {record.levelname}: {text}"


@pytest.mark.parametrize("records", [(logging.DEBUG, False)], indirect=True)
def test_ticket_text_is_logged_at_debug_only(records: list[logging.LogRecord]) -> None:
    with_text = [r for r in records if "Zebracorn" in _text(r)]
    # Both the API's and the webhook runner's tickets are there to debug with...
    assert any(BODY in _text(r) for r in with_text)
    assert any(WEBHOOK_BODY in _text(r) for r in with_text)
    # ...and only at DEBUG.
    assert {r.levelno for r in with_text} == {logging.DEBUG}


@pytest.mark.parametrize("records", [(logging.INFO, False)], indirect=True)
def test_no_ticket_text_at_info(records: list[logging.LogRecord]) -> None:
    assert not [_text(r) for r in records if "Zebracorn" in _text(r)]


@pytest.mark.parametrize("records", [(logging.DEBUG, True)], indirect=True)
def test_redaction_applies_to_the_debug_log(records: list[logging.LogRecord]) -> None:
    with_text = [_text(r) for r in records if "Zebracorn printer" in _text(r)]
    assert with_text
    assert not [text for text in with_text if "zebracorn.user@example.com" in text]
    assert all("[email]" in text for text in with_text)
