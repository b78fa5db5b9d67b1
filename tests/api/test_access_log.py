"""A key sent in a query string never reaches the access log (issue 24)."""

from __future__ import annotations

import logging

import pytest

from triage.api.access_log import SecretQueryFilter, install, scrub


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/v1/classify?api_key=trg_secret", "/v1/classify?api_key=***"),
        ("/ui/signin?next=/ui/&key=trg_secret#x", "/ui/signin?next=/ui/&key=***#x"),
        ("/v1/model?X-API-Key=trg_a&token=b&k=2", "/v1/model?X-API-Key=***&token=***&k=2"),
        ("/v1/jobs/abc?offset=10", "/v1/jobs/abc?offset=10"),
        ("/v1/models", "/v1/models"),
    ],
)
def test_secret_query_values_are_scrubbed(path: str, logged: str) -> None:
    assert scrub(path) == logged


def test_the_filter_rewrites_uvicorns_access_record(caplog: pytest.LogCaptureFixture) -> None:
    """uvicorn logs '%s - "%s %s HTTP/%s" %d' with (client, method, path, version, status)."""
    install()
    install()  # once only
    access = logging.getLogger("uvicorn.access")
    assert sum(isinstance(f, SecretQueryFilter) for f in access.filters) == 1
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        access.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000",
            "GET",
            "/v1/model?api_key=trg_secret",
            "1.1",
            401,
        )
    assert "trg_secret" not in caplog.text
    assert "/v1/model?api_key=***" in caplog.text
