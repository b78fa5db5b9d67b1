"""Every request's text cleaned on the way in (:mod:`triage.core.safe_text`), in one place.

* JSON bodies: :class:`CleanRoute`, the route class of every router, hands each endpoint a
  request whose ``json()`` cleans what it parses (NUL and lone surrogates become U+FFFD) and
  refuses JSON nested deeper than ``safe_text.MAX_DEPTH`` (422, as invalid JSON). The staff
  page reads its forms itself and cleans them the same way (``staff.session``).
* Paths and query strings: :class:`CleanUrl`, an ASGI middleware, does the same to the
  decoded path and to percent-encoded NUL in the query string, before any route reads them.

Webhook deliveries are read as bytes (their signature covers the bytes) and parsed by
``safe_text.loads`` in :mod:`triage.webhooks.sources`; job uploads by ``service.uploads``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from triage.core import safe_text

_QUERY_NUL = re.compile(rb"%00", re.IGNORECASE)
_QUERY_REPLACEMENT = b"%EF%BF%BD"  # U+FFFD, percent-encoded as UTF-8


class CleanRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = safe_text.loads(await self.body())
        return self._json


class CleanRoute(APIRoute):
    """A route whose endpoint reads the request through :class:`CleanRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def clean_handler(request: Request) -> Response:
            return await handler(CleanRequest(request.scope, request.receive))

        return clean_handler


class CleanUrl:
    """ASGI middleware: NUL and lone surrogates in the path or query become U+FFFD."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path, query = scope.get("path", ""), scope.get("query_string", b"")
            clean_path = safe_text.clean_string(path)
            clean_query = _QUERY_NUL.sub(_QUERY_REPLACEMENT, query) if b"%" in query else query
            if clean_path is not path or clean_query is not query:
                scope = {**scope, "path": clean_path, "query_string": clean_query}
        await self.app(scope, receive, send)
