"""Schema fuzzing against a live ``triage serve`` on PostgreSQL (issue 24).

The in-process run (``test_fuzz.py``) uses SQLite and calls the app directly. This one sends
real HTTP to a server process whose store is a fresh PostgreSQL database, where some inputs
behave differently (NUL refused by PostgreSQL, lengths, integer ranges, transactions under a
real connection pool). Fewer examples per operation than in process: the same operations,
runs and checks, and no answer may be a 5xx or one the document does not declare.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.api.test_fuzz import ADMIN_KEY, INSECURE_SOURCES, _fuzz, _runs, _Tally
from tests.conftest import fresh_postgres_database
from tests.faults.serving import ServeProcess, serving
from triage.core.auth import hash_key

pytestmark = pytest.mark.slow
# Auth variant -> headers and examples per operation and generation mode.
LIVE_VARIANTS = {
    "admin key": ({"Authorization": f"Bearer {ADMIN_KEY}"}, 8),
    "wrong key": ({"X-API-Key": "trg_not-a-configured-key"}, 2),
}
MIN_LIVE_CASES = 300


@pytest.fixture
def live_server(artifact_dir: Path, postgres_server: str, tmp_path: Path) -> Iterator[ServeProcess]:
    keys = [{"name": "fuzz", "sha256": hash_key(ADMIN_KEY), "scopes": ["admin"]}]
    env = {
        "TRIAGE_API_KEYS": json.dumps(keys),
        "TRIAGE_JOBS_WORKER": "false",
        "TRIAGE_WEBHOOK_INSECURE_SOURCES": json.dumps(INSECURE_SOURCES),
        "TRIAGE_WEBHOOK_SECRETS": json.dumps({"zammad": "fuzz-secret"}),
    }
    with (
        fresh_postgres_database(postgres_server) as url,
        serving(
            artifact_dir.parent, url, tmp_path / "var", tmp_path / "serve.log", env=env
        ) as server,
    ):
        yield server


def test_a_live_server_on_postgresql_gives_documented_answers_and_no_5xx(
    live_server: ServeProcess,
) -> None:
    schema = schemathesis.openapi.from_url(f"{live_server.url}/openapi.json")
    tally = _Tally()
    runs = list(_runs(schema))
    for run, operation, fixed in runs:
        for mode in GenerationMode:
            strategy = operation.as_strategy(generation_mode=mode, **fixed)
            for auth, (headers, examples) in LIVE_VARIANTS.items():
                try:
                    _fuzz(strategy, tally, run, f"{mode.value}, {auth}", headers, examples)
                except Unsatisfiable:
                    assert mode is GenerationMode.NEGATIVE, run
                    break
    total = sum(tally.cases.values())
    server_errors = sum(n for (_, status), n in tally.statuses.items() if status >= 500)
    print(f"\n{total} cases over {len(runs)} runs against {live_server.url}; 5xx: {server_errors}")
    log = live_server.log.read_text(errors="replace")
    assert not tally.failures, (
        "\n".join(
            f"{check} on {run}: {message}" for (check, run), message in tally.failures.items()
        )
        + f"\nserver log tail:\n{log[-3000:]}"
    )
    assert "Traceback" not in log, log[-3000:]
    assert total >= MIN_LIVE_CASES, f"only {total} generated cases"
