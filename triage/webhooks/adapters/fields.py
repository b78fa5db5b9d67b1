"""Reading the loosely typed payloads helpdesks send: text, references, required fields."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from triage.core.errors import WebhookPayloadError


def text_of(value: Any) -> str | None:
    """A scalar as text; None, "" and whitespace (unrendered placeholders) are absent."""
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip()
    return text or None


def moment_of(value: Any) -> str | None:
    """An ISO 8601 time with its offset (``2026-12-07T09:30:00Z``), in ISO form; anything
    else, or a time without an offset, is absent (never a failed delivery)."""
    text = text_of(value)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.isoformat() if moment.tzinfo is not None else None


def name_of(value: Any) -> str | None:
    """A reference as text: ``{"id": 3, "name": "Service Desk"}`` → its name, else the value."""
    if isinstance(value, dict):
        return text_of(value.get("name"))
    return text_of(value)


def labelled(value: Any, labels: Mapping[int, str]) -> str | None:
    """A numeric code by its label (``2`` → ``"medium"``); any other value as text."""
    if isinstance(value, int):
        return labels.get(value, text_of(value))
    return text_of(value)


def required_object(payload: Mapping[str, Any], key: str, source: str) -> dict[str, Any]:
    """``payload[key]``, which must be a JSON object."""
    value = payload.get(key)
    if not isinstance(value, dict):
        raise WebhookPayloadError(
            f"a {source} delivery needs a {key!r} object", details={"field": key}
        )
    return value


def required_text(value: Any, field: str, source: str) -> str:
    """``value`` as text, which must be present."""
    text = text_of(value)
    if text is None:
        raise WebhookPayloadError(f"the {source} delivery has no {field}", details={"field": field})
    return text


def delivery_key(*parts: str | None) -> str:
    """The parts that make a delivery recognisable when it is sent again, joined."""
    return ":".join(part or "" for part in parts)
