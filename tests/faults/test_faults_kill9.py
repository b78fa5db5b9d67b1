"""kill -9 of the server during a stream of feedback: no acknowledged write lost, none twice."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

from tests.faults.serving import serving
from triage.store.database import Database
from triage.store.schema import feedback

CLIENTS = 4
ACKNOWLEDGED_BEFORE_KILL = 120  # the kill lands mid-stream, well after the first answers


@dataclass
class Outcomes:
    acknowledged: set[str] = field(default_factory=set)  # answered 201
    in_doubt: set[str] = field(default_factory=set)  # sent, no answer: stored or not
    refused: list[str] = field(default_factory=list)  # answered, but not 2xx
    lock: threading.Lock = field(default_factory=threading.Lock)


def _item(ticket_id: str, version: str, final: str = "hardware") -> dict[str, str]:
    return {
        "ticket_id": ticket_id,
        "head": "category",
        "predicted": "printers",
        "final": final,
        "model_version": version,
    }


def _stream(url: str, version: str, client_no: int, outcomes: Outcomes) -> None:
    """Send feedback for new tickets until the server stops answering."""
    with httpx.Client(base_url=url, timeout=10) as http:
        for n in range(100_000):
            ticket_id = f"KILL-{client_no}-{n}"
            try:
                response = http.post("/v1/feedback", json=_item(ticket_id, version))
            except httpx.HTTPError:
                with outcomes.lock:
                    outcomes.in_doubt.add(ticket_id)
                return
            with outcomes.lock:
                if response.status_code == 201:
                    outcomes.acknowledged.add(ticket_id)
                else:
                    outcomes.refused.append(f"{response.status_code} {response.text[:200]}")


def _rows(url: str) -> list[tuple[str, str, str, str, int]]:
    """(ticket_id, head, model_version, final, copies) of every stored feedback key."""
    query = sa.select(
        feedback.c.ticket_id,
        feedback.c.head,
        feedback.c.model_version,
        sa.func.max(feedback.c.final),
        sa.func.count(),
    ).group_by(feedback.c.ticket_id, feedback.c.head, feedback.c.model_version)
    with Database(url) as database, database.begin() as connection:
        return [tuple(row) for row in connection.execute(query).all()]


def test_acknowledged_feedback_survives_kill_9_and_retries_store_nothing_twice(
    artifact_dir: Path, database_url: str, tmp_path: Path
) -> None:
    version = artifact_dir.name
    log = tmp_path / "serve.log"
    outcomes = Outcomes()
    with serving(artifact_dir.parent, database_url, tmp_path / "var", log) as server:
        clients = [
            threading.Thread(target=_stream, args=(server.url, version, i, outcomes))
            for i in range(CLIENTS)
        ]
        for client in clients:
            client.start()
        deadline = time.monotonic() + 60
        while len(outcomes.acknowledged) < ACKNOWLEDGED_BEFORE_KILL:
            assert time.monotonic() < deadline, f"too slow: {len(outcomes.acknowledged)} in 60 s"
            assert not outcomes.refused, outcomes.refused
            time.sleep(0.005)
        server.kill()
        for client in clients:
            client.join(timeout=30)
    assert not outcomes.refused, outcomes.refused
    acknowledged, in_doubt = set(outcomes.acknowledged), set(outcomes.in_doubt)
    assert len(in_doubt) == CLIENTS  # every client was cut off mid-stream

    with serving(artifact_dir.parent, database_url, tmp_path / "var", log) as server:
        rows = _rows(database_url)
        present = {ticket_id for ticket_id, *_ in rows}
        duplicates = [row for row in rows if row[-1] > 1]
        lost = acknowledged - present
        print(
            f"\n[{database_url.split(':', 1)[0]}] kill -9 after {len(acknowledged)} acknowledged: "
            f"present {len(present)} (in doubt {len(in_doubt)}, of them stored "
            f"{len(in_doubt & present)}), lost {len(lost)}, duplicates {len(duplicates)}"
        )
        assert lost == set()
        assert duplicates == []
        assert present <= acknowledged | in_doubt

        # A client retries what it never heard back about, and corrects a few it did:
        # the same ticket, head and version is one row, holding the latest answer.
        retried = sorted(in_doubt) + sorted(acknowledged)[:10]
        with httpx.Client(base_url=server.url, timeout=10) as http:
            for ticket_id in retried:
                response = http.post("/v1/feedback", json=_item(ticket_id, version, "network"))
                assert response.status_code == 201, response.text
        rows = _rows(database_url)
    assert len(rows) == len(acknowledged | in_doubt)
    assert [row for row in rows if row[-1] > 1] == []
    finals = {ticket_id: final for ticket_id, _, _, final, _ in rows}
    assert {t for t, f in finals.items() if f == "network"} == set(retried)
