"""Every figure of every report on the hand-written history of report_history.py, worked out
by hand in the comments, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import fresh_postgres_database
from tests.service.report_history import HISTORY, SINCE, T5_LATE, T5_RESOLVED, UNTIL
from triage.core.errors import InvalidReportQueryError, ReportNotFoundError
from triage.service.reports import ReportQuery, ReportService
from triage.store.database import Database
from triage.store.events import EventStore


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('reports') / 'triage.db'}"
        with Database(url) as database:
            database.upgrade()
            yield database
        return
    admin_url = request.getfixturevalue("postgres_server")
    with fresh_postgres_database(admin_url) as url, Database(url) as database:
        database.upgrade()
        yield database


@pytest.fixture(scope="module")
def store(database: Database) -> EventStore:
    store = EventStore(database)
    # The whole history, then T5's resolution alone (its ticket unknown), then T5's created
    # event and a staff decision, then everything again: every repeat is ignored.
    first = store.add(HISTORY)
    assert (first.stored, first.duplicates) == (len(HISTORY), 0)
    store.add([T5_RESOLVED])
    store.add(T5_LATE)
    again = store.add([*HISTORY, T5_RESOLVED, *T5_LATE])
    assert (again.stored, again.duplicates) == (0, len(HISTORY) + 3)
    return store


@pytest.fixture(scope="module")
def reports(store: EventStore, database: Database) -> ReportService:
    return ReportService(database)


def run(reports: ReportService, name: str, **kw: Any) -> list[dict[str, Any]]:
    return reports.run(name, ReportQuery(since=SINCE, until=UNTIL, **kw)).rows


def test_out_of_order_resolution_gets_its_time_once_created_arrives(tmp_path) -> None:
    with Database(f"sqlite:///{tmp_path / 'o.db'}") as database:
        database.upgrade()
        store, service = EventStore(database), ReportService(database)
        store.add([T5_RESOLVED])
        # Only the resolution: resolved, but no time to resolve.
        assert run(service, "resolution") == [
            {
                "resolved": 1,
                "median_hours": None,
                "p90_hours": None,
                "resolved_at_l1": 0,
                "share_resolved_at_l1": None,
            }
        ]
        store.add(T5_LATE)
        # created 3 Nov 14:00 → resolved 20:00: 6 h; L1, never escalated.
        assert run(service, "resolution") == [
            {
                "resolved": 1,
                "median_hours": 6.0,
                "p90_hours": 6.0,
                "resolved_at_l1": 1,
                "share_resolved_at_l1": 1.0,
            }
        ]
        assert [e.id for e in store.events_of("T5")] == ["t5c", "t5r", "t5d"]


def test_volume_by_day(reports: ReportService) -> None:
    # Open at 2 Nov 00:00: T0 (resolved later that day) and T8 → 2.
    # 2 Nov: new T1, T2, T7, T9 = 4; resolved T0, T1, T9 (final) = 3; backlog 2+4-3 = 3
    #        (T2, T7, T8).
    # 3 Nov: new T3, T5 = 2; resolved T2, T5 = 2 (T3's resolution was reopened); backlog 3
    #        (T3, T7, T8).
    # 4 Nov: new T4 = 1; resolved T6 = 1, never created so not in the backlog; backlog 3+1 = 4
    #        (T3, T4, T7, T8).
    assert run(reports, "volume") == [
        {"period": "2026-11-02", "new": 4, "resolved": 3, "backlog": 3},
        {"period": "2026-11-03", "new": 2, "resolved": 2, "backlog": 3},
        {"period": "2026-11-04", "new": 1, "resolved": 1, "backlog": 4},
    ]


def test_volume_by_week_and_tenant(reports: ReportService) -> None:
    # One ISO week (Monday 2 Nov). Default tenant: opening 2 (T0, T8); new T1-T5, T9 = 6;
    # resolved T0, T1, T2, T5, T6, T9 = 6 of which 5 were created; backlog 2+6-5 = 3.
    # acme: T7 new and open.
    assert run(reports, "volume", bucket="week", group_by="tenant") == [
        {"period": "2026-11-02", "tenant": "", "new": 6, "resolved": 6, "backlog": 3},
        {"period": "2026-11-02", "tenant": "acme", "new": 1, "resolved": 0, "backlog": 1},
    ]
    # Per month: the same single bucket, starting on 1 November.
    assert run(reports, "volume", bucket="month") == [
        {"period": "2026-11-01", "new": 7, "resolved": 6, "backlog": 4}
    ]


def test_resolution_overall(reports: ReportService) -> None:
    # Resolved in the window: T0, T1, T2, T5, T6, T9 = 6. Hours (T6 has none): 2, 6, 8, 24, 24.
    # Median 8. p90: position 0.9 * 4 = 3.6 → 24 + 0.6 * (24 - 24) = 24.
    # At L1, never escalated: T0, T1, T5, T6, T9 = 5 of 6 with a tier → 0.8333.
    assert run(reports, "resolution") == [
        {
            "resolved": 6,
            "median_hours": 8.0,
            "p90_hours": 24.0,
            "resolved_at_l1": 5,
            "share_resolved_at_l1": 0.8333,
        }
    ]


def test_resolution_by_tier(reports: ReportService) -> None:
    # L1: T0 24, T1 2, T5 6, T9 8, T6 none → 2, 6, 8, 24: median (6+8)/2 = 7;
    #     p90: position 2.7 → 8 + 0.7 * (24 - 8) = 19.2. All five at L1 → 1.0.
    # L2 (T2, escalated from L1): 24 h; not at L1 → 0.0.
    assert run(reports, "resolution", group_by="tier") == [
        {
            "tier": "L1",
            "resolved": 5,
            "median_hours": 7.0,
            "p90_hours": 19.2,
            "resolved_at_l1": 5,
            "share_resolved_at_l1": 1.0,
        },
        {
            "tier": "L2",
            "resolved": 1,
            "median_hours": 24.0,
            "p90_hours": 24.0,
            "resolved_at_l1": 0,
            "share_resolved_at_l1": 0.0,
        },
    ]


def test_resolution_by_category(reports: ReportService) -> None:
    # accounts: T1 2, T9 8 → median 5, p90 2 + 0.9 * 6 = 7.4; both at L1.
    # network: T0 24, T2 24, T5 6 → 6, 24, 24: median 24, p90 24; T0, T5 at L1 → 2/3.
    # no category: T6, no time; at L1.
    assert run(reports, "resolution", group_by="category") == [
        {
            "category": "accounts",
            "resolved": 2,
            "median_hours": 5.0,
            "p90_hours": 7.4,
            "resolved_at_l1": 2,
            "share_resolved_at_l1": 1.0,
        },
        {
            "category": "network",
            "resolved": 3,
            "median_hours": 24.0,
            "p90_hours": 24.0,
            "resolved_at_l1": 2,
            "share_resolved_at_l1": 0.6667,
        },
        {
            "category": None,
            "resolved": 1,
            "median_hours": None,
            "p90_hours": None,
            "resolved_at_l1": 1,
            "share_resolved_at_l1": 1.0,
        },
    ]


def test_escalation(reports: ReportService) -> None:
    # Created in the window: T1, T2, T3, T4, T5, T7, T9 = 7.
    # Started at L1: all but T3 = 6; escalated from L1: T2 → 1/6 = 0.1667.
    # Reached L2: T2 (escalated into it), T3 (started there) = 2; on to L3: T3 → 0.5.
    # Escalated: T2 after 6 h, T3 after 2 h → median 4, p90 2 + 0.9 * 4 = 5.6.
    # Resolved with a predicted tier: T1 (L1 → L1), T2 (L1 → resolved at L2): 1 of 2 differs.
    assert run(reports, "escalation") == [
        {
            "tickets": 7,
            "started_at_l1": 6,
            "escalated_from_l1": 1,
            "rate_l1_l2": 0.1667,
            "reached_l2": 2,
            "escalated_from_l2": 1,
            "rate_l2_l3": 0.5,
            "escalated": 2,
            "median_hours_to_escalate": 4.0,
            "p90_hours_to_escalate": 5.6,
            "resolved_with_prediction": 2,
            "predicted_tier_differs": 1,
            "share_predicted_tier_differs": 0.5,
        }
    ]


def test_backlog(reports: ReportService) -> None:
    # Open at 5 Nov 00:00: T4 18 h, T3 40 h (reopened), T7 57 h, T8 16 days = 384 h.
    # Bands: <1 d: T4; 1-3 d: T3, T7; 7-30 d: T8. Median (40 + 57) / 2 = 48.5.
    # Waiting for review: T4 (triaged review, no staff decision).
    assert run(reports, "backlog") == [
        {
            "open": 4,
            "under_1d": 1,
            "d1_3": 2,
            "d3_7": 0,
            "d7_30": 1,
            "over_30d": 0,
            "median_age_hours": 48.5,
            "oldest_age_hours": 384.0,
            "waiting_review": 1,
        }
    ]
    # Default tenant: T3, T4, T8 (median 40); acme: T7.
    assert run(reports, "backlog", group_by="tenant") == [
        {
            "tenant": "",
            "open": 3,
            "under_1d": 1,
            "d1_3": 1,
            "d3_7": 0,
            "d7_30": 1,
            "over_30d": 0,
            "median_age_hours": 40.0,
            "oldest_age_hours": 384.0,
            "waiting_review": 1,
        },
        {
            "tenant": "acme",
            "open": 1,
            "under_1d": 0,
            "d1_3": 1,
            "d3_7": 0,
            "d7_30": 0,
            "over_30d": 0,
            "median_age_hours": 57.0,
            "oldest_age_hours": 57.0,
            "waiting_review": 0,
        },
    ]


def test_staff_by_agent_and_group(reports: ReportService) -> None:
    # Resolved in the window, by the last agent: ana T0 24, T1 2, T5 6 (median 6);
    # budi T9 8, reopened once; citra T2 24, escalated; nobody: T6.
    assert run(reports, "staff") == [
        {
            "agent": "ana",
            "resolved": 3,
            "median_hours": 6.0,
            "escalated": 0,
            "share_escalated": 0.0,
            "reopened": 0,
            "share_reopened": 0.0,
        },
        {
            "agent": "budi",
            "resolved": 1,
            "median_hours": 8.0,
            "escalated": 0,
            "share_escalated": 0.0,
            "reopened": 1,
            "share_reopened": 1.0,
        },
        {
            "agent": "citra",
            "resolved": 1,
            "median_hours": 24.0,
            "escalated": 1,
            "share_escalated": 1.0,
            "reopened": 0,
            "share_reopened": 0.0,
        },
        {
            "agent": None,
            "resolved": 1,
            "median_hours": None,
            "escalated": 0,
            "share_escalated": 0.0,
            "reopened": 0,
            "share_reopened": 0.0,
        },
    ]
    # desk: T0 24, T1 2, T9 8 (median 8; T9 reopened → 1/3); infra: T2;
    # no group: T5 6, T6 none (median 6).
    assert run(reports, "staff", group_by="group") == [
        {
            "group": "desk",
            "resolved": 3,
            "median_hours": 8.0,
            "escalated": 0,
            "share_escalated": 0.0,
            "reopened": 1,
            "share_reopened": 0.3333,
        },
        {
            "group": "infra",
            "resolved": 1,
            "median_hours": 24.0,
            "escalated": 1,
            "share_escalated": 1.0,
            "reopened": 0,
            "share_reopened": 0.0,
        },
        {
            "group": None,
            "resolved": 2,
            "median_hours": 6.0,
            "escalated": 0,
            "share_escalated": 0.0,
            "reopened": 0,
            "share_reopened": 0.0,
        },
    ]


def test_automation_by_head(reports: ReportService) -> None:
    # Triaged in the window: T1, T2, T3, T4, each with a category and a tier head.
    # category: auto T1, T3 (2/4); written back T1, T2; staff kept T1's (T5's was never
    #           triaged) → 1 reviewed, 1 kept.
    # tier: auto T1, T3; written back T1, T2; staff corrected T2's (L1 → L2).
    assert run(reports, "automation") == [
        {
            "head": "category",
            "received": 4,
            "auto": 2,
            "share_auto": 0.5,
            "written_back": 2,
            "reviewed": 1,
            "kept": 1,
            "corrected": 0,
            "share_kept": 1.0,
        },
        {
            "head": "tier",
            "received": 4,
            "auto": 2,
            "share_auto": 0.5,
            "written_back": 2,
            "reviewed": 1,
            "kept": 0,
            "corrected": 1,
            "share_kept": 0.0,
        },
    ]


def test_automation_by_head_and_source(reports: ReportService) -> None:
    # api: T1, T3 (both auto; T1 written back); zammad: T2, T4 (none auto; T2 written back).
    assert run(reports, "automation", group_by="head,source") == [
        {
            "head": "category",
            "source": "api",
            "received": 2,
            "auto": 2,
            "share_auto": 1.0,
            "written_back": 1,
            "reviewed": 1,
            "kept": 1,
            "corrected": 0,
            "share_kept": 1.0,
        },
        {
            "head": "category",
            "source": "zammad",
            "received": 2,
            "auto": 0,
            "share_auto": 0.0,
            "written_back": 1,
            "reviewed": 0,
            "kept": 0,
            "corrected": 0,
            "share_kept": None,
        },
        {
            "head": "tier",
            "source": "api",
            "received": 2,
            "auto": 2,
            "share_auto": 1.0,
            "written_back": 1,
            "reviewed": 0,
            "kept": 0,
            "corrected": 0,
            "share_kept": None,
        },
        {
            "head": "tier",
            "source": "zammad",
            "received": 2,
            "auto": 0,
            "share_auto": 0.0,
            "written_back": 1,
            "reviewed": 1,
            "kept": 0,
            "corrected": 1,
            "share_kept": 0.0,
        },
    ]


def test_deflection(reports: ReportService) -> None:
    # Triaged: T1 0.9, T2 0.5, T3 0.85, T4 never searched. At 0.8: T1, T3 of the 3 searched
    # → 0.6667; at 0.86: T1 → 0.3333.
    assert run(reports, "deflection") == [
        {"triaged": 4, "with_match_score": 3, "deflectable": 2, "share_deflectable": 0.6667}
    ]
    assert run(reports, "deflection", threshold=0.86)[0]["share_deflectable"] == 0.3333


def test_a_tenant_sees_only_its_tickets(reports: ReportService) -> None:
    # acme: T7 only, created 2 Nov, open.
    assert run(reports, "volume", bucket="week", tenants=("acme",)) == [
        {"period": "2026-11-02", "new": 1, "resolved": 0, "backlog": 1}
    ]


@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("volume", {"group_by": "colour"}),
        ("automation", {"group_by": "agent"}),
        ("volume", {"group_by": "tier,tier"}),
        ("volume", {"bucket": "year"}),
        ("volume", {"threshold": 1.5}),
    ],
)
def test_bad_queries_are_refused(reports: ReportService, name: str, kw: dict[str, Any]) -> None:
    with pytest.raises(InvalidReportQueryError):
        reports.run(name, ReportQuery(since=SINCE, until=UNTIL, **kw))


def test_since_after_until_and_unknown_report(reports: ReportService) -> None:
    with pytest.raises(InvalidReportQueryError):
        reports.run("volume", ReportQuery(since=UNTIL, until=SINCE))
    with pytest.raises(ReportNotFoundError):
        reports.run("happiness", ReportQuery())


def test_volume_over_a_window_wider_than_the_history(reports: ReportService) -> None:
    # A window covering the whole history (SQLite then scans rather than seeks).
    # October: T8 new and open → backlog 1. November: new T0, T1, T2, T3, T4, T5, T7, T9 = 8;
    # resolved T0, T1, T2, T5, T6, T9 = 6, T6 never created → backlog 1 + 8 - 5 = 4.
    query = ReportQuery(
        since=datetime(2026, 10, 1, tzinfo=UTC),
        until=datetime(2026, 12, 1, tzinfo=UTC),
        bucket="month",
    )
    assert reports.run("volume", query).rows == [
        {"period": "2026-10-01", "new": 1, "resolved": 0, "backlog": 1},
        {"period": "2026-11-01", "new": 8, "resolved": 6, "backlog": 4},
    ]


def test_the_migration_creates_the_tables_the_code_uses(database: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from triage.store.schema import metadata

    with database.engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), metadata)
    mine = [d for d in diffs if "ticket_events" in repr(d) or "ticket_facts" in repr(d)]
    assert mine == []
