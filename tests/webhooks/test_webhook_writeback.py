"""Writing the suggestion back to Zammad and Zendesk, against a local fake helpdesk that checks
each request's method, path, auth and body; failures are retried with backoff, never lost."""

from __future__ import annotations

import base64
import time
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.webhooks.fake_helpdesk import FakeHelpdesk
from tests.webhooks.webhook_signing import fixture, sign
from triage.api.app import create_app
from triage.service import TriageService
from triage.service.writeback_steps import backoff_delay
from triage.settings import Settings
from triage.webhooks.config import WritebackTarget
from triage.webhooks.writeback import (
    Suggestion,
    WritebackError,
    ZammadClient,
    ZendeskClient,
)

ZAMMAD_TOKEN = "zammad-access-token-8c1e"
ZENDESK_EMAIL, ZENDESK_TOKEN = "triage-bot@example.com", "zendesk-api-token-44f0"

RESULT: dict[str, Any] = {
    "id": "1207",
    "model_version": "20261128-111230-c69599eb",
    "predictions": {
        "category": {
            "label": "printers",
            "confidence": 0.93,
            "threshold": 0.78,
            "decision": "auto",
        },
        "tier": {"label": "L1", "confidence": 0.68, "threshold": 0.93, "decision": "suggest"},
        "group": {
            "label": "field/emea",
            "confidence": 0.31,
            "threshold": None,
            "decision": "review",
        },
    },
}


def zammad_target(url: str, **extra: Any) -> WritebackTarget:
    return WritebackTarget(url=url, token=SecretStr(ZAMMAD_TOKEN), **extra)


def zendesk_target(url: str, **extra: Any) -> WritebackTarget:
    return WritebackTarget(url=url, token=SecretStr(ZENDESK_TOKEN), email=ZENDESK_EMAIL, **extra)


def run(client: ZammadClient | ZendeskClient, ticket_id: str) -> list[str]:
    names = []
    for name, apply in client.steps(ticket_id, Suggestion.from_result(RESULT)):
        apply()
        names.append(name)
    client.close()
    return names


def test_suggestion_tags_skip_abstaining_heads_and_are_tag_safe() -> None:
    suggestion = Suggestion.from_result(RESULT)
    assert suggestion.tags() == ["triage_category__printers", "triage_tier__l1"]
    hierarchical = Suggestion.from_result(
        {
            "predictions": {
                "category": {"label": "Hardware/Printer", "confidence": 0.9, "decision": "auto"}
            }
        }
    )
    assert hierarchical.tags() == ["triage_category__hardware_printer"]
    assert suggestion.text().startswith("[triage] suggestion")
    assert "group: no suggestion (the model abstains" in suggestion.text()


def test_zammad_gets_an_internal_note_and_tags(helpdesk: FakeHelpdesk) -> None:
    helpdesk.expected_auth = f"Token token={ZAMMAD_TOKEN}"
    steps = run(ZammadClient(zammad_target(helpdesk.url)), "1207")
    assert steps == ["note", "tag:triage_category__printers", "tag:triage_tier__l1"]
    [note] = helpdesk.calls("POST", "/api/v1/ticket_articles")
    assert note.body["ticket_id"] == 1207
    assert note.body["internal"] is True
    assert (note.body["type"], note.body["content_type"]) == ("note", "text/html")
    assert note.body["body"].startswith("<p>[triage] suggestion</p>")
    assert "printers (93%, auto)" in note.body["body"]
    tags = helpdesk.calls("POST", "/api/v1/tags/add")
    assert [t.body for t in tags] == [
        {"item": "triage_category__printers", "object": "Ticket", "o_id": 1207},
        {"item": "triage_tier__l1", "object": "Ticket", "o_id": 1207},
    ]
    assert all(r.headers["authorization"] == helpdesk.expected_auth for r in helpdesk.requests)


def test_zendesk_gets_tags_and_a_private_comment(helpdesk: FakeHelpdesk) -> None:
    credentials = f"{ZENDESK_EMAIL}/token:{ZENDESK_TOKEN}".encode()
    helpdesk.expected_auth = "Basic " + base64.b64encode(credentials).decode()
    assert run(ZendeskClient(zendesk_target(helpdesk.url)), "5512") == ["tags", "note"]
    [tags] = helpdesk.calls("PUT", "/api/v2/tickets/5512/tags")  # PUT adds, POST would replace
    assert tags.body == {"tags": ["triage_category__printers", "triage_tier__l1"]}
    [comment] = helpdesk.calls("PUT", "/api/v2/tickets/5512")
    assert comment.body["ticket"]["comment"]["public"] is False
    assert comment.body["ticket"]["comment"]["body"].startswith("[triage] suggestion\n")


def test_note_and_tags_can_be_switched_off(helpdesk: FakeHelpdesk) -> None:
    helpdesk.expected_auth = f"Token token={ZAMMAD_TOKEN}"
    assert run(ZammadClient(zammad_target(helpdesk.url, tags=False)), "1207") == ["note"]
    assert run(ZammadClient(zammad_target(helpdesk.url, note=False)), "1207") == [
        "tag:triage_category__printers",
        "tag:triage_tier__l1",
    ]


def test_errors_say_whether_a_retry_can_help(helpdesk: FakeHelpdesk) -> None:
    helpdesk.expected_auth = f"Token token={ZAMMAD_TOKEN}"
    helpdesk.script[("POST", "/api/v1/ticket_articles")] = [503, 429, 404]
    client = ZammadClient(zammad_target(helpdesk.url))
    outcomes = []
    for _ in range(3):
        with pytest.raises(WritebackError) as caught:
            client.steps("1207", Suggestion.from_result(RESULT))[0][1]()
        outcomes.append((caught.value.status, caught.value.retryable))
    assert outcomes == [(503, True), (429, True), (404, False)]
    with pytest.raises(WritebackError) as refused:
        ZammadClient(zammad_target("http://127.0.0.1:9")).steps(
            "../users", Suggestion.from_result(RESULT)
        )
    assert refused.value.retryable is False
    unreachable = ZammadClient(zammad_target("http://127.0.0.1:9", timeout_seconds=1))
    with pytest.raises(WritebackError) as down:
        unreachable.steps("1207", Suggestion.from_result(RESULT))[0][1]()
    assert down.value.retryable is True


def test_backoff_doubles_and_is_capped() -> None:
    base = timedelta(seconds=30)
    assert [backoff_delay(n, base).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff_delay(40, base) == timedelta(hours=1)


# --- through the service, on both databases -----------------------------------------------


def wait_writeback(client: TestClient, url: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    delivery: dict[str, Any] = {}
    while time.monotonic() < deadline:
        delivery = client.get(url).json()
        writeback = delivery.get("writeback") or {}
        if writeback.get("status") in ("done", "failed", "skipped"):
            return delivery
        time.sleep(0.05)
    raise AssertionError(f"write-back did not end: {delivery}")


def app_with_writeback(
    webhook_settings: Settings, target: dict[str, WritebackTarget], **extra: Any
) -> Settings:
    return webhook_settings.model_copy(
        update={
            "webhook_writeback": target,
            "webhook_writeback_backoff_seconds": 0.2,
            **extra,
        }
    )


def test_a_failed_writeback_is_retried_with_backoff_and_the_note_posted_once(
    helpdesk: FakeHelpdesk, webhook_settings: Settings, service: TriageService
) -> None:
    helpdesk.expected_auth = f"Token token={ZAMMAD_TOKEN}"
    # The note goes through; the first tag fails twice (the helpdesk is restarting).
    helpdesk.script[("POST", "/api/v1/tags/add")] = [503, 502]
    settings = app_with_writeback(webhook_settings, {"zammad": zammad_target(helpdesk.url)})
    with TestClient(create_app(settings, service=service)) as client:
        body = fixture("zammad_ticket_created.json")
        accepted = client.post("/v1/webhooks/zammad", content=body, headers=sign("zammad", body))
        assert accepted.status_code == 202
        assert accepted.json()["writeback"]["status"] == "pending"
        delivery = wait_writeback(client, accepted.headers["location"])
    writeback = delivery["writeback"]
    assert writeback["status"] == "done", writeback
    assert writeback["attempts"] == 3
    assert writeback["last_error"] is None
    assert delivery["status"] == "done"
    assert delivery["result"]["predictions"]["category"]["label"]
    assert len(helpdesk.calls("POST", "/api/v1/ticket_articles")) == 1  # never twice
    tag_calls = helpdesk.calls("POST", "/api/v1/tags/add")
    first_tag = [c for c in tag_calls if c.body == tag_calls[0].body]
    assert len(first_tag) == 3
    gaps = [b.at - a.at for a, b in pairwise(first_tag)]
    assert gaps[0] >= 0.2 * 0.9  # the first retry waits the base delay
    assert gaps[1] >= 0.4 * 0.9  # the second twice as long
    assert all(r.path.startswith("/api/v1/") for r in helpdesk.requests)


def test_a_refused_writeback_fails_for_good_and_keeps_the_result(
    helpdesk: FakeHelpdesk, webhook_settings: Settings, service: TriageService
) -> None:
    credentials = f"{ZENDESK_EMAIL}/token:{ZENDESK_TOKEN}".encode()
    helpdesk.expected_auth = "Basic " + base64.b64encode(credentials).decode()
    helpdesk.script[("PUT", "/api/v2/tickets/5512/tags")] = [404]
    settings = app_with_writeback(webhook_settings, {"zendesk": zendesk_target(helpdesk.url)})
    with TestClient(create_app(settings, service=service)) as client:
        body = fixture("zendesk_ticket_created_event.json")
        accepted = client.post("/v1/webhooks/zendesk", content=body, headers=sign("zendesk", body))
        delivery = wait_writeback(client, accepted.headers["location"])
    assert delivery["writeback"]["status"] == "failed"
    assert delivery["writeback"]["attempts"] == 1
    assert "HTTP 404" in delivery["writeback"]["last_error"]
    assert delivery["status"] == "done"
    assert delivery["result"] is not None
    assert helpdesk.calls("PUT", "/api/v2/tickets/5512") == []


def test_a_writeback_gives_up_after_the_last_attempt(
    helpdesk: FakeHelpdesk, webhook_settings: Settings, service: TriageService
) -> None:
    helpdesk.expected_auth = f"Token token={ZAMMAD_TOKEN}"
    helpdesk.script[("POST", "/api/v1/ticket_articles")] = [503] * 10
    settings = app_with_writeback(
        webhook_settings,
        {"zammad": zammad_target(helpdesk.url)},
        webhook_writeback_max_attempts=3,
        webhook_writeback_backoff_seconds=0.05,
    )
    with TestClient(create_app(settings, service=service)) as client:
        body = fixture("zammad_ticket_created.json")
        accepted = client.post("/v1/webhooks/zammad", content=body, headers=sign("zammad", body))
        delivery = wait_writeback(client, accepted.headers["location"])
    assert (delivery["writeback"]["status"], delivery["writeback"]["attempts"]) == ("failed", 3)
    assert len(helpdesk.calls("POST", "/api/v1/ticket_articles")) == 3
    assert delivery["result"] is not None


def test_writeback_is_off_unless_configured(api: TestClient) -> None:
    body = fixture("zammad_ticket_created.json")
    accepted = api.post("/v1/webhooks/zammad", content=body, headers=sign("zammad", body))
    assert accepted.json()["writeback"] is None


def test_writeback_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="no write-back for"):
        Settings(webhook_writeback={"generic": {"url": "https://desk.example.com", "token": "t"}})
    with pytest.raises(ValueError, match="needs 'email'"):
        Settings(webhook_writeback={"zendesk": {"url": "https://x.zendesk.com", "token": "t"}})
    with pytest.raises(ValueError, match="unknown webhook sources"):
        Settings(webhook_secrets={"otrs": "s"})


ROUTED: dict[str, Any] = {
    **RESULT,
    "route": {"group": "desk-side", "queue": "desk-side", "source": "rule", "decision": "auto"},
}


def run_routed(
    client: ZammadClient | ZendeskClient, ticket_id: str, result: dict[str, Any]
) -> list[str]:
    names = []
    for name, apply in client.steps(ticket_id, Suggestion.from_result(result)):
        apply()
        names.append(name)
    client.close()
    return names


def test_zammad_assigns_the_group_of_an_auto_route(helpdesk: FakeHelpdesk) -> None:
    helpdesk.expected_auth = f"Token token={ZAMMAD_TOKEN}"
    target = zammad_target(helpdesk.url, note=False, tags=False, groups={"desk-side": 4})
    assert run_routed(ZammadClient(target), "1207", ROUTED) == ["group"]
    # Zammad's "Update ticket": PUT /api/v1/tickets/{id} with the attributes to change.
    [update] = helpdesk.calls("PUT", "/api/v1/tickets/1207")
    assert update.body == {"group_id": 4}


def test_zendesk_assigns_the_group_of_an_auto_route(helpdesk: FakeHelpdesk) -> None:
    credentials = f"{ZENDESK_EMAIL}/token:{ZENDESK_TOKEN}".encode()
    helpdesk.expected_auth = "Basic " + base64.b64encode(credentials).decode()
    target = zendesk_target(helpdesk.url, tags=False, groups={"desk-side": 360001234})
    assert run_routed(ZendeskClient(target), "5512", ROUTED) == ["note", "group"]
    comment, update = helpdesk.calls("PUT", "/api/v2/tickets/5512")
    assert "route: desk-side (rule, auto)" in comment.body["ticket"]["comment"]["body"]
    # Zendesk's "Update Ticket": {"ticket": {"group_id": ...}}.
    assert update.body == {"ticket": {"group_id": 360001234}}


def test_a_group_is_written_only_for_an_auto_route_to_a_listed_group(
    helpdesk: FakeHelpdesk,
) -> None:
    helpdesk.expected_auth = f"Token token={ZAMMAD_TOKEN}"
    unsure = {**ROUTED, "route": {**ROUTED["route"], "decision": "suggest"}}
    elsewhere = {**ROUTED, "route": {**ROUTED["route"], "group": "network"}}
    listed = zammad_target(helpdesk.url, note=False, tags=False, groups={"desk-side": 4})
    assert run_routed(ZammadClient(listed), "1207", unsure) == []
    assert run_routed(ZammadClient(listed), "1207", elsewhere) == []
    off = zammad_target(helpdesk.url, note=False, tags=False)  # the default: no groups
    assert run_routed(ZammadClient(off), "1207", ROUTED) == []
    assert helpdesk.calls("PUT", "/api/v1/tickets/1207") == []
