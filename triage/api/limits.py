"""ASGI middleware that refuses request bodies over a size limit with 413, before parsing, and
bodies that stall (no part for ``timeout`` seconds) with 408: a slow sender must not hold a
worker's connection and buffer for ever."""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _TooLargeError(Exception):
    pass


class _StalledError(Exception):
    pass


class BodySizeLimit:
    """Reject bodies larger than ``max_bytes`` (by Content-Length, or while streaming).

    ``overrides`` maps exact paths to their own limit (file uploads may be larger).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        overrides: dict[str, int] | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides or {}
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.overrides.get(scope.get("path", ""), self.max_bytes)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await self._reject(send, limit)
                    return
        seen = 0
        overflow = stalled = False
        replaced = False

        async def limited_receive() -> Message:
            nonlocal seen, overflow, stalled
            try:
                # A deadline on this task, not wait_for's extra task and loop turn per read.
                async with asyncio.timeout(self.timeout):
                    message = await receive()
            except TimeoutError:
                stalled = True
                raise _StalledError from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    overflow = True
                    raise _TooLargeError
            return message

        async def guarded_send(message: Message) -> None:
            # The framework may turn the receive error into its own 400; answer 413 instead.
            nonlocal replaced
            if overflow or stalled:
                if message["type"] == "http.response.start" and not replaced:
                    replaced = True
                    await self._refuse(send, limit, stalled)
                return
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except (_TooLargeError, _StalledError):
            if not replaced:
                await self._refuse(send, limit, stalled)

    async def _refuse(self, send: Send, limit: int, stalled: bool) -> None:
        if stalled:
            message = f"no part of the request body came for {self.timeout:g} s"
            await _error(send, 408, "request_timeout", message, {"seconds": self.timeout})
        else:
            await self._reject(send, limit)

    @staticmethod
    async def _reject(send: Send, limit: int) -> None:
        message = f"request body over the limit of {limit} bytes"
        await _error(send, 413, "payload_too_large", message, {"limit": limit})


async def _error(send: Send, status: int, code: str, message: str, details: object) -> None:
    body = json.dumps({"error": {"code": code, "message": message, "details": details}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
