"""The OpenAPI document is a contract integrators generate clients from.

It validates as OpenAPI 3.1, every reference resolves, every operation shows an example of what
to send and of what comes back (each valid against its own schema), every error answer is the
one error shape, the API key is declared with the scope the service really enforces, and the
copy published in docs/openapi.json is the one the service serves.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator

from tests.conftest import ROOT
from triage.api.app import create_app
from triage.api.openapi import dump
from triage.core.auth import ApiKey, Scope, hash_key
from triage.service import TriageService
from triage.settings import Settings

PUBLISHED = ROOT / "docs" / "openapi.json"
CHANGELOG = ROOT / "docs" / "CHANGELOG-api.md"
REGENERATE = (
    "regenerate it with `make openapi` (python -m triage.api.openapi docs/openapi.json) and "
    "add a line to docs/CHANGELOG-api.md saying what changed for integrators"
)
METHODS = {"get", "post", "put", "patch", "delete"}
ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorOut"}


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref}: only references inside the document are published"
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict), f"{ref} does not resolve"
        assert part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def _examples(document: dict[str, Any], holder: dict[str, Any]) -> list[Any]:
    """Examples of a media type or parameter: its own, else its schema's (through a $ref)."""
    found = [holder["example"]] if "example" in holder else []
    found += [e["value"] for e in holder.get("examples", {}).values() if "value" in e]
    schema = holder.get("schema", {})
    if "$ref" in schema:
        schema = _resolve(document, schema["$ref"])
    return found or list(schema.get("examples", []))


def _media(operation: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for kind, content in operation.get("requestBody", {}).get("content", {}).items():
        yield f"request {kind}", content
    for status, response in operation["responses"].items():
        for kind, content in response.get("content", {}).items():
            yield f"{status} {kind}", content


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    validate(document, cls=OpenAPIV31SpecValidator)


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    refs = set(_refs(document))
    assert refs, "the document has no references at all"
    for ref in sorted(refs):
        _resolve(document, ref)


def test_every_operation_has_a_request_and_a_response_example(document: dict[str, Any]) -> None:
    missing = []
    for name, operation in _operations(document):
        for where, media in _media(operation):
            if not _examples(document, media):
                missing.append(f"{name}: {where}")
        for parameter in operation.get("parameters", []):
            if not _examples(document, parameter):
                missing.append(f"{name}: parameter {parameter['name']}")
        if not any(s.startswith("2") and "content" in r for s, r in operation["responses"].items()):
            missing.append(f"{name}: no documented success body")
    assert not missing, "no example for:\n" + "\n".join(missing)


def test_every_example_is_valid_against_its_schema(document: dict[str, Any]) -> None:
    checked = 0
    for name, operation in _operations(document):
        holders = [(where, media) for where, media in _media(operation)]
        holders += [(f"parameter {p['name']}", p) for p in operation.get("parameters", [])]
        for where, holder in holders:
            # The document is the root, so "#/components/..." resolves inside the check.
            schema = {**holder["schema"], "components": document["components"]}
            for example in _examples(document, holder):
                error = jsonschema.exceptions.best_match(
                    jsonschema.Draft202012Validator(schema).iter_errors(example)
                )
                assert error is None, f"{name} {where}: example invalid: {error}"
                checked += 1
    assert checked > 50


def test_every_error_answer_is_the_one_error_shape(document: dict[str, Any]) -> None:
    for name, operation in _operations(document):
        assert "500" in operation["responses"], name
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                content = response.get("content", {})
                assert list(content) == ["application/json"], f"{name} {status}: {content}"
                assert content["application/json"]["schema"] == ERROR_SCHEMA, f"{name} {status}"
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas  # FastAPI's own 422 body, never sent here
    assert set(schemas["ErrorOut"]["properties"]) == {"error"}
    assert set(schemas["ErrorBody"]["properties"]) == {"code", "message", "details"}


def test_real_errors_match_the_documented_error_shape(
    client: TestClient, document: dict[str, Any]
) -> None:
    schema = {**ERROR_SCHEMA, "components": document["components"]}
    answers = [
        client.get("/v1/jobs/no-such-job"),  # a domain error (404)
        client.post("/v1/classify", json={}),  # a validation error (422)
        client.post("/v1/classify", content=b"\xff", headers={"Content-Type": "application/json"}),
        client.get("/v1/jobs/x", params={"limit": -1}),  # a query parameter out of range
    ]
    for answer in answers:
        assert answer.status_code >= 400
        jsonschema.validate(answer.json(), schema, cls=jsonschema.Draft202012Validator)


def test_the_api_key_is_declared_as_bearer_and_x_api_key(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["BearerKey"] == {**schemes["BearerKey"], "type": "http", "scheme": "bearer"}
    assert schemes["ApiKeyHeader"] == {
        **schemes["ApiKeyHeader"],
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }


def _documented_scope(operation: dict[str, Any]) -> str | None:
    if not operation["security"]:
        return None
    (scopes,) = {
        tuple(scopes) for requirement in operation["security"] for scopes in requirement.values()
    }
    assert len(scopes) == 1
    return str(scopes[0])


def _request(client: TestClient, name: str, operation: dict[str, Any], key: str | None) -> Any:
    """The operation called with its example path parameters, no body, and ``key``."""
    method, path = name.split(" ", 1)
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            value = parameter["schema"]["examples"][0]
            path = path.replace("{" + parameter["name"] + "}", str(value))
    return client.request(method, path, headers={"X-API-Key": key} if key else {})


@pytest.fixture
def keyed_client(settings: Settings, service: TriageService) -> Iterator[TestClient]:
    keys = [
        ApiKey(name=scope.value, sha256=hash_key(f"trg_{scope.value}"), scopes={scope})
        for scope in (Scope.CLASSIFY, Scope.FEEDBACK, Scope.REPORTS)
    ]
    update = {"api_keys": keys, "jobs_worker": False, "model_watch_seconds": 0.0}
    with TestClient(create_app(settings.model_copy(update=update), service=service)) as client:
        yield client


def test_each_operation_documents_the_scope_the_service_enforces(
    keyed_client: TestClient, document: dict[str, Any]
) -> None:
    """A key without the documented scope gets a 403 naming that scope; one with it does not."""
    for name, operation in _operations(document):
        scope = _documented_scope(operation)
        if scope is None:
            assert "No API key needed." in operation["description"], name
            answer = _request(keyed_client, name, operation, key=None)
            if answer.status_code >= 400:
                assert answer.json()["error"]["code"] not in ("unauthorized", "forbidden"), name
            continue
        assert f"`{scope}` scope" in operation["description"], name
        assert {"401", "403"} <= set(operation["responses"]), name
        assert _request(keyed_client, name, operation, key=None).status_code == 401, name
        other = "feedback" if scope == "classify" else "classify"
        refused = _request(keyed_client, name, operation, key=f"trg_{other}")
        assert refused.status_code == 403, f"{name}: {refused.status_code} with a {other} key"
        assert refused.json()["error"]["details"]["needed"] == scope, name
        if scope != "admin":
            admitted = _request(keyed_client, name, operation, key=f"trg_{scope}")
            assert admitted.status_code not in (401, 403), f"{name}: {admitted.text}"


def test_without_keys_the_api_stays_open(client: TestClient) -> None:
    # Declaring the schemes documents the keys; it must not start demanding one.
    assert client.get("/v1/model").status_code == 200
    assert client.post("/v1/classify", json={"subject": "VPN drops"}).status_code == 200


def test_operation_ids_are_the_route_names(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, operation in _operations(document)]
    assert len(ids) == len(set(ids))
    assert {"classify", "triage_ticket", "add_feedback", "get_job", "create_job"} <= set(ids)


def test_the_published_document_is_the_live_one(document: dict[str, Any]) -> None:
    assert PUBLISHED.is_file(), f"{PUBLISHED} is missing: {REGENERATE}"
    published = PUBLISHED.read_text(encoding="utf-8")
    assert published == dump(document), f"{PUBLISHED} differs from /openapi.json: {REGENERATE}"


def test_the_changelog_names_the_published_document() -> None:
    digest = hashlib.sha256(PUBLISHED.read_bytes()).hexdigest()[:12]
    entries = [
        line for line in CHANGELOG.read_text(encoding="utf-8").splitlines() if line.startswith("- ")
    ]
    assert entries, f"{CHANGELOG} has no entry"
    assert f"`{digest}`" in entries[0], (
        f"the newest entry of {CHANGELOG} is not about docs/openapi.json as it is now: add a line "
        f"on top saying what changed for integrators, ending with the file's digest `{digest}` "
        "(sha256, first 12 hex digits)"
    )
    json.loads(PUBLISHED.read_text(encoding="utf-8"))
