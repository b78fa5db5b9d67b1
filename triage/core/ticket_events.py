"""A ticket's lifecycle as events, and what a ticket's events add up to (its facts).

Events may arrive late, twice or out of order: the facts are always folded again from all of
a ticket's events sorted by time, so a ``resolved`` stored before its ``created`` still gives
the right time to resolve once both are known.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    CREATED = "created"
    TRIAGED = "triaged"  # the model's prediction
    DECIDED = "decided"  # a staff decision on one head (feedback)
    ASSIGNED = "assigned"  # group and/or agent
    ESCALATED = "escalated"  # the tier changed (``tier``: the new one)
    RESOLVED = "resolved"
    REOPENED = "reopened"
    WRITTEN_BACK = "written_back"  # the suggestion was written back to the helpdesk
    UPDATED = "updated"  # priority, category, group or agent changed, nothing else


class Channel(StrEnum):
    WEB = "web"
    EMAIL = "email"
    PHONE = "phone"
    CHAT = "chat"
    API = "api"


# Fields any event may set on its ticket: the latest non-empty value (in event time) holds.
DIMENSIONS = ("channel", "category", "tier", "priority", "group", "agent", "language")


@dataclass(frozen=True)
class TicketEvent:
    """One thing that happened to a ticket. ``id`` makes it idempotent: stored once."""

    id: str
    kind: EventKind
    ticket_id: str
    at: datetime
    tenant: str = ""
    channel: str | None = None
    category: str | None = None
    tier: str | None = None
    priority: str | None = None
    group: str | None = None
    agent: str | None = None
    language: str | None = None
    source: str | None = None  # what saw it: staff, api, job, a webhook source, import
    decision: str | None = None  # triaged: the least certain head's (auto, suggest, review)
    head: str | None = None  # decided: which head staff decided on
    predicted: str | None = None  # decided: the model's label
    final: str | None = None  # decided: the label staff kept or chose
    predictions: Mapping[str, Mapping[str, Any]] | None = None  # triaged: head → label, decision
    match_score: float | None = None  # triaged: the best resolved match's score


@dataclass
class HeadFacts:
    """What happened to one head's prediction of a ticket (for the automation report)."""

    head: str
    predicted: str | None = None
    decision: str | None = None
    source: str | None = None
    triaged_at: datetime | None = None
    written_back: bool = False
    final: str | None = None

    @property
    def kept(self) -> bool | None:
        if self.final is None or self.predicted is None:
            return None
        return self.final == self.predicted


@dataclass
class TicketFacts:
    """A ticket as its events describe it so far."""

    tenant: str
    ticket_id: str
    created_at: datetime | None = None
    resolved_at: datetime | None = None  # the last resolution, while the ticket is resolved
    status: str = "open"
    channel: str | None = None
    category: str | None = None
    tier: str | None = None  # the current tier (the resolving tier once resolved)
    priority: str | None = None
    group: str | None = None
    agent: str | None = None
    language: str | None = None
    first_tier: str | None = None
    first_tier_level: int | None = None
    max_tier_level: int | None = None
    reached_l2: bool = False
    escalations: int = 0
    escalated_at: datetime | None = None  # the first escalation
    reopened: int = 0
    predicted_tier: str | None = None
    decision: str | None = None
    source: str | None = None
    triaged_at: datetime | None = None
    match_score: float | None = None
    reviewed: bool = False  # a staff decision was recorded
    written_back: bool = False
    events: int = 0
    heads: dict[str, HeadFacts] = field(default_factory=dict)

    @property
    def resolve_seconds(self) -> float | None:
        return _seconds(self.created_at, self.resolved_at)

    @property
    def escalate_seconds(self) -> float | None:
        return _seconds(self.created_at, self.escalated_at)


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None or end < start:
        return None  # unknown yet, or inconsistent data: no time rather than a negative one
    return (end - start).total_seconds()


_LEVEL = re.compile(r"(\d+)\s*$")


def tier_level(tier: str | None) -> int | None:
    """L1 → 1, "Tier 2" → 2: the support level a tier label names (None if it names none)."""
    if not tier:
        return None
    found = _LEVEL.search(tier)
    return int(found.group(1)) if found else None


def fold(tenant: str, ticket_id: str, events: Iterable[TicketEvent]) -> TicketFacts:
    """The facts of one ticket from all its events, in any order."""
    facts = TicketFacts(tenant=tenant, ticket_id=ticket_id)
    for event in sorted(events, key=lambda e: (e.at, e.id)):
        facts.events += 1
        _apply(facts, event)
    for head in facts.heads.values():  # a write-back is of the whole suggestion
        head.written_back = facts.written_back
    return facts


def _apply(facts: TicketFacts, event: TicketEvent) -> None:
    kind = event.kind
    if kind is EventKind.CREATED:
        facts.created_at = facts.created_at or event.at
        facts.source = facts.source or event.source
    tier_before = facts.tier
    for name in DIMENSIONS:
        value = getattr(event, name)
        if value:
            setattr(facts, name, value)
    if kind is EventKind.DECIDED and event.head in ("category", "tier") and event.final:
        setattr(facts, event.head, event.final)
    _track_tier(facts, event, tier_before)
    if kind is EventKind.TRIAGED:
        _triaged(facts, event)
    elif kind is EventKind.DECIDED:
        facts.reviewed = True
        _decided(facts, event)
    elif kind is EventKind.WRITTEN_BACK:
        facts.written_back = True
    elif kind is EventKind.RESOLVED:
        facts.status, facts.resolved_at = "resolved", event.at
    elif kind is EventKind.REOPENED and facts.status == "resolved":
        # A helpdesk's "open" status of a ticket never solved reopens nothing.
        facts.status, facts.resolved_at = "open", None
        facts.reopened += 1


def _track_tier(facts: TicketFacts, event: TicketEvent, before: str | None) -> None:
    if facts.tier is None:
        return
    if facts.first_tier is None:
        facts.first_tier, facts.first_tier_level = facts.tier, tier_level(facts.tier)
    level = tier_level(facts.tier)
    if level is not None:
        facts.max_tier_level = max(facts.max_tier_level or level, level)
        facts.reached_l2 = facts.reached_l2 or level == 2
    if event.kind is EventKind.ESCALATED and before is not None and before != facts.tier:
        facts.escalations += 1
        facts.escalated_at = facts.escalated_at or event.at


def _triaged(facts: TicketFacts, event: TicketEvent) -> None:
    if facts.triaged_at is not None:
        return  # the first prediction is the one staff and the helpdesk acted on
    facts.triaged_at, facts.decision = event.at, event.decision
    facts.source = facts.source or event.source
    facts.match_score = event.match_score
    for head, prediction in (event.predictions or {}).items():
        label = prediction.get("label")
        facts.heads[head] = HeadFacts(
            head=head,
            predicted=None if label is None else str(label),
            decision=prediction.get("decision"),
            source=event.source,
            triaged_at=event.at,
        )
        if head == "tier" and label is not None:
            facts.predicted_tier = str(label)


def _decided(facts: TicketFacts, event: TicketEvent) -> None:
    if not event.head:
        return
    head = facts.heads.setdefault(
        event.head, HeadFacts(head=event.head, predicted=event.predicted, source=event.source)
    )
    head.predicted = head.predicted or event.predicted
    head.final = event.final


def utc(value: datetime) -> datetime:
    """An aware time in UTC (a naive one is taken as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
