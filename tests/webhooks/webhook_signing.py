"""Deliveries signed the way each helpdesk signs them, written from the vendors' documents
(not from triage's own code, so a misreading of a scheme shows up as a failing test)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"

SECRETS = {
    "zammad": "zammad-signature-token",
    "zendesk": "dGhpc19pc19hX3plbmRlc2tfc2lnbmluZ19zZWNyZXQ=",
    "glpi": "Jx3pVd9kq2LrT7wz0YbN4mCe8aUo6sHf1gKiQ5tR",
    "freshdesk": "freshdesk-shared-secret-0d3a",
    "generic": "generic-secret-9f1c",
}

# One documented payload per source (see fixtures/README.md for the references).
FIXTURE_BY_SOURCE = {
    "zammad": "zammad_ticket_created.json",
    "zendesk": "zendesk_ticket_created_event.json",
    "glpi": "glpi_ticket_new.json",
    "freshdesk": "freshdesk_ticket_created.json",
    "generic": "generic_ticket.json",
}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fixture(name))
    return data


def sign(
    source: str,
    body: bytes,
    *,
    secret: str | None = None,
    at: float | None = None,
    delivery: str | None = None,
) -> dict[str, str]:
    """The headers ``source`` sends with ``body``, signed at Unix time ``at`` (now)."""
    secret = secret if secret is not None else SECRETS[source]
    at = time.time() if at is None else at
    headers = {"Content-Type": "application/json"}
    if source == "zammad":
        # lib/user_agent.rb: OpenSSL::HMAC.hexdigest('sha1', token, body) as "sha1=<hex>".
        digest = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
        headers |= {
            "User-Agent": "Zammad User Agent",
            "X-Zammad-Trigger": "triage new tickets",
            "X-Zammad-Delivery": delivery or uuid.uuid4().hex,
            "X-Hub-Signature": f"sha1={digest}",
        }
    elif source == "zendesk":
        # base64(HMACSHA256(TIMESTAMP + BODY)); the timestamp header is ISO 8601.
        stamp = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        mac = hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()
        headers |= {
            "User-Agent": "Zendesk Webhook",
            "X-Zendesk-Webhook-Id": "01JDXQ4M8E3Z6K9T1W2V5B7C0A",
            "X-Zendesk-Webhook-Signature": base64.b64encode(mac).decode(),
            "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        }
    elif source == "glpi":
        # src/Webhook.php: hash_hmac('sha256', $body . $timestamp, $secret), hex.
        stamp = str(int(at))
        headers |= {
            "X-GLPI-signature": hmac.new(
                secret.encode(), body + stamp.encode(), hashlib.sha256
            ).hexdigest(),
            "X-GLPI-timestamp": stamp,
        }
    elif source == "freshdesk":
        headers |= {"X-Triage-Token": secret}
    elif source == "generic":
        stamp = str(int(at))
        digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        headers |= {
            "X-Triage-Timestamp": stamp,
            "X-Triage-Signature": "sha256=" + digest.hexdigest(),
        }
        if delivery:
            headers["X-Triage-Delivery"] = delivery
    else:
        raise ValueError(source)
    return headers
