"""Fixtures of the webhook tests: an app with a secret for every helpdesk."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.webhooks.fake_helpdesk import FakeHelpdesk, running_helpdesk
from tests.webhooks.webhook_signing import SECRETS
from triage.api.app import create_app
from triage.service import TriageService
from triage.settings import Settings


@pytest.fixture
def webhook_settings(settings: Settings, database_url: str) -> Settings:
    return settings.model_copy(
        update={
            "database_url": database_url,
            "webhook_secrets": {k: SecretStr(v) for k, v in SECRETS.items()},
        }
    )


@pytest.fixture
def api(webhook_settings: Settings, service: TriageService) -> Iterator[TestClient]:
    with TestClient(create_app(webhook_settings, service=service)) as client:
        yield client


@pytest.fixture
def helpdesk() -> Iterator[FakeHelpdesk]:
    """A fake helpdesk API on a loopback port (tests/webhooks/fake_helpdesk.py)."""
    with running_helpdesk() as fake:
        yield fake
