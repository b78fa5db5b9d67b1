"""The API key checked before a request's body is read (ASGI middleware).

FastAPI reads and parses a body before it runs an endpoint's dependencies, so a caller with
no key could make the service buffer a megabyte per connection before hearing 401 (400 such
connections took a worker from 622 to 909 MB). :class:`KeyGate` answers 401 from the headers
alone for every documented operation whose dependencies include
:class:`triage.api.deps.RequireScope` (the same reading of the routes that writes each
operation's ``security`` in the OpenAPI document, so new routes are covered without a list to
keep), when keys are configured. Which scope the key holds (403) is still the dependency's to
say. A key with a ``rate_per_minute`` is held to it here too (429 with Retry-After), counted
in the database once the service has opened it, so every worker and replica on that database
holds the key to one limit (:mod:`triage.store.key_rates`); per process before that, and while
the database cannot be reached.

With no keys (open mode, loopback only), the same operations refuse a browser's cross-site
request that would change something (403): a page on another site could otherwise make a
visitor's browser activate a model or delete tickets on their own machine (a form needs no
CORS preflight). Scripts and helpdesks send no ``Origin``; the staff page has its own CSRF
tokens.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from anyio import to_thread
from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from triage.api.openapi import route_scopes
from triage.core.auth import ApiKey, find_key, is_loopback, presented_key
from triage.core.errors import StoreUnavailableError, UnauthorizedError
from triage.store.key_rates import KeyRateStore

log = logging.getLogger(__name__)

MISSING = "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
INVALID = "the API key is not valid"
FOREIGN_HOST = (
    "the API is open (no API keys): a browser may reach it under a loopback name only "
    "(localhost, 127.0.0.1, [::1]); configure keys to serve it under another name"
)
CROSS_SITE = (
    "a cross-site request may not change anything while the API is open (no API keys): "
    "send it from the service's own page or without an Origin header, or configure keys"
)


def keyed_routes(routers: Iterable[APIRouter]) -> list[tuple[re.Pattern[str], str]]:
    """(path pattern, method) of every documented operation of ``routers`` that needs a key.

    Read from the routers the app includes whole (no prefix or dependencies added by the
    inclusion), not from the app: recent FastAPI builds its context of an included route
    on the route's first use, and reading the app here built all of them at every start
    (~65 ms of a worker's ~1.1 s of CPU to its first answer) where the first request needs
    two routers'. ``scopes_of`` the app, which writes the OpenAPI document, reads the same.
    """
    return [
        (compile_path(path)[0], method)
        for (path, method), scope in route_scopes(_documented(r.routes for r in routers))
        if scope is not None
    ]


def _documented(route_lists: Iterable[Iterable[Any]]) -> Iterator[APIRoute]:
    for routes in route_lists:
        for route in routes:
            nested = getattr(route, "original_router", None)  # an included router (FastAPI 0.16x)
            if nested is not None:
                context = getattr(route, "include_context", None)
                if getattr(context, "prefix", "") or getattr(context, "dependencies", None):
                    raise ValueError("the key gate reads routers included whole, not re-prefixed")
                yield from _documented([nested.routes])
            elif isinstance(route, APIRoute) and route.include_in_schema:
                yield route


_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class KeyRates:
    """Each key's ``rate_per_minute``, per process: a token bucket a minute deep. The fallback
    of :class:`KeyGate` when no shared count (the database) can be had."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # key name -> (tokens, when)
        self._lock = threading.Lock()

    def wait(self, key: ApiKey) -> float:
        """0 and one request counted, or the seconds until the key may send again."""
        rate = key.rate_per_minute
        if rate is None:
            return 0.0
        with self._lock:
            now = time.monotonic()
            tokens, then = self._buckets.get(key.name, (float(rate), now))
            tokens = min(float(rate), tokens + (now - then) * rate / 60.0)
            if tokens < 1.0:
                self._buckets[key.name] = (tokens, now)
                return (1.0 - tokens) * 60.0 / rate
            self._buckets[key.name] = (tokens - 1.0, now)
            return 0.0


class KeyGate:
    def __init__(
        self, app: ASGIApp, *, keys: list[ApiKey], routes: list[tuple[re.Pattern[str], str]]
    ) -> None:
        self.app = app
        self.keys = keys
        self.routes = routes
        self.rates = KeyRates()

    async def _wait(self, scope: Scope, key: ApiKey) -> float:
        """Seconds the key must wait (0: counted): in the database the lifespan opened
        (``app.state.key_rates``), else, or while it cannot be reached, in this process."""
        rate = key.rate_per_minute
        app = scope.get("app")
        shared: KeyRateStore | None = getattr(getattr(app, "state", None), "key_rates", None)
        if rate is None or shared is None:
            return self.rates.wait(key)
        try:
            return await to_thread.run_sync(shared.take, key.name, rate)
        except StoreUnavailableError:
            log.warning("key rates: the database is unavailable; counting in this process")
            return self.rates.wait(key)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._keyed(scope):
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            if self.keys:
                presented = presented_key(
                    headers.get("authorization", ""), headers.get("x-api-key")
                )
                key = find_key(presented, self.keys) if presented else None
                if key is None:
                    await _refuse(send, 401, "unauthorized", INVALID if presented else MISSING)
                    return
                wait = await self._wait(scope, key)
                if wait > 0:
                    await _refuse(
                        send,
                        429,
                        "too_many_requests",
                        f"the key {key.name!r} may send {key.rate_per_minute} requests a minute",
                        retry_after=wait,
                    )
                    return
            elif scope["method"] in _UNSAFE_METHODS and _cross_site(headers):
                await _refuse(send, 403, "forbidden", CROSS_SITE)
                return
        await self.app(scope, receive, send)

    def _keyed(self, scope: Scope) -> bool:
        path = scope["path"]
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        return any(m == method and pattern.match(path) for pattern, m in self.routes)


def _cross_site(headers: dict[str, str]) -> bool:
    """A browser's request from another site: ``Sec-Fetch-Site: cross-site``, or an
    ``Origin`` whose host is not the one asked (helpdesks and scripts send neither)."""
    if headers.get("sec-fetch-site") == "cross-site":
        return True
    origin = headers.get("origin")
    if origin is None:
        return False
    return origin == "null" or urlsplit(origin).netloc != headers.get("host", "")


class OpenModeHosts:
    """Open mode only (no keys; loopback only): a browser's request must name a loopback host.

    DNS rebinding: a page on ``evil.example`` whose name is made to resolve to 127.0.0.1 is
    "same-origin" with the service for the visitor's browser, which then reads and writes the
    open API with ``Host: evil.example``. Browsers mark their requests (``Origin``,
    ``Sec-Fetch-*``); scripts and helpdesks send neither and are not affected.
    """

    def __init__(self, app: ASGIApp, *, open_api: bool, host: str) -> None:
        self.app = app
        self.open_api = open_api
        self.allowed = {"localhost", host.lower()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.open_api and scope["type"] == "http":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            browser = "origin" in headers or any(k.startswith("sec-fetch-") for k in headers)
            if browser and not self._loopback(headers.get("host", "")):
                await _refuse(send, 403, "forbidden", FOREIGN_HOST)
                return
        await self.app(scope, receive, send)

    def _loopback(self, host_header: str) -> bool:
        host = urlsplit(f"//{host_header}").hostname or ""
        return host in self.allowed or is_loopback(host)


async def _refuse(
    send: Send, status: int, code: str, message: str, *, retry_after: float = 0.0
) -> None:
    error: dict[str, Any] = {"code": code, "message": message, "details": None}
    body = json.dumps({"error": error}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if status == 401:
        headers.append((b"www-authenticate", UnauthorizedError.challenge.encode()))
    if retry_after > 0:
        headers.append((b"retry-after", str(math.ceil(retry_after)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
