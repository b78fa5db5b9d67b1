"""Plain messages for a request body that is not the JSON asked for: what is wrong, where,
and what to send instead (the framework's own say "JSON decode error" and the like)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SEND_JSON = "send a JSON object with the header Content-Type: application/json (examples: /docs)"


def body_message(
    errors: Sequence[Mapping[str, Any]], content_type: str | None, body: Any
) -> str | None:
    """One sentence for an error in the body as a whole, or None when the body was JSON and
    the errors are about its fields (the caller names them)."""
    if not errors:
        return None
    first = errors[0]
    loc = list(first.get("loc", ()))
    if first.get("type") == "json_invalid":
        return _invalid_json(first, body)
    if loc != ["body"]:
        return None
    sent = (content_type or "").split(";")[0].strip().lower()
    if first.get("type") == "missing":
        return f"the request has no body: {SEND_JSON}"
    if sent != "application/json" and not sent.endswith("+json"):
        given = f"as {sent!r}" if sent else "without a Content-Type header"
        return f"the body was sent {given}, so it was not read as JSON: {SEND_JSON}"
    if first.get("type") in ("model_attributes_type", "dict_type"):
        return f"the body is JSON but not an object ({_kind(first.get('input'))}): {SEND_JSON}"
    return None


def not_utf8_message(exc: UnicodeDecodeError) -> str:
    """Why a JSON body whose bytes are not UTF-8 could not be read."""
    return (
        f"the body is not UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}): "
        "JSON must be sent in UTF-8; re-encode it (a CSV file in another encoding can be "
        "sent to /v1/jobs/classify as text/csv with its charset)"
    )


def _invalid_json(error: Mapping[str, Any], body: Any) -> str:
    if isinstance(body, bytes):
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            return not_utf8_message(exc)
    loc = list(error.get("loc", ()))
    reason = str((error.get("ctx") or {}).get("error") or error.get("msg", ""))
    reason = reason.removeprefix("Invalid JSON: ")
    where = ""
    if len(loc) > 1 and isinstance(loc[1], int) and isinstance(body, str):
        position = loc[1]
        line = body.count("\n", 0, position) + 1
        column = position - (body.rfind("\n", 0, position) + 1) + 1
        where = f" at line {line}, column {column} (character {position})"
    return f"the body is not valid JSON: {reason}{where}; {SEND_JSON}"


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null" if value is None else type(value).__name__
