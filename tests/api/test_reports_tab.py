"""The staff page's Reports tab: a server-drawn chart, the numbers behind it, CSV, en and id."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from triage.api.staff.i18n import TEXT
from triage.service.reports import COLUMNS, GROUPINGS
from triage.store.schema import utcnow


def test_every_column_and_report_has_a_heading_in_both_languages() -> None:
    names = {"period", *(n for cols in COLUMNS.values() for n in cols)}
    names |= {n for dims in GROUPINGS.values() for n in dims}
    missing = sorted(n for n in names if f"col_{n}" not in TEXT)
    assert missing == []
    assert all(f"report_{name}" in TEXT for name in COLUMNS if name != "volume")
    assert all(len(TEXT[f"col_{n}"]) == 2 and all(TEXT[f"col_{n}"]) for n in names)


@pytest.fixture
def with_history(client: TestClient) -> TestClient:
    now = utcnow().replace(microsecond=0)
    created, resolved = now - timedelta(days=2, hours=5), now - timedelta(days=2)
    events = [
        {
            "id": "r-1",
            "kind": "created",
            "ticket_id": "R1",
            "at": created.isoformat(),
            "tier": "L1",
        },
        {
            "id": "r-2",
            "kind": "resolved",
            "ticket_id": "R1",
            "at": resolved.isoformat(),
            "agent": "sari",
        },
        {
            "id": "r-3",
            "kind": "created",
            "ticket_id": "R2",
            "at": created.isoformat(),
            "tier": "L2",
        },
    ]
    assert client.post("/v1/events", json=events).status_code == 201
    return client


def test_the_tab_draws_the_volume_and_tables_the_reports(with_history: TestClient) -> None:
    page = with_history.get("/ui/reports")
    assert page.status_code == 200
    html = page.text
    for drawn in ("<svg", 'class="bar new"', 'class="bar resolved"', 'class="line backlog"'):
        assert drawn in html
    assert "Reports on the helpdesk&#39;s work" in html
    # R1: 5 h from created to resolved, at L1; in the resolution table by tier.
    assert "<td>L1</td><td>1</td><td>5.0</td><td>5.0</td><td>1</td><td>1.0</td>" in html
    assert "<td>sari</td><td>1</td>" in html  # staff work by agent
    assert 'href="/ui/reports/resolution.csv?days=30&amp;group_by=tier"' in html


def test_the_tab_in_bahasa_indonesia_and_its_csv(with_history: TestClient) -> None:
    form = with_history.get("/ui/reports").text
    csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    with_history.post("/ui/lang", data={"csrf": csrf, "lang": "id", "next": "/ui/reports"})
    page = with_history.get("/ui/reports?days=90").text
    assert "Laporan kerja helpdesk" in page
    assert "Waktu penyelesaian, per tingkat" in page
    csv = with_history.get("/ui/reports/resolution.csv?days=30&group_by=tier")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[1] == "L1,1,5.0,5.0,1,1.0"
