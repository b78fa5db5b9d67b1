"""A client generated from the live /openapi.json triages tickets against a running service.

The test starts a real uvicorn on a free loopback port (a model trained with the hashing
embedder, API keys configured), generates a Python client from the document that server
serves with openapi-python-client (a dev dependency; offline, into a temporary directory), and
uses that client over TCP: classify, triage, send feedback, queue a job and read it back. A
break in the contract, a reference that does not resolve, a body that does not match its
schema or an undocumented status, fails here the way it would fail an integrator.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import uvicorn

from tests.faults.serving import free_port
from triage.api.app import create_app
from triage.core.auth import ApiKey, Scope, hash_key
from triage.service import TriageService
from triage.settings import Settings

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "triage_generated_client"
KEY = "trg_generated-client-key"
# The generator has no Python type for a raw CSV, JSON-lines, YAML or e-mail body: it leaves those
# alternatives of the job upload and of the routing table out (the JSON bodies stay) and says
# so. Any other warning fails.
EXPECTED_WARNINGS = {
    ("POST /v1/jobs/classify", "Unsupported content type text/csv"),
    ("POST /v1/jobs/classify", "Unsupported content type application/x-ndjson"),
    ("PUT /v1/routing", "Unsupported content type application/yaml"),
    ("POST /v1/routing/dry-run", "Unsupported content type application/yaml"),
    # A raw message/rfc822 body is the only form of POST /v1/email: no generated method.
    ("POST /v1/email", "Unsupported content type message/rfc822"),
}


@pytest.fixture
def live_url(settings: Settings, service: TriageService) -> Iterator[str]:
    """The app on a real uvicorn, on a free loopback port, with one classify+feedback key."""
    keys = [ApiKey(name="helpdesk", sha256=hash_key(KEY), scopes={Scope.CLASSIFY, Scope.FEEDBACK})]
    app = create_app(
        settings.model_copy(update={"api_keys": keys, "model_watch_seconds": 0.0}),
        service=service,
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped before it started serving"
        assert time.monotonic() < deadline, "uvicorn did not start in 60 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _warnings(output: str) -> set[tuple[str, str]]:
    pattern = r"WARNING parsing (\S+ \S+) within \S+\.(?: Endpoint will not be generated\.)?\s+(.+)"
    return {(m[1], m[2].strip()) for m in re.finditer(pattern, output)}


@pytest.fixture
def generated(live_url: str, tmp_path: Path) -> Iterator[ModuleType]:
    """The client package generated from the document the live server serves."""
    document = tmp_path / "openapi.json"
    document.write_bytes(httpx.get(f"{live_url}/openapi.json", timeout=10).content)
    config = tmp_path / "generator.yml"
    # No post-hooks: formatting the generated code (ruff) is not what is under test.
    config.write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n", encoding="utf-8")
    arguments = ["--path", document, "--meta", "none", "--config", config, "--output-path"]
    result = subprocess.run(
        [GENERATOR, "generate", *arguments, tmp_path / PACKAGE],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert _warnings(output) == EXPECTED_WARNINGS, output
    assert "Error" not in output, output
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def _api(package: ModuleType, tag: str, operation: str) -> Any:
    return importlib.import_module(f"{package.__name__}.api.{tag}.{operation}")


def _models(package: ModuleType) -> Any:
    return importlib.import_module(f"{package.__name__}.models")


def test_a_generated_client_classifies_triages_sends_feedback_and_reads_a_job(
    generated: ModuleType, live_url: str
) -> None:
    models = _models(generated)
    with generated.AuthenticatedClient(
        base_url=live_url, token=KEY, raise_on_unexpected_status=True
    ) as client:
        ticket = models.TicketIn(subject="Printer on 3rd floor jams", body="Paper jam again.")
        classified = _api(generated, "classify", "classify").sync(client=client, body=ticket)
        assert isinstance(classified, models.ClassificationOut), classified
        category = classified.predictions["category"]
        assert isinstance(category, models.HeadOut)
        assert category.label in category.distribution.additional_properties

        query = models.TriageIn(
            id="INC-1042", subject="VPN drops", body="Every hour, since Monday."
        )
        triaged = _api(generated, "similar", "triage_ticket").sync(client=client, body=query)
        assert isinstance(triaged, models.TriageOut), triaged
        assert set(triaged.classification.predictions.additional_properties) == {"category", "tier"}
        assert triaged.degraded == []

        feedback = models.FeedbackIn(
            ticket_id="INC-1042",
            head="category",
            predicted=triaged.classification.predictions["category"].label,
            final="network_vpn",
            model_version=triaged.classification.model_version,
        )
        stored = _api(generated, "feedback", "add_feedback").sync(client=client, body=feedback)
        assert isinstance(stored, models.FeedbackStoredOut), stored
        assert stored.stored == 1

        job = models.JobIn(tickets=[models.TicketIn(id="INC-7", subject="Outlook will not open")])
        queued = _api(generated, "jobs", "create_job").sync(client=client, body=job)
        assert isinstance(queued, models.JobOut), queued
        read = _wait_for_job(generated, client, queued.id)
        assert read.status == "done", read
        (item,) = read.results
        assert item.id == "INC-7"
        assert isinstance(item.result, models.ClassificationOut)


def _wait_for_job(generated: ModuleType, client: Any, job_id: str) -> Any:
    get_job = _api(generated, "jobs", "get_job")
    deadline = time.monotonic() + 60
    while True:
        job = get_job.sync(job_id, client=client)
        assert isinstance(job, _models(generated).JobOut), job
        if job.status in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job.status} after 60 s"
        time.sleep(0.1)


def test_the_generated_client_sends_the_key_both_ways_and_reads_errors(
    generated: ModuleType, live_url: str
) -> None:
    models = _models(generated)
    get_job = _api(generated, "jobs", "get_job")
    # X-API-Key instead of Authorization: Bearer, as the second declared scheme says.
    with generated.AuthenticatedClient(
        base_url=live_url, token=KEY, prefix="", auth_header_name="X-API-Key"
    ) as client:
        missing = get_job.sync("no-such-job", client=client)
        assert isinstance(missing, models.ErrorOut), missing
        assert missing.error.code == "job_not_found"
    with generated.AuthenticatedClient(base_url=live_url, token="trg_wrong") as client:
        refused = get_job.sync_detailed("no-such-job", client=client)
        assert refused.status_code == 401
        assert isinstance(refused.parsed, models.ErrorOut)
        assert refused.parsed.error.code == "unauthorized"
