"""A body that is not the JSON asked for: one JSON error shape, and a message that says what
is wrong, where, and what to send instead."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

JSON = {"content-type": "application/json"}


def _error(client: TestClient, path: str, content: bytes, headers: dict[str, str]) -> dict:
    response = client.post(path, content=content, headers=headers)
    assert response.status_code in (400, 422), response.text
    assert set(response.json()["error"]) == {"code", "message", "details"}
    error: dict = response.json()["error"]
    return error


@pytest.mark.parametrize("path", ["/v1/classify", "/v1/jobs/classify"])
def test_malformed_json_names_the_place_and_the_fix(client: TestClient, path: str) -> None:
    message = _error(client, path, b'{"subject": "x",\n "body": }', JSON)["message"]
    assert message.startswith("the body is not valid JSON: ")
    assert "line 2" in message
    assert "send a JSON object with the header Content-Type: application/json" in message


@pytest.mark.parametrize("headers", [{}, {"content-type": "text/plain"}])
def test_a_body_without_the_json_content_type_says_to_send_it(
    client: TestClient, headers: dict[str, str]
) -> None:
    error = _error(client, "/v1/classify", b'{"subject": "Printer jams"}', headers)
    assert error["code"] == "validation_error"
    assert "so it was not read as JSON" in error["message"]
    assert "Content-Type: application/json" in error["message"]


@pytest.mark.parametrize("path", ["/v1/classify", "/v1/jobs/classify"])
def test_json_that_is_not_utf8_says_so(client: TestClient, path: str) -> None:
    body = '{"tickets": [{"subject": "Café"}], "subject": "Café"}'.encode("cp1252")
    message = _error(client, path, body, JSON)["message"]
    assert message.startswith("the body is not UTF-8 (byte 0xe9 at offset ")
    assert "JSON must be sent in UTF-8" in message


def test_an_empty_body_or_a_list_is_named(client: TestClient) -> None:
    assert _error(client, "/v1/classify", b"", JSON)["message"].startswith(
        "the request has no body"
    )
    assert "not an object (a list)" in _error(client, "/v1/classify", b"[]", JSON)["message"]
    # A JSON object with a bad field still names the field.
    assert _error(client, "/v1/classify", b'{"subject": 5}', JSON)["message"].startswith("subject:")
