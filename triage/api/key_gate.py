"""The API key checked before a request's body is read (ASGI middleware).

FastAPI reads and parses a body before it runs an endpoint's dependencies, so a caller with
no key could make the service buffer a megabyte per connection before hearing 401 (400 such
connections took a worker from 622 to 909 MB). :class:`KeyGate` answers 401 from the headers
alone for every documented operation whose dependencies include
:class:`triage.api.deps.RequireScope` (the same reading of the routes that writes each
operation's ``security`` in the OpenAPI document, so new routes are covered without a list to
keep), when keys are configured. Which scope the key holds (403) is still the dependency's to say.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import FastAPI
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from triage.api.openapi import scopes_of
from triage.core.auth import ApiKey, find_key, presented_key
from triage.core.errors import UnauthorizedError

MISSING = "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
INVALID = "the API key is not valid"


def keyed_routes(app: FastAPI) -> list[tuple[re.Pattern[str], str]]:
    """(path pattern, method) of every documented operation that needs a key."""
    return [
        (compile_path(path)[0], method)
        for (path, method), scope in scopes_of(app)
        if scope is not None
    ]


class KeyGate:
    def __init__(
        self, app: ASGIApp, *, keys: list[ApiKey], routes: list[tuple[re.Pattern[str], str]]
    ) -> None:
        self.app = app
        self.keys = keys
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.keys and self._keyed(scope):
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            presented = presented_key(headers.get("authorization", ""), headers.get("x-api-key"))
            if presented is None or find_key(presented, self.keys) is None:
                await _unauthorized(send, MISSING if presented is None else INVALID)
                return
        await self.app(scope, receive, send)

    def _keyed(self, scope: Scope) -> bool:
        path = scope["path"]
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        return any(m == method and pattern.match(path) for pattern, m in self.routes)


async def _unauthorized(send: Send, message: str) -> None:
    error: dict[str, Any] = {"code": "unauthorized", "message": message, "details": None}
    body = json.dumps({"error": error}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", UnauthorizedError.challenge.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
