"""A helpdesk API on a loopback port for the write-back tests: records each request and
answers from a script (the ``helpdesk`` fixture in conftest.py)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float


@dataclass
class FakeHelpdesk:
    """A helpdesk API on a loopback port: records requests, answers from a script."""

    url: str = ""
    requests: list[Seen] = field(default_factory=list)
    # (method, path) -> statuses to answer in turn; afterwards 201.
    script: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    expected_auth: str = ""
    # (method, path) -> the JSON body of its successful answers (else {"ok": true}).
    replies: dict[tuple[str, str], Any] = field(default_factory=dict)
    # Whether a request is authenticated, when the Authorization header alone does not say.
    auth_ok: Callable[[Seen], bool] | None = None

    def calls(self, method: str, path: str) -> list[Seen]:
        return [r for r in self.requests if (r.method, r.path) == (method, path)]


@contextmanager
def running_helpdesk() -> Iterator[FakeHelpdesk]:
    fake = FakeHelpdesk()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            seen = Seen(
                self.command,
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                json.loads(raw) if raw else None,
                time.monotonic(),
            )
            fake.requests.append(seen)
            authenticated = (
                fake.auth_ok(seen)
                if fake.auth_ok is not None
                else seen.headers.get("authorization") == fake.expected_auth
            )
            if not authenticated:
                status = 401
            elif raw and seen.headers.get("content-type") != "application/json":
                status = 415
            else:
                queue = fake.script.get((self.command, self.path), [])
                status = queue.pop(0) if queue else (200 if self.command == "GET" else 201)
            reply = fake.replies.get((self.command, self.path), {"ok": True})
            payload = json.dumps(reply).encode() if status < 300 else b'{"error": "scripted"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
