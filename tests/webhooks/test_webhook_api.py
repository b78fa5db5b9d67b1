"""Webhooks over HTTP, on SQLite and PostgreSQL: 202 at once, the result later, a retry
answered with the first result, and refused deliveries leaving nothing behind."""

from __future__ import annotations

import json
import time
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.webhooks.webhook_signing import FIXTURE_BY_SOURCE, fixture, fixture_json, sign
from triage.api.app import create_app
from triage.core.auth import ApiKey, Scope, hash_key
from triage.service import TriageService
from triage.settings import Settings
from triage.store.schema import jobs, webhook_deliveries


def wait_for(client: TestClient, url: str, **headers: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    delivery: dict[str, Any] = {}
    while time.monotonic() < deadline:
        delivery = client.get(url, headers=headers).json()
        if delivery["status"] in ("done", "failed", "ignored"):
            return delivery
        time.sleep(0.03)
    raise AssertionError(f"delivery did not end: {delivery}")


def count(client: TestClient, table: sa.Table, *where: Any) -> int:
    database = client.app.state.database  # type: ignore[attr-defined]
    with database.begin() as connection:
        query = sa.select(sa.func.count()).select_from(table).where(*where)
        return int(connection.execute(query).scalar_one())


def post(
    client: TestClient, source: str, body: bytes, headers: dict[str, str] | None = None
) -> Any:
    return client.post(
        f"/v1/webhooks/{source}", content=body, headers=headers or sign(source, body)
    )


def test_every_source_is_accepted_at_once_and_triaged_in_the_background(
    api: TestClient,
) -> None:
    for source, name in FIXTURE_BY_SOURCE.items():
        body = fixture(name)
        accepted = post(api, source, body)
        assert accepted.status_code == 202, accepted.text
        first = accepted.json()
        assert first["status"] == "queued"
        assert first["duplicate"] is False
        assert accepted.headers["location"].endswith(f"/v1/webhooks/deliveries/{first['id']}")
        delivery = wait_for(api, accepted.headers["location"])
        assert delivery["status"] == "done", delivery
        assert delivery["ticket"]["source"] == source
        # The same answer as classifying the mapped ticket directly.
        ticket = delivery["ticket"]
        direct = api.post(
            "/v1/classify",
            json={
                "id": ticket["external_id"],
                "subject": ticket["subject"],
                "body": ticket["body"],
            },
        ).json()
        assert delivery["result"] == direct
    assert count(api, jobs, jobs.c.source == "webhook") == len(FIXTURE_BY_SOURCE)


def test_a_retried_delivery_returns_the_first_result_and_triage_runs_once(
    api: TestClient,
) -> None:
    body = fixture("zammad_ticket_created.json")
    first = post(api, "zammad", body, sign("zammad", body, delivery="4a1c0e7e-b5d2"))
    assert first.status_code == 202
    done = wait_for(api, first.headers["location"])
    # Zammad's retry of the same job: same X-Zammad-Delivery, payload rebuilt (newer state).
    rebuilt = body.replace(b"2026-11-28T09:12:04.163Z", b"2026-11-28T09:14:41.002Z")
    retry = post(api, "zammad", rebuilt, sign("zammad", rebuilt, delivery="4a1c0e7e-b5d2"))
    assert retry.status_code == 200
    again = retry.json()
    assert again["duplicate"] is True
    assert again["id"] == done["id"]
    assert again["status"] == "done"
    assert again["result"] == done["result"]
    assert retry.headers["location"] == first.headers["location"]
    assert count(api, webhook_deliveries) == 1
    assert count(api, jobs, jobs.c.source == "webhook") == 1


def test_a_replayed_body_under_a_new_delivery_id_is_not_triaged_again(api: TestClient) -> None:
    """Zammad's signature covers only the body: a replay with a forged delivery id is caught
    by the body's digest."""
    body = fixture("zammad_ticket_created.json")
    first = post(api, "zammad", body, sign("zammad", body, delivery="original"))
    replay = post(api, "zammad", body, sign("zammad", body, delivery="forged"))
    assert (first.status_code, replay.status_code) == (202, 200)
    assert replay.json()["id"] == first.json()["id"]
    assert count(api, jobs, jobs.c.source == "webhook") == 1


def test_sources_without_a_delivery_id_are_deduplicated_by_ticket_event_and_timestamp(
    api: TestClient,
) -> None:
    body = fixture("glpi_ticket_new.json")
    stamp = time.time() - 120
    first = post(api, "glpi", body, sign("glpi", body, at=stamp))
    resent = post(api, "glpi", body, sign("glpi", body, at=stamp))  # GLPI's cron retrying
    assert (first.status_code, resent.status_code) == (202, 200)
    assert resent.json()["id"] == first.json()["id"]
    # The same ticket event raised again later is a new delivery.
    updated = json.loads(body)
    updated["event"] = "update"
    later = json.dumps(updated).encode()
    assert post(api, "glpi", later, sign("glpi", later)).status_code == 202
    assert count(api, webhook_deliveries) == 2


def test_a_stale_delivery_is_401_and_leaves_nothing(api: TestClient) -> None:
    body = fixture("zendesk_ticket_created_event.json")
    response = post(api, "zendesk", body, sign("zendesk", body, at=time.time() - 3_600))
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "stale_delivery"
    assert error["details"]["max_age_seconds"] == 300
    assert response.headers["www-authenticate"].startswith("HMAC")
    assert count(api, webhook_deliveries) == 0


def test_unsigned_and_badly_signed_deliveries_are_401(api: TestClient) -> None:
    body = fixture("generic_ticket.json")
    unsigned = post(api, "generic", body, {"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    assert unsigned.json()["error"]["code"] == "invalid_signature"
    forged = post(api, "generic", body, sign("generic", body, secret="guess"))
    assert forged.status_code == 401
    assert count(api, webhook_deliveries) == 0


def test_an_unconfigured_source_is_403_and_an_unknown_one_404(
    webhook_settings: Settings, service: TriageService
) -> None:
    only_generic = webhook_settings.model_copy(
        update={"webhook_secrets": {"generic": webhook_settings.webhook_secrets["generic"]}}
    )
    with TestClient(create_app(only_generic, service=service)) as client:
        body = fixture("glpi_ticket_new.json")
        refused = post(client, "glpi", body)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "source_not_configured"
        unknown = post(client, "otrs", body, {"Content-Type": "application/json"})
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "unknown_source"


def test_the_insecure_opt_in_accepts_unsigned_deliveries(
    webhook_settings: Settings, service: TriageService
) -> None:
    insecure = webhook_settings.model_copy(
        update={"webhook_secrets": {}, "webhook_insecure_sources": ["generic"]}
    )
    with TestClient(create_app(insecure, service=service)) as client:
        body = fixture("generic_ticket.json")
        assert (
            post(client, "generic", body, {"Content-Type": "application/json"}).status_code == 202
        )


def test_malformed_deliveries_are_422(api: TestClient) -> None:
    for body in (b"{broken", b'{"id": "A-1"}', b'{"subject": "Printer jams"}'):
        response = post(api, "generic", body)
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "invalid_payload"
    assert count(api, webhook_deliveries) == 0


def test_an_oversized_delivery_is_413(api: TestClient, webhook_settings: Settings) -> None:
    payload = fixture_json("generic_ticket.json")
    payload["body"] = "Printer jams. " * (webhook_settings.max_request_bytes // 10)
    body = json.dumps(payload).encode()
    response = post(api, "generic", body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"

    def chunks() -> Any:  # no Content-Length: refused while streaming
        for start in range(0, len(body), 8_192):
            yield body[start : start + 8_192]

    streamed = api.post("/v1/webhooks/generic", content=chunks(), headers=sign("generic", body))
    assert streamed.status_code == 413
    assert count(api, webhook_deliveries) == 0


def test_triage_own_writeback_echo_is_accepted_and_ignored(api: TestClient) -> None:
    payload = fixture_json("zammad_ticket_created.json")
    payload["article"] |= {"internal": True, "body": "<p>[triage] suggestion</p><ul></ul>"}
    body = json.dumps(payload).encode()
    response = post(api, "zammad", body)
    assert response.status_code == 202
    assert response.json()["status"] == "ignored"
    assert count(api, jobs, jobs.c.source == "webhook") == 0


def test_reading_a_delivery_needs_the_classify_scope(
    webhook_settings: Settings, service: TriageService
) -> None:
    keys = {"reader": "trg_reader", "feedback": "trg_feedback"}
    configured = webhook_settings.model_copy(
        update={
            "api_keys": [
                ApiKey(name="reader", sha256=hash_key(keys["reader"]), scopes={Scope.CLASSIFY}),
                ApiKey(name="feedback", sha256=hash_key(keys["feedback"]), scopes={Scope.FEEDBACK}),
            ]
        }
    )
    with TestClient(create_app(configured, service=service)) as client:
        body = fixture("generic_ticket.json")
        accepted = post(client, "generic", body)  # the signature is the authentication
        assert accepted.status_code == 202
        url = accepted.headers["location"]
        assert client.get(url).status_code == 401
        assert client.get(url, headers={"X-API-Key": keys["feedback"]}).status_code == 403
        delivery = wait_for(client, url, **{"X-API-Key": keys["reader"]})
        assert delivery["status"] == "done"


def test_an_unknown_delivery_is_404(api: TestClient) -> None:
    response = api.get("/v1/webhooks/deliveries/0123456789abcdef0123456789abcdef")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "delivery_not_found"


def test_a_ticket_too_long_to_classify_fails_alone(
    webhook_settings: Settings, service: TriageService, api: TestClient
) -> None:
    payload = fixture_json("generic_ticket.json")
    payload["body"] = "word " * 1_100  # over the service's 5,000 characters, under the byte cap
    body = json.dumps(payload).encode()
    delivery = wait_for(api, post(api, "generic", body).headers["location"])
    assert delivery["status"] == "failed"
    assert delivery["error"]["code"] == "ticket_too_large"
    assert delivery["result"] is None
