"""Hostile text made safe on the way in: one cleaning for every string a caller sends.

What it guards against (each a 500 or a stuck retry before):

* NUL (U+0000): PostgreSQL refuses it in text columns (SQLite stores it).
* Lone surrogates (U+D800–U+DFFF, legal in JSON's ``\\ud800`` escapes): they cannot be
  encoded as UTF-8, so storing, logging or answering them raises ``UnicodeEncodeError``.
* JSON nested deeper than :data:`MAX_DEPTH`: walking it (ours or a library's) recurses. It is
  refused as invalid JSON (``json.JSONDecodeError``, at the character that went too deep), so
  callers answer it as they answer any other bad JSON.

Both characters become U+FFFD, the replacement character, so that text keeps its length and
an id that carried one still names one ticket (the same id sent again is cleaned the same
way). Other control characters are left to :func:`triage.core.text.normalise_field`, which
drops them from the model's text; ids keep them (they are legal in PostgreSQL).
"""

from __future__ import annotations

import json
import re
from typing import Any

REPLACEMENT = "\ufffd"
MAX_DEPTH = 64
_UNSAFE = re.compile("[\x00\ud800-\udfff]")


def clean_string(text: str) -> str:
    """``text`` with NUL and lone surrogates replaced by U+FFFD (the same string if none)."""
    return _UNSAFE.sub(REPLACEMENT, text) if _UNSAFE.search(text) else text


class _TooDeepError(ValueError):
    pass


def clean_json(value: Any, *, depth: int = 0) -> Any:
    """Parsed JSON with every string (keys too) cleaned; ``ValueError`` for a value nested
    deeper than MAX_DEPTH (:func:`loads` says where)."""
    if isinstance(value, str):
        return clean_string(value)
    if isinstance(value, dict | list) and depth >= MAX_DEPTH:
        raise _TooDeepError
    if isinstance(value, dict):
        return {clean_string(str(k)): clean_json(v, depth=depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v, depth=depth + 1) for v in value]
    return value


def loads(data: str | bytes) -> Any:
    """``json.loads``, then :func:`clean_json`; JSON nested deeper than MAX_DEPTH raises
    ``json.JSONDecodeError`` like any other invalid JSON (as do ``UnicodeDecodeError``s)."""
    try:
        return clean_json(json.loads(data))
    except (RecursionError, _TooDeepError):  # RecursionError: deeper than the parser's own limit
        pass
    text = data if isinstance(data, str) else data.decode(json.detect_encoding(data), "replace")
    position = too_deep_at(text, MAX_DEPTH) or 0
    raise json.JSONDecodeError(f"nested more than {MAX_DEPTH} levels deep", text, position)


def too_deep_at(text: str, limit: int) -> int | None:
    """Offset of the first ``{`` or ``[`` that opens level ``limit + 1`` (outside strings)."""
    depth, in_string, escaped = 0, False, False
    for position, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
            if depth > limit:
                return position
        elif char in "}]":
            depth -= 1
    return None
