"""What the staff page's templates show, made from the service's dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from triage.api.staff.chart import Chart, line_chart
from triage.api.staff.i18n import Translator, age, head_title
from triage.core.errors import StoreUnavailableError
from triage.service import Classification, TriageService
from triage.service.incidents import IncidentTracker
from triage.service.live_quality import DayQuality
from triage.service.live_quality import HeadWeek as HeadWeekQuality
from triage.similar.results import SimilarResult


def heads_view(
    classification: Classification, service: TriageService, t: Translator
) -> list[dict[str, Any]]:
    """Each head's answer, decision and strongest terms, with the labels staff may choose."""
    heads = []
    for name, result in classification.predictions.items():
        terms = result.explanation.terms if result.explanation else []
        heads.append(
            {
                "name": name,
                "title": head_title(t, name),
                "label": result.label,
                "confidence": result.confidence,
                "threshold": result.threshold,
                "decision": str(result.decision),
                "fallback": result.fallback,
                "auto_blocked": result.auto_blocked,
                "terms": [term.term for term in terms if term.weight > 0][:6],
                "labels": service.model.labels(name),
            }
        )
    return heads


def similar_view(
    result: SimilarResult, *, internal: bool, now: datetime, t: Translator
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Similar resolved tickets (internal resolutions hidden unless ``internal``) and likely
    duplicates."""
    similar = []
    for match in result.similar:
        record = match.ticket.record
        hidden = record.hides_resolution_from(internal=internal)
        similar.append(
            {
                "id": record.ticket_id,
                "score": match.score,
                "band": similarity_band(match.score),
                "subject": record.subject or record.ticket_id,
                "resolution": None if hidden else record.resolution,
                "hidden": hidden,
                "category": record.category,
                "tier": record.tier,
                "age": age(record.resolved_at, now, t),
                "resolved_at": record.resolved_at,
            }
        )
    duplicates = [
        {
            "id": m.ticket.record.ticket_id,
            "score": m.score,
            "subject": m.ticket.record.subject or m.ticket.record.ticket_id,
            "age": age(m.ticket.created_at, now, t),
        }
        for m in result.duplicates
    ]
    return similar, duplicates


# Cosine similarity in words, from the highest band down (the page's hint says the same).
SIMILARITY_BANDS = ((0.90, "same"), (0.75, "close"), (0.60, "related"))


def similarity_band(score: float) -> str:
    """A similarity score as one of the page's words: same, close, related, loose."""
    return next((band for floor, band in SIMILARITY_BANDS if score >= floor), "loose")


@dataclass(frozen=True)
class HeadWeek:
    """One head's live quality as the queue page shows it: titled, with its chart."""

    head: str
    title: str
    feedback: int
    precision: float | None
    coverage: float | None
    days: list[DayQuality]
    chart: Chart


def week_view(weeks: list[HeadWeekQuality], t: Translator) -> list[HeadWeek]:
    return [
        HeadWeek(
            head=w.head,
            title=head_title(t, w.head),
            feedback=w.feedback,
            precision=w.precision,
            coverage=w.coverage,
            days=w.days,
            chart=line_chart(w.days),
        )
        for w in weeks
    ]


@dataclass(frozen=True)
class IncidentRow:
    """An open incident as the queue's panel shows it."""

    id: int
    size: int
    growth: int
    terms: str
    category: str | None
    parent: str | None
    since: str
    confirmed: bool


def incident_view(
    incidents: IncidentTracker | None, now: datetime, t: Translator
) -> list[IncidentRow] | None:
    """The open incidents, most recently seen first (None: detection is off or the database
    did not answer; the queue shows without its panel)."""
    if incidents is None:
        return None
    try:
        found = incidents.recent(status=["open", "confirmed"], limit=5)
    except StoreUnavailableError:
        return None
    return [
        IncidentRow(
            id=i.id,
            size=i.size,
            growth=i.growth_per_10min,
            terms=", ".join(dict.fromkeys([*i.terms.get("en", []), *i.terms.get("id", [])])),
            category=i.category,
            parent=i.parent_ticket_id,
            since=age(i.first_seen, now, t),
            confirmed=i.confirmed,
        )
        for i in found
    ]
