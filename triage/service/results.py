"""What the service answers with: tickets in, classifications and drift reports out.

Plain dataclasses, so that every edge (HTTP, CLI, jobs, webhooks) converts them once, from
one shape: :func:`classification_dict` is the JSON form ``POST /v1/classify`` answers with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from triage.core.decisions import Decision
from triage.core.drift import HeadDrift
from triage.core.explain import Explanation
from triage.core.language import LanguageGuess
from triage.core.routing import Route


@dataclass(frozen=True)
class Ticket:
    """A ticket as it arrives: subject and/or body, an optional id and free metadata."""

    subject: str | None = None
    body: str | None = None
    id: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None  # when the requester wrote it (aware), if known

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Ticket:
        """A ticket from its JSON form (a queued job's or a webhook's): absent fields are None."""
        return cls(
            subject=data.get("subject"),
            body=data.get("body"),
            id=data.get("id"),
            metadata=data.get("metadata") or {},
            created_at=_aware(data.get("created_at")),
        )


def _aware(value: Any) -> datetime | None:
    """An ISO 8601 time with an offset; anything else is unknown."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


@dataclass(frozen=True)
class HeadResult:
    """One head's answer with the decision its operating point implies."""

    label: str
    confidence: float
    threshold: float | None
    decision: Decision
    distribution: dict[str, float]
    explanation: Explanation | None = None
    fallback: bool = False
    auto_blocked: str | None = None  # why the auto gate refused an automatic decision

    @property
    def abstained(self) -> bool:
        """The model declines to answer: a human triages this head."""
        return self.decision is Decision.REVIEW


@dataclass(frozen=True)
class Classification:
    """Every head's result for one ticket, and the model that made them."""

    ticket_id: str | None
    model_version: str
    predictions: dict[str, HeadResult]
    language: LanguageGuess | None = None
    route: Route | None = None


@dataclass(frozen=True)
class DriftReport:
    """The served model's recent answers against its training distribution, per head."""

    model_version: str
    has_reference: bool
    heads: dict[str, HeadDrift]

    @property
    def drifted(self) -> bool:
        return any(head.drifted for head in self.heads.values())


def classification_dict(result: Classification) -> dict[str, Any]:
    """A classification as plain JSON data, the shape ``POST /v1/classify`` answers with."""
    predictions: dict[str, Any] = {}
    for head, p in result.predictions.items():
        explanation = None
        if p.explanation is not None:
            explanation = {
                "terms": [{"term": t.term, "weight": t.weight} for t in p.explanation.terms],
                "blocks": p.explanation.blocks,
                "neighbours": [
                    {"id": n.id, "label": n.labels[head], "similarity": n.similarity}
                    for n in p.explanation.neighbours
                ],
            }
        predictions[head] = {
            "label": p.label,
            "confidence": p.confidence,
            "threshold": p.threshold,
            "decision": p.decision.value,
            "abstained": p.abstained,
            "fallback": p.fallback,
            "auto_blocked": p.auto_blocked,
            "distribution": p.distribution,
            "explanation": explanation,
        }
    language = result.language
    route = result.route
    return {
        "id": result.ticket_id,
        "model_version": result.model_version,
        "predictions": predictions,
        "language": None
        if language is None
        else {"code": language.code, "confidence": language.confidence, "mixed": language.mixed},
        "route": None if route is None else route_dict(route),
    }


def route_dict(route: Route) -> dict[str, Any]:
    """A route as plain JSON data."""
    return {
        "group": route.group,
        "queue": route.queue,
        "skills": list(route.skills),
        "source": route.source.value,
        "rule_id": route.rule_id,
        "decision": route.decision.value,
        "why": route.why,
        "agent": None
        if route.agent is None
        else {
            "id": route.agent.agent_id,
            "name": route.agent.name,
            "open_tickets": route.agent.open_tickets,
            "why": route.agent.why,
        },
    }
