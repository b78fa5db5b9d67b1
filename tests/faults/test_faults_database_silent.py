"""A PostgreSQL host that accepts the connection and then says nothing (a hung server, a
half-open firewall): connecting gives up after the connect timeout, not the OS's minutes."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from triage.store.database import Database


@pytest.fixture
def silent_server() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)  # the kernel completes the handshake; nobody ever answers
        yield int(server.getsockname()[1])


def test_a_silent_database_fails_within_the_connect_timeout(silent_server: int) -> None:
    database = Database(f"postgresql://triage@127.0.0.1:{silent_server}/triage")
    started = time.monotonic()
    with pytest.raises(sa.exc.OperationalError):
        database.revision()
    assert time.monotonic() - started < 15  # 5 s timeout; libpq may try twice (IPv4, SSL)


def test_a_connect_timeout_in_the_url_is_kept(silent_server: int) -> None:
    database = Database(f"postgresql://triage@127.0.0.1:{silent_server}/triage?connect_timeout=1")
    started = time.monotonic()
    with pytest.raises(sa.exc.OperationalError):
        database.revision()
    assert time.monotonic() - started < 5
