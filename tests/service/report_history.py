"""A small hand-written helpdesk history, whose every report figure is worked out by hand in
tests/service/test_reports.py. Times are UTC, in November 2026 (2 November is a Monday)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from triage.core.ticket_events import EventKind, TicketEvent

K = EventKind


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def ev(eid: str, kind: EventKind, ticket: str, when: datetime, **kw: Any) -> TicketEvent:
    return TicketEvent(id=eid, kind=kind, ticket_id=ticket, at=when, **kw)


def heads(category: tuple[str, str], tier: tuple[str, str]) -> dict[str, dict[str, str]]:
    return {
        "category": {"label": category[0], "decision": category[1]},
        "tier": {"label": tier[0], "decision": tier[1]},
    }


SINCE, UNTIL = at(2, 0), at(5, 0)

# T0  created 1 Nov 10:00 (before the window), L1, resolved 2 Nov 10:00: 24 h.
# T1  created 2 Nov 09:00, L1, triaged auto (api, match 0.9), written back, staff kept the
#     category, resolved 11:00: 2 h.
# T2  created 2 Nov 12:00, L1 (budi), triaged review (zammad, match 0.5), escalated to L2
#     (citra, infra) at 18:00: 6 h to escalate; staff corrected the tier L1 → L2; written
#     back; resolved 3 Nov 12:00: 24 h.
# T3  created 3 Nov 08:00 at L2, triaged auto (api, match 0.85), escalated to L3 at 10:00
#     (2 h), resolved 4 Nov 08:00 and reopened at 09:00: open at the end.
# T4  created 4 Nov 06:00, L1, triaged review (zammad, no match score), no staff decision:
#     open and waiting for review.
# T5  resolved 3 Nov 20:00, sent BEFORE its created event (3 Nov 14:00): 6 h; staff kept the
#     category (never triaged).
# T6  resolved 4 Nov 10:00, never created as far as triage knows (no time to resolve).
# T7  tenant acme, created 2 Nov 15:00, L1, open.
# T8  created 20 Oct 00:00, L1, open (16 days old at the end).
# T9  created 2 Nov 08:00, L1 (budi, desk), resolved 10:00, reopened 12:00, resolved 16:00:
#     8 h from creation to the final resolution.
HISTORY: list[TicketEvent] = [
    ev(
        "t0c",
        K.CREATED,
        "T0",
        at(1, 10),
        tier="L1",
        category="network",
        channel="email",
        agent="ana",
        group="desk",
    ),
    ev("t0r", K.RESOLVED, "T0", at(2, 10)),
    ev(
        "t1c",
        K.CREATED,
        "T1",
        at(2, 9),
        tier="L1",
        category="accounts",
        channel="web",
        agent="ana",
        group="desk",
    ),
    ev(
        "t1t",
        K.TRIAGED,
        "T1",
        at(2, 9, 1),
        source="api",
        decision="auto",
        match_score=0.9,
        predictions=heads(("accounts", "auto"), ("L1", "auto")),
    ),
    ev("t1w", K.WRITTEN_BACK, "T1", at(2, 9, 2), source="api"),
    ev(
        "t1d",
        K.DECIDED,
        "T1",
        at(2, 9, 30),
        head="category",
        predicted="accounts",
        final="accounts",
        source="api",
    ),
    ev("t1r", K.RESOLVED, "T1", at(2, 11)),
    ev(
        "t2c",
        K.CREATED,
        "T2",
        at(2, 12),
        tier="L1",
        category="network",
        channel="phone",
        agent="budi",
        group="desk",
    ),
    ev(
        "t2t",
        K.TRIAGED,
        "T2",
        at(2, 12, 1),
        source="zammad",
        decision="review",
        match_score=0.5,
        predictions=heads(("network", "suggest"), ("L1", "review")),
    ),
    ev("t2w", K.WRITTEN_BACK, "T2", at(2, 12, 2), source="zammad"),
    ev("t2e", K.ESCALATED, "T2", at(2, 18), tier="L2", agent="citra", group="infra"),
    ev("t2d", K.DECIDED, "T2", at(2, 18, 30), head="tier", predicted="L1", final="L2", source="ui"),
    ev("t2r", K.RESOLVED, "T2", at(3, 12)),
    ev(
        "t3c",
        K.CREATED,
        "T3",
        at(3, 8),
        tier="L2",
        category="hardware",
        channel="chat",
        agent="citra",
        group="infra",
    ),
    ev(
        "t3t",
        K.TRIAGED,
        "T3",
        at(3, 8, 1),
        source="api",
        decision="auto",
        match_score=0.85,
        predictions=heads(("hardware", "auto"), ("L2", "auto")),
    ),
    ev("t3e", K.ESCALATED, "T3", at(3, 10), tier="L3"),
    ev("t3r", K.RESOLVED, "T3", at(4, 8)),
    ev("t3o", K.REOPENED, "T3", at(4, 9)),
    ev("t4c", K.CREATED, "T4", at(4, 6), tier="L1", category="accounts", channel="email"),
    ev(
        "t4t",
        K.TRIAGED,
        "T4",
        at(4, 6, 1),
        source="zammad",
        decision="review",
        predictions=heads(("accounts", "review"), ("L1", "suggest")),
    ),
    ev("t6r", K.RESOLVED, "T6", at(4, 10), tier="L1"),
    ev(
        "t7c",
        K.CREATED,
        "T7",
        at(2, 15),
        tenant="acme",
        tier="L1",
        category="network",
        channel="email",
    ),
    ev(
        "t8c", K.CREATED, "T8", at(20, 0, month=10), tier="L1", category="accounts", channel="email"
    ),
    ev(
        "t9c",
        K.CREATED,
        "T9",
        at(2, 8),
        tier="L1",
        category="accounts",
        channel="web",
        agent="budi",
        group="desk",
    ),
    ev("t9r1", K.RESOLVED, "T9", at(2, 10)),
    ev("t9o", K.REOPENED, "T9", at(2, 12)),
    ev("t9r2", K.RESOLVED, "T9", at(2, 16)),
]
# Sent in a second batch, after its ticket's resolution is stored.
T5_RESOLVED = ev("t5r", K.RESOLVED, "T5", at(3, 20))
T5_LATE = [
    ev(
        "t5c", K.CREATED, "T5", at(3, 14), tier="L1", category="network", channel="web", agent="ana"
    ),
    ev(
        "t5d",
        K.DECIDED,
        "T5",
        at(3, 21),
        head="category",
        predicted="network",
        final="network",
        source="ui",
    ),
]
