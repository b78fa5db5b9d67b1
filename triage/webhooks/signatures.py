"""HMAC signatures and delivery timestamps, checked the same way for every helpdesk."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from triage.core.errors import StaleDeliveryError, WebhookSignatureError


def hmac_hex(secret: str, message: bytes, algorithm: str = "sha256") -> str:
    return hmac.new(secret.encode(), message, algorithm).hexdigest()


def hmac_base64(secret: str, message: bytes, algorithm: str = "sha256") -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, algorithm).digest()).decode()


def same(presented: str, expected: str) -> bool:
    """Constant-time comparison (of the UTF-8 bytes: any header value compares safely)."""
    return hmac.compare_digest(presented.encode(), expected.encode())


def require(headers: dict[str, str], name: str, source: str) -> str:
    value = headers.get(name.lower(), "").strip()
    if not value:
        raise WebhookSignatureError(
            f"the {source} delivery has no {name} header; is a secret set in {source}?",
            details={"header": name},
        )
    return value


def parse_timestamp(value: str, header: str) -> datetime:
    """A delivery timestamp: Unix seconds (GLPI, generic) or ISO 8601 (Zendesk)."""
    try:
        if value.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(value), UTC)
        parsed = datetime.fromisoformat(value)
    except (ValueError, OverflowError, OSError) as exc:
        raise WebhookSignatureError(
            f"the {header} header is not a timestamp: {value[:40]!r}", details={"header": header}
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def check_age(sent_at: datetime, now: datetime, max_age: timedelta, header: str) -> None:
    """Refuse a signed timestamp further than ``max_age`` from now, in the past or future."""
    skew = now - sent_at
    if abs(skew) <= max_age:
        return
    seconds = abs(skew).total_seconds()
    when = f"{seconds:.0f} s ago" if skew > timedelta(0) else f"{seconds:.0f} s in the future"
    raise StaleDeliveryError(
        f"the delivery was signed {when}; the limit is {max_age.total_seconds():.0f} s",
        details={
            "header": header,
            "max_age_seconds": max_age.total_seconds(),
            "age_seconds": round(skew.total_seconds(), 3),
        },
    )


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def standard_webhook_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header of the Standard Webhooks format: ``v1,`` and the
    base64 HMAC-SHA256 of ``id.timestamp.body`` under the key a ``whsec_`` secret encodes (a
    secret without the prefix is used as it is, as plain bytes)."""
    if secret.startswith("whsec_"):
        key = base64.b64decode(secret.removeprefix("whsec_"))
    else:
        key = secret.encode()
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
