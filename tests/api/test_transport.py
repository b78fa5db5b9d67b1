"""Accepted connections get TCP_NODELAY, even from a socket rebuilt with fromfd."""

from __future__ import annotations

import socket
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from triage.api.transport import NoDelayHTTPProtocol, set_nodelay


class _Transport:
    def __init__(self, sock: Any) -> None:
        self.sock = sock

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.sock if name == "socket" else default


def test_a_connection_accepted_from_a_fromfd_socket_gets_nodelay() -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    # What uvicorn --workers does in each worker: the protocol number is lost (0), so
    # asyncio does not recognise the accepted sockets as TCP and leaves Nagle on.
    rebuilt = socket.fromfd(listener.fileno(), socket.AF_INET, socket.SOCK_STREAM)
    client = socket.create_connection(listener.getsockname())
    accepted, _ = rebuilt.accept()
    try:
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        set_nodelay(_Transport(accepted))  # type: ignore[arg-type]
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        for s in (accepted, client, rebuilt, listener):
            s.close()


class _RecordingSocket:
    def __init__(self, family: int) -> None:
        self.family = family
        self.options: list[tuple[int, int, int]] = []

    def setsockopt(self, level: int, name: int, value: int) -> None:
        self.options.append((level, name, value))


def test_other_transports_are_left_alone() -> None:
    set_nodelay(_Transport(None))  # type: ignore[arg-type]  # no socket: nothing to do
    unix, tcp = _RecordingSocket(socket.AF_UNIX), _RecordingSocket(socket.AF_INET6)
    set_nodelay(_Transport(unix))  # type: ignore[arg-type]
    set_nodelay(_Transport(tcp))  # type: ignore[arg-type]
    assert unix.options == []
    assert tcp.options == [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


def test_the_protocol_is_uvicorns_httptools_one() -> None:
    assert issubclass(NoDelayHTTPProtocol, HttpToolsProtocol)
