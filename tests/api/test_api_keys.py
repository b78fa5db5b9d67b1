import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.asgi_scope import http_scope
from triage.api.app import create_app
from triage.core.auth import ApiKey, Scope, hash_key
from triage.service import TriageService
from triage.settings import Settings

CLASSIFY_KEY, FEEDBACK_KEY, ADMIN_KEY = "trg_classify-key", "trg_feedback-key", "trg_admin-key"
TICKET = {"subject": "Printer on 3rd floor jams"}


@pytest.fixture
def secured(settings: Settings, service: TriageService) -> TestClient:
    keys = [
        ApiKey(name="helpdesk", sha256=hash_key(CLASSIFY_KEY), scopes={Scope.CLASSIFY}),
        ApiKey(name="ui", sha256=hash_key(FEEDBACK_KEY), scopes={Scope.FEEDBACK}),
        ApiKey(name="ops", sha256=hash_key(ADMIN_KEY), scopes={Scope.ADMIN}),
    ]
    app = create_app(settings.model_copy(update={"api_keys": keys}), service=service)
    with TestClient(app) as client:
        yield client


def test_no_key_or_a_wrong_key_is_401_with_a_challenge(secured: TestClient) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        {"X-API-Key": "nope"},
        {"Authorization": "Basic abc"},
    ):
        response = secured.post("/v1/classify", json=TICKET, headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert secured.get("/v1/model").status_code == 401


def test_a_key_works_as_bearer_or_x_api_key(secured: TestClient) -> None:
    for headers in ({"Authorization": f"Bearer {CLASSIFY_KEY}"}, {"X-API-Key": CLASSIFY_KEY}):
        assert secured.post("/v1/classify", json=TICKET, headers=headers).status_code == 200
        assert (
            secured.post(
                "/v1/classify/batch", json={"tickets": [TICKET]}, headers=headers
            ).status_code
            == 200
        )
        assert secured.get("/v1/model", headers=headers).status_code == 200
    assert (
        secured.post("/v1/classify", json=TICKET, headers={"X-API-Key": ADMIN_KEY}).status_code
        == 200
    )


def test_a_key_without_the_scope_is_403(secured: TestClient) -> None:
    response = secured.post("/v1/classify", json=TICKET, headers={"X-API-Key": FEEDBACK_KEY})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "forbidden"
    assert error["details"] == {"needed": "classify", "scopes": ["feedback"]}


def test_metrics_need_the_admin_scope(secured: TestClient) -> None:
    assert secured.get("/metrics").status_code == 401
    assert secured.get("/metrics", headers={"X-API-Key": CLASSIFY_KEY}).status_code == 403
    assert secured.get("/metrics", headers={"X-API-Key": ADMIN_KEY}).status_code == 200


def test_health_stays_open(secured: TestClient) -> None:
    assert secured.get("/healthz").status_code == 200
    assert secured.get("/readyz").status_code == 200


def test_keys_create_prints_a_key_once_and_its_hashed_entry() -> None:
    triage = str(Path(sys.executable).with_name("triage"))
    out = subprocess.run(
        [
            triage,
            "keys",
            "create",
            "--name",
            "zammad",
            "--scope",
            "classify",
            "--scope",
            "feedback",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    key = out[0].rsplit(" ", 1)[1]
    entry = ApiKey.model_validate(json.loads(out[-1]))
    assert entry.sha256 == hash_key(key)
    assert entry.scopes == {Scope.CLASSIFY, Scope.FEEDBACK}


def test_serve_refuses_a_public_address_without_keys(tmp_path: Path, artifact_dir: Path) -> None:
    triage = str(Path(sys.executable).with_name("triage"))
    result = subprocess.run(
        [triage, "serve", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**__import__("os").environ, "TRIAGE_MODELS_DIR": str(artifact_dir.parent)},
    )
    assert result.returncode == 2
    assert "refusing to serve on 0.0.0.0 without API keys" in result.stderr


FEEDBACK = {
    "ticket_id": "INC-1",
    "head": "category",
    "predicted": "printers",
    "final": "printers",
    "model_version": "v1",
}


def test_feedback_needs_the_feedback_scope(secured: TestClient) -> None:
    assert secured.post("/v1/feedback", json=FEEDBACK).status_code == 401
    denied = secured.post("/v1/feedback", json=FEEDBACK, headers={"X-API-Key": CLASSIFY_KEY})
    assert denied.status_code == 403
    assert denied.json()["error"]["details"]["needed"] == "feedback"
    for key in (FEEDBACK_KEY, ADMIN_KEY):
        assert (
            secured.post("/v1/feedback", json=FEEDBACK, headers={"X-API-Key": key}).status_code
            == 201
        )
    assert (
        secured.get("/v1/metrics/quality", headers={"X-API-Key": CLASSIFY_KEY}).status_code == 403
    )
    assert (
        secured.get("/v1/metrics/quality", headers={"X-API-Key": FEEDBACK_KEY}).status_code == 200
    )


def test_jobs_need_the_classify_scope(secured: TestClient) -> None:
    body = {"tickets": [TICKET]}
    assert secured.post("/v1/jobs/classify", json=body).status_code == 401
    assert (
        secured.post(
            "/v1/jobs/classify", json=body, headers={"X-API-Key": FEEDBACK_KEY}
        ).status_code
        == 403
    )
    created = secured.post("/v1/jobs/classify", json=body, headers={"X-API-Key": CLASSIFY_KEY})
    assert created.status_code == 202
    assert secured.get(f"/v1/jobs/{created.json()['id']}").status_code == 401


# Every route but health: (method, path, body, the scope it needs).
ROUTES: list[tuple[str, str, dict[str, object] | None, Scope]] = [
    ("POST", "/v1/classify", TICKET, Scope.CLASSIFY),
    ("POST", "/v1/classify/batch", {"tickets": [TICKET]}, Scope.CLASSIFY),
    ("GET", "/v1/model", None, Scope.CLASSIFY),
    ("GET", "/v1/models", None, Scope.CLASSIFY),
    ("POST", "/v1/similar", TICKET, Scope.CLASSIFY),
    ("POST", "/v1/triage", TICKET, Scope.CLASSIFY),
    ("POST", "/v1/jobs/classify", {"tickets": [TICKET]}, Scope.CLASSIFY),
    ("GET", "/v1/jobs/0123456789abcdef0123456789abcdef", None, Scope.CLASSIFY),
    ("POST", "/v1/feedback", FEEDBACK, Scope.FEEDBACK),
    ("POST", "/v1/feedback/batch", {"items": [FEEDBACK]}, Scope.FEEDBACK),
    ("GET", "/v1/metrics/quality", None, Scope.FEEDBACK),
    ("POST", "/v1/tickets/resolved", {"id": "R1", "subject": "Printer jams"}, Scope.FEEDBACK),
    ("DELETE", "/v1/tickets/R1", None, Scope.ADMIN),
    ("POST", "/v1/models/19990101-000000-00000000/activate", None, Scope.ADMIN),
    ("GET", "/metrics", None, Scope.ADMIN),
]
KEY_FOR = {Scope.CLASSIFY: CLASSIFY_KEY, Scope.FEEDBACK: FEEDBACK_KEY, Scope.ADMIN: ADMIN_KEY}


@pytest.mark.parametrize(("method", "path", "body", "scope"), ROUTES)
def test_every_route_checks_its_scope(
    secured: TestClient, method: str, path: str, body: dict[str, object] | None, scope: Scope
) -> None:
    def call(key: str | None) -> int:
        headers = {"X-API-Key": key} if key else {}
        return secured.request(method, path, json=body, headers=headers).status_code

    assert call(None) == 401
    assert call("trg_not-a-key") == 401
    for other, key in KEY_FOR.items():
        if other not in (scope, Scope.ADMIN):
            assert call(key) == 403, other
    assert call(KEY_FOR[scope]) not in (401, 403)
    assert call(ADMIN_KEY) not in (401, 403)


@pytest.mark.parametrize("keys", ["[ ]", "[]\n", " [] ", "[\n]"])
def test_the_app_refuses_to_be_open_off_loopback_however_none_is_written(
    monkeypatch: pytest.MonkeyPatch, keys: str
) -> None:
    """The image runs ``uvicorn --factory``: the guard is create_app's, on the parsed settings
    (the shell check before it let '[ ]' and a trailing newline through: an open API)."""
    from triage.core.errors import UnsafeBindError
    from triage.settings import get_settings

    monkeypatch.setenv("TRIAGE_API_KEYS", keys)
    monkeypatch.setenv("TRIAGE_HOST", "0.0.0.0")
    get_settings.cache_clear()
    try:
        with pytest.raises(UnsafeBindError, match="refusing to serve on 0.0.0.0 without API keys"):
            create_app()
    finally:
        get_settings.cache_clear()
    monkeypatch.setenv("TRIAGE_HOST", "127.0.0.1")
    create_app(get_settings())  # open on loopback: allowed (and logged as open)
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/v1/classify", [], 401),
        ("/v1/classify", [(b"x-api-key", b"nope")], 401),
        ("/v1/jobs/classify", [(b"authorization", b"Bearer nope")], 401),
        ("/v1/webhooks/generic", [], 413),  # signed, not keyed: read, and cut off at the limit
    ],
)
def test_a_request_without_a_valid_key_is_refused_before_its_body_is_read(
    secured: TestClient, path: str, headers: list[tuple[bytes, bytes]], status: int
) -> None:
    """Before: FastAPI read (and parsed) the whole body, then the key dependency said 401."""
    import asyncio

    reads = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"{" + b" " * 500_000 + b"}", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = http_scope(path, headers=headers)
    asyncio.run(secured.app(scope, receive, send))  # type: ignore[arg-type]
    assert sent[0]["status"] == status
    if status == 401:
        assert reads == 0
        assert json.loads(sent[1]["body"])["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({"Origin": "http://evil.example"}, True),
        ({"Origin": "null"}, True),
        ({"Sec-Fetch-Site": "cross-site"}, True),
        ({"Origin": "http://localhost:8000"}, False),  # the service's own page (e.g. /docs)
        ({"Sec-Fetch-Site": "same-origin"}, False),
        ({}, False),  # scripts and helpdesks send no Origin
    ],
)
def test_open_mode_refuses_a_cross_site_request_that_changes_something(
    client: TestClient, headers: dict[str, str], refused: bool
) -> None:
    """Before: a form on any site could make a visitor's browser POST an activation."""
    headers = {"Host": "localhost:8000", **headers}  # as a browser on the machine names it
    version = client.get("/v1/model").json()["version"]
    answer = client.post(f"/v1/models/{version}/activate", headers=headers)
    assert (answer.status_code == 403) is refused, answer.text
    if refused:
        assert answer.json()["error"]["code"] == "forbidden"
        assert "cross-site" in answer.json()["error"]["message"]
    # Reading is never refused: a cross-site page cannot read the answer anyway (no CORS).
    assert client.get("/v1/model", headers=headers).status_code == 200


BOUND_KEY, SLOW_KEY = "trg_bound-key", "trg_slow-key"


@pytest.fixture
def limited(settings: Settings, service: TriageService) -> TestClient:
    keys = [
        ApiKey(
            name="acme-desk",
            sha256=hash_key(BOUND_KEY),
            scopes={Scope.ADMIN},
            tenants=["acme"],
            max_job_tickets=2,
        ),
        ApiKey(name="slow", sha256=hash_key(SLOW_KEY), scopes={Scope.CLASSIFY}, rate_per_minute=3),
        ApiKey(name="ops", sha256=hash_key(ADMIN_KEY), scopes={Scope.ADMIN}),
    ]
    on = settings.model_copy(update={"api_keys": keys, "jobs_worker": False})
    with TestClient(create_app(on, service=service)) as client:
        yield client


def test_a_key_bound_to_tenants_reads_and_writes_only_in_them(limited: TestClient) -> None:
    """Before: any classify key could read (and a feedback key write) any tenant."""
    bound = {"Authorization": f"Bearer {BOUND_KEY}"}
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    other = {"id": "R-1", "body": "vpn drops", "resolution": "reset", "tenant": "globex"}
    assert limited.post("/v1/tickets/resolved", json=other, headers=admin).status_code == 201
    refused = limited.post("/v1/tickets/resolved", json=other | {"id": "R-2"}, headers=bound)
    assert refused.status_code == 403
    assert "may not use tenant 'globex'" in refused.json()["error"]["message"]
    own = other | {"id": "R-3", "tenant": "acme"}
    assert limited.post("/v1/tickets/resolved", json=own, headers=bound).status_code == 201
    for path in ("/v1/similar", "/v1/triage"):
        query = {"body": "vpn drops"}
        assert (
            limited.post(path, json=query | {"tenant": "globex"}, headers=bound).status_code == 403
        )
        assert limited.post(path, json=query, headers=bound).status_code == 403  # '' not its own
        found = limited.post(path, json=query | {"tenant": "acme"}, headers=bound)
        assert found.status_code == 200, found.text
        assert [m["id"] for m in found.json()["similar"]] == ["R-3"]
    assert limited.delete("/v1/tickets/R-1", headers=bound).status_code == 403  # every tenant
    assert limited.delete("/v1/tickets/R-1?tenant=globex", headers=bound).status_code == 403
    assert limited.delete("/v1/tickets/R-3?tenant=acme", headers=bound).status_code == 200


def test_a_key_with_a_rate_is_held_to_it(limited: TestClient) -> None:
    slow = {"Authorization": f"Bearer {SLOW_KEY}"}
    answers = [limited.post("/v1/classify", json=TICKET, headers=slow) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(answers[-1].headers["retry-after"]) <= 20
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    assert limited.post("/v1/classify", json=TICKET, headers=admin).status_code == 200


def test_two_workers_on_one_database_hold_a_key_to_one_rate(
    settings: Settings, service: TriageService
) -> None:
    """Before: each process counted a key's requests itself, so two workers let the
    3-a-minute key send 6 (issue 24). Two apps on one database stand for two workers."""
    keys = [
        ApiKey(name="slow", sha256=hash_key(SLOW_KEY), scopes={Scope.CLASSIFY}, rate_per_minute=3)
    ]
    on = settings.model_copy(update={"api_keys": keys, "jobs_worker": False})
    slow = {"Authorization": f"Bearer {SLOW_KEY}"}
    with (
        TestClient(create_app(on, service=service)) as one,
        TestClient(create_app(on, service=service)) as two,
    ):
        codes = [
            client.post("/v1/classify", json=TICKET, headers=slow).status_code
            for client in (one, two, one, two, two, one)
        ]
    assert codes == [200, 200, 200, 429, 429, 429]


def test_a_key_with_a_job_limit_queues_no_more(limited: TestClient) -> None:
    """Before: one key could queue a 99,000-ticket job (an hour of CPU)."""
    bound = {"Authorization": f"Bearer {BOUND_KEY}"}
    tickets = [{"body": f"printer jam {i}"} for i in range(3)]
    refused = limited.post("/v1/jobs/classify", json={"tickets": tickets}, headers=bound)
    assert refused.status_code == 413
    assert refused.json()["error"]["details"] == {"limit": 2, "size": 3}
    taken = limited.post("/v1/jobs/classify", json={"tickets": tickets[:2]}, headers=bound)
    assert taken.status_code == 202


def test_keys_create_writes_the_bindings_and_limits() -> None:
    from typer.testing import CliRunner

    from triage.cli.app import app

    made = CliRunner().invoke(
        app,
        [
            "keys",
            "create",
            "--name",
            "acme",
            "--tenant",
            "acme",
            "--tenant",
            "",
            "--rate-per-minute",
            "600",
            "--max-job-tickets",
            "5000",
        ],
    )
    assert made.exit_code == 0, made.output
    entry = ApiKey.model_validate_json(made.output.strip().splitlines()[-1])
    assert entry.tenants == ["acme", ""]
    assert (entry.rate_per_minute, entry.max_job_tickets) == (600, 5000)
    assert entry.scopes == {Scope.CLASSIFY}


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({"Host": "evil.example", "Sec-Fetch-Site": "same-origin"}, True),  # DNS rebinding
        ({"Host": "evil.example:8000", "Origin": "http://evil.example:8000"}, True),
        ({"Host": "localhost:8000", "Sec-Fetch-Site": "same-origin"}, False),
        ({"Host": "127.0.0.1:8000", "Sec-Fetch-Mode": "navigate"}, False),
        ({"Host": "[::1]:8000", "Sec-Fetch-Site": "none"}, False),
        ({"Host": "evil.example"}, False),  # not a browser: a script, not rebinding
    ],
)
def test_open_mode_answers_a_browser_only_under_a_loopback_name(
    client: TestClient, headers: dict[str, str], refused: bool
) -> None:
    """Before: any Host was accepted, so a rebound name read the open API from a browser."""
    for path in ("/v1/model", "/ui/", "/docs"):
        answer = client.get(path, headers=headers, follow_redirects=False)
        assert (answer.status_code == 403) is refused, (path, answer.status_code)
