"""uvicorn's HTTP protocol with ``TCP_NODELAY`` on every accepted connection.

With ``--workers N`` uvicorn binds the socket in the parent and each worker rebuilds it with
``socket.fromfd``; asyncio then no longer recognises it as TCP and leaves Nagle's algorithm
on, so every keep-alive response waits for the client's delayed ACK — about 40 ms added to
each request (uvicorn issue #3149, Linux; measured here with the asyncio loop: 48 ms p50
against 4 ms). uvloop, a dependency and uvicorn's default loop when installed, sets the option
itself, so this matters where uvloop is absent (Windows, or ``--loop asyncio``); it is set
either way. Pass it as ``--http triage.api.transport:NoDelayHTTPProtocol``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

try:  # the protocol uvicorn's "auto" would pick: httptools when installed, else h11
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Base
except ImportError:  # pragma: no cover - httptools is a dependency
    from uvicorn.protocols.http.h11_impl import H11Protocol as _Base  # type: ignore[assignment]


def set_nodelay(transport: asyncio.BaseTransport) -> None:
    """Turn Nagle's algorithm off for a TCP transport; anything else is left alone."""
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    with contextlib.suppress(OSError):  # a socket closed under us: the protocol sees it next
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayHTTPProtocol(_Base):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        set_nodelay(transport)
        super().connection_made(transport)
