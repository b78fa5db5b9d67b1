"""Fixtures of the webhook tests: an app with a secret for every helpdesk."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.clock import Clock
from tests.webhooks.fake_helpdesk import FakeHelpdesk, running_helpdesk
from tests.webhooks.webhook_signing import SECRETS
from triage.api.app import create_app
from triage.service import TriageService
from triage.settings import Settings
from triage.store.database import Database

# The incident write-back tests' start: before the real now, so queued links fall due.
INCIDENTS_START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


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


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database of one test (the incident write-back tests)."""
    with Database(f"sqlite:///{tmp_path / 'triage.db'}") as db:
        db.upgrade()
        yield db


@pytest.fixture
def clock() -> Clock:
    return Clock(INCIDENTS_START)
