"""Each helpdesk's documented payload maps onto one ticket; signatures are checked as the
vendors sign them; stale, tampered, unsigned and malformed deliveries are refused."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.webhooks.webhook_signing import FIXTURE_BY_SOURCE, SECRETS, fixture, sign
from triage.core.errors import (
    StaleDeliveryError,
    UnknownWebhookSourceError,
    WebhookPayloadError,
    WebhookSignatureError,
    WebhookSourceDisabledError,
)
from triage.service.results import Ticket
from triage.settings import Settings
from triage.webhooks import signatures
from triage.webhooks.adapters.fields import moment_of
from triage.webhooks.canonical import Inbound
from triage.webhooks.sources import receive

WINDOW = timedelta(seconds=300)


def accept(
    source: str,
    body: bytes,
    headers: dict[str, str],
    *,
    secret: str | None = "default",
    insecure: bool = False,
    window: timedelta = WINDOW,
) -> Inbound:
    return receive(
        source,
        body,
        headers,
        secret=SECRETS[source] if secret == "default" else secret,
        insecure=insecure,
        max_age=window,
        now=datetime.now(UTC),
    )


# What each documented payload must map to (fixtures/README.md names the documents).
EXPECTED: dict[str, dict[str, Any]] = {
    "zammad": {
        "external_id": "1207",
        "number": "31207",
        "subject": "Printer on 3rd floor keeps jamming",
        "body_format": "html",
        "requester": "nadia.rahman@example.com",
        "current": {
            "category": None,
            "priority": "2 normal",
            "group": "Service Desk",
            "status": "new",
            "owner": None,
        },
        "event": "triage new tickets",
    },
    "zendesk": {
        "external_id": "5512",
        "subject": "VPN login fails after password change",
        "body_format": "text",
        "requester": "391120442",
        "current": {
            "category": "Incident",
            "priority": "High",
            "group": "360004455667",
            "status": "New",
            "owner": None,
        },
        "event": "zen:event-type:ticket.created",
    },
    "glpi": {
        "external_id": "482",
        "subject": "Laptop does not boot after update",
        "body_format": "html",
        "requester": "m.rossi",
        "current": {
            "category": "Hardware",
            "priority": "high",
            "group": "Field support",
            "status": "New",
            "owner": None,
        },
        "event": "new",
    },
    "freshdesk": {
        "external_id": "908",
        "subject": "Shared drive S: not mapped",
        "body_format": "html",
        "requester": "aiko.tanaka@example.com",
        "current": {
            "category": "Incident",
            "priority": "Medium",
            "group": "IT Support",
            "status": "Open",
            "owner": None,
        },
        "event": "{ticket_action:created}",
    },
    "generic": {
        "external_id": "OST-204611",
        "subject": "Account locked",
        "body_format": "text",
        "requester": "pedro.alves@example.com",
        "current": {
            "category": None,
            "priority": "normal",
            "group": "Support",
            "status": None,
            "owner": None,
        },
        "event": "created",
    },
}


@pytest.mark.parametrize("source", list(FIXTURE_BY_SOURCE))
def test_each_documented_payload_maps_onto_one_ticket(source: str) -> None:
    body = fixture(FIXTURE_BY_SOURCE[source])
    inbound = accept(source, body, sign(source, body))
    ticket = inbound.ticket.as_dict()
    expected = dict(EXPECTED[source])
    assert inbound.event == expected.pop("event")
    for field, value in expected.items():
        assert ticket[field] == value, field
    assert ticket["source"] == source
    assert len(inbound.ticket.body or "") > 40
    assert inbound.ignored is None


def test_glpi_escaped_html_content_is_unescaped_once() -> None:
    body = fixture("glpi_ticket_new.json")
    ticket = accept("glpi", body, sign("glpi", body)).ticket
    assert ticket.body is not None
    assert ticket.body.startswith("<p>After last night's Windows update")


def test_zendesk_trigger_template_maps_and_keys_by_ticket_event_and_update_time() -> None:
    body = fixture("zendesk_trigger.json")
    inbound = accept("zendesk", body, sign("zendesk", body))
    assert inbound.ticket.external_id == "5513"
    assert inbound.ticket.subject == "Outlook keeps asking for my password"
    assert inbound.ticket.requester == "jonas.weber@example.com"
    assert (inbound.ticket.group, inbound.ticket.priority) == ("Service Desk", "normal")
    assert inbound.key == "5513:ticket_created:2026-11-28T10:31:12Z"
    # Zendesk resends the same invocation with a fresh signature timestamp: same key.
    again = accept("zendesk", body, sign("zendesk", body, at=time.time() + 30))
    assert again.key == inbound.key


def test_freshdesk_api_ticket_object_maps_its_numeric_codes() -> None:
    body = fixture("freshdesk_ticket_object.json")
    inbound = accept("freshdesk", body, sign("freshdesk", body))
    ticket = inbound.ticket
    assert (ticket.external_id, ticket.subject) == ("909", "Need Adobe Acrobat installed")
    assert (ticket.priority, ticket.status, ticket.category) == ("low", "open", "Service Request")
    assert inbound.event == "ticket_created"


def test_unrendered_placeholders_are_absent_not_text() -> None:
    payload = json.loads(fixture("zendesk_trigger.json"))
    payload |= {"group": "", "priority": "   "}
    body = json.dumps(payload).encode()
    ticket = accept("zendesk", body, sign("zendesk", body)).ticket
    assert (ticket.group, ticket.priority) == (None, None)


# --- signatures ------------------------------------------------------------------------------


# Freshdesk signs nothing: its shared secret does not cover the body.
@pytest.mark.parametrize("source", ["zammad", "zendesk", "glpi", "generic"])
def test_a_tampered_body_is_refused(source: str) -> None:
    body = fixture(FIXTURE_BY_SOURCE[source])
    headers = sign(source, body)
    tampered = body.replace(b"e", b"E", 1)
    with pytest.raises(WebhookSignatureError) as caught:
        accept(source, tampered, headers)
    assert caught.value.code == "invalid_signature"


@pytest.mark.parametrize("source", list(FIXTURE_BY_SOURCE))
def test_a_wrong_secret_is_refused(source: str) -> None:
    body = fixture(FIXTURE_BY_SOURCE[source])
    with pytest.raises(WebhookSignatureError):
        accept(source, body, sign(source, body, secret="not-the-secret"))


SIGNATURE_HEADERS = {
    "zammad": ["X-Hub-Signature"],
    "zendesk": ["X-Zendesk-Webhook-Signature", "X-Zendesk-Webhook-Signature-Timestamp"],
    "glpi": ["X-GLPI-signature", "X-GLPI-timestamp"],
    "freshdesk": ["X-Triage-Token"],
    "generic": ["X-Triage-Signature", "X-Triage-Timestamp"],
}


@pytest.mark.parametrize(
    ("source", "header"), [(s, h) for s, hs in SIGNATURE_HEADERS.items() for h in hs]
)
def test_an_unsigned_delivery_is_refused(source: str, header: str) -> None:
    body = fixture(FIXTURE_BY_SOURCE[source])
    headers = {k: v for k, v in sign(source, body).items() if k != header}
    with pytest.raises(WebhookSignatureError):
        accept(source, body, headers)


@pytest.mark.parametrize("source", ["zendesk", "glpi", "generic"])
def test_a_stale_or_future_timestamp_is_refused(source: str) -> None:
    body = fixture(FIXTURE_BY_SOURCE[source])
    now = time.time()
    accept(source, body, sign(source, body, at=now - 290))  # inside the window
    with pytest.raises(StaleDeliveryError) as caught:
        accept(source, body, sign(source, body, at=now - 400))
    assert caught.value.code == "stale_delivery"
    assert caught.value.details["max_age_seconds"] == 300
    with pytest.raises(StaleDeliveryError):
        accept(source, body, sign(source, body, at=now + 400))


@pytest.mark.parametrize("source", ["zendesk", "glpi", "generic"])
def test_a_signed_timestamp_cannot_be_refreshed(source: str) -> None:
    """A captured delivery replayed later with a new timestamp no longer matches its MAC."""
    body = fixture(FIXTURE_BY_SOURCE[source])
    old = sign(source, body, at=time.time() - 3_600)
    fresh = sign(source, body)
    header = SIGNATURE_HEADERS[source][1]
    with pytest.raises(WebhookSignatureError) as caught:
        accept(source, body, old | {header: fresh[header]})
    assert not isinstance(caught.value, StaleDeliveryError)


def test_glpi_gets_a_day_by_default_because_its_cron_sends_late() -> None:
    settings = Settings()
    body = fixture("glpi_ticket_new.json")
    window = timedelta(seconds=settings.webhook_max_age("glpi"))
    accept("glpi", body, sign("glpi", body, at=time.time() - 6 * 3_600), window=window)
    assert settings.webhook_max_age("zendesk") == 300


def test_a_garbled_timestamp_is_refused() -> None:
    body = fixture("generic_ticket.json")
    headers = sign("generic", body) | {"X-Triage-Timestamp": "yesterday"}
    with pytest.raises(WebhookSignatureError):
        accept("generic", body, headers)


def test_freshdesk_accepts_the_secret_as_basic_auth_user_or_password() -> None:
    body = fixture("freshdesk_ticket_created.json")
    for credentials in (f"{SECRETS['freshdesk']}:X", f"automation:{SECRETS['freshdesk']}"):
        basic = "Basic " + base64.b64encode(credentials.encode()).decode()
        accept("freshdesk", body, {"Authorization": basic})
    with pytest.raises(WebhookSignatureError):
        accept("freshdesk", body, {"Authorization": "Basic " + base64.b64encode(b"a:b").decode()})


def test_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = signatures.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(signatures.hmac, "compare_digest", spy)
    for source, name in FIXTURE_BY_SOURCE.items():
        body = fixture(name)
        calls.clear()
        accept(source, body, sign(source, body))
        assert calls, f"{source}: no constant-time comparison"


# --- sources and payloads ----------------------------------------------------------------


def test_an_unknown_source_and_an_unconfigured_one_are_refused() -> None:
    body = fixture("generic_ticket.json")
    with pytest.raises(UnknownWebhookSourceError):
        accept("otrs", body, {}, secret=None)
    with pytest.raises(WebhookSourceDisabledError) as caught:
        accept("generic", body, sign("generic", body), secret=None)
    assert "TRIAGE_WEBHOOK_SECRETS" in caught.value.message
    # The explicit insecure opt-in accepts an unsigned delivery.
    assert accept("generic", body, {}, secret=None, insecure=True).ticket.external_id


@pytest.mark.parametrize(
    ("source", "body", "field"),
    [
        ("generic", b"{not json", None),
        ("generic", b'["a", "list"]', None),
        ("generic", b'{"subject": "no id"}', "id"),
        ("generic", b'{"id": "A-1", "subject": " ", "body": ""}', None),
        ("generic", b'{"id": "A-1", "subject": "x", "unknown_field": 1}', None),
        ("zammad", b'{"article": {"body": "no ticket"}}', "ticket"),
        ("zammad", b'{"ticket": {"title": "no id"}}', "ticket.id"),
        ("zendesk", b'{"type": "zen:event-type:ticket.created", "detail": {"id": "1"}}', None),
        ("glpi", b'{"event": "new"}', "item"),
        ("freshdesk", b'{"freshdesk_webhook": {"ticket_subject": "no id"}}', "ticket_id"),
    ],
)
def test_malformed_payloads_are_refused(source: str, body: bytes, field: str | None) -> None:
    with pytest.raises(WebhookPayloadError) as caught:
        accept(source, body, sign(source, body))
    assert caught.value.code == "invalid_payload"
    if field is not None:
        assert field in json.dumps(caught.value.details)


def test_the_signature_is_checked_before_the_payload_is_read() -> None:
    with pytest.raises(WebhookSignatureError):
        accept("generic", b"{not json", {})


# --- idempotency keys --------------------------------------------------------------------


def test_idempotency_keys_follow_each_helpdesk() -> None:
    zammad = fixture("zammad_ticket_created.json")
    first = accept("zammad", zammad, sign("zammad", zammad, delivery="job-7f3a"))
    assert (first.key, first.vendor_delivery_id) == ("job-7f3a", "job-7f3a")
    # Zammad rebuilds the payload on each retry of the same job: the delivery id decides.
    changed = zammad.replace(b"2026-11-28T09:12:04.163Z", b"2026-11-28T09:13:00.000Z")
    assert accept("zammad", changed, sign("zammad", changed, delivery="job-7f3a")).key == "job-7f3a"

    zendesk = fixture("zendesk_ticket_created_event.json")
    assert accept("zendesk", zendesk, sign("zendesk", zendesk)).key == (
        "8f2c1a6e-4b3d-4f0a-9c2e-7d5b1e9a0c44"
    )

    glpi = fixture("glpi_ticket_new.json")
    stamp = int(time.time())
    assert accept("glpi", glpi, sign("glpi", glpi, at=stamp)).key == f"Ticket:482:new:{stamp}"

    generic = fixture("generic_ticket.json")
    assert accept("generic", generic, sign("generic", generic, delivery="d-1")).key == "d-1"
    no_id = accept("generic", generic, sign("generic", generic, at=stamp))
    assert no_id.key == f"OST-204611:created:{stamp}"

    freshdesk = fixture("freshdesk_ticket_created.json")
    key = accept("freshdesk", freshdesk, sign("freshdesk", freshdesk)).key
    assert key.startswith("908:{ticket_action:created}:")


def test_triage_own_writeback_note_is_accepted_but_not_triaged() -> None:
    payload = json.loads(fixture("zammad_ticket_created.json"))
    payload["article"] |= {"internal": True, "body": "<p>[triage] suggestion</p><ul></ul>"}
    body = json.dumps(payload).encode()
    inbound = accept("zammad", body, sign("zammad", body))
    assert inbound.ignored is not None


@pytest.mark.parametrize(
    ("source", "created"),
    [("zammad", "2026-11-28T09:12:04.117000+00:00"), ("zendesk", "2026-11-28T09:20:40+00:00")],
)
def test_the_helpdesks_creation_time_reaches_the_ticket_incident_detection_counts(
    source: str, created: str
) -> None:
    body = fixture(FIXTURE_BY_SOURCE[source])
    inbound = accept(source, body, sign(source, body))
    assert inbound.ticket.created_at == created
    ticket = Ticket.from_dict(inbound.ticket.job_ticket())
    assert ticket.created_at == datetime.fromisoformat(created)


@pytest.mark.parametrize("value", ["yesterday", "2026-11-28T09:12:04", 1764321124, None])
def test_a_creation_time_without_an_offset_or_unreadable_is_unknown(value: object) -> None:
    assert moment_of(value) is None
    assert Ticket.from_dict({"subject": "x", "created_at": value}).created_at is None
