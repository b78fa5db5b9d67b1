"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_TICKET_EXAMPLE: dict[str, Any] = {
    "id": "INC-1042",
    "subject": "Printer on 3rd floor jams",
    "body": "Every job since this morning stops with a paper jam.",
}

MODEL_VERSION_EXAMPLE = "20261128-093000-3f2a9c1e"
CLASSIFICATION_EXAMPLE: dict[str, Any] = {
    "id": "INC-1042",
    "model_version": MODEL_VERSION_EXAMPLE,
    "predictions": {
        "category": {
            "label": "printers",
            "confidence": 0.93,
            "threshold": 0.61,
            "decision": "auto",
            "abstained": False,
            "distribution": {"printers": 0.93, "hardware": 0.05, "other": 0.02},
        },
        "tier": {
            "label": "L1",
            "confidence": 0.71,
            "threshold": 0.83,
            "decision": "suggest",
            "abstained": False,
            "distribution": {"L1": 0.71, "L2": 0.09, "L3": 0.2},
        },
    },
    "language": {"code": "en", "confidence": 0.99, "mixed": False},
    "route": {
        "group": "desk-side",
        "queue": "desk-side-l1",
        "skills": ["printers", "language:en"],
        "source": "rule",
        "rule_id": "printers-l1",
        "decision": "suggest",
        "why": "rule 'printers-l1' matched on an unsure tier",
    },
}

MODEL_SUMMARY_EXAMPLE: dict[str, Any] = {
    "version": MODEL_VERSION_EXAMPLE,
    "created_at": "2026-11-28T09:30:00+00:00",
    "heads": {
        "category": {"accuracy": 0.8712, "macro_f1": 0.8544},
        "tier": {"accuracy": 0.7731, "macro_f1": 0.7402},
    },
    "training_data": "tickets.csv",
    "active": True,
}


class TicketIn(BaseModel):
    """A ticket to classify: a subject and/or a body, an optional id and metadata."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [dict(_TICKET_EXAMPLE)]}
    )

    id: str | None = Field(None, max_length=200, description="The helpdesk's ticket id.")
    subject: str | None = Field(None, description="Subject line.")
    body: str | None = Field(None, description="Ticket text; HTML is reduced to plain text.")
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Free key/value data, echoed nowhere, stored nowhere."
    )
    explain: bool = Field(
        False,
        description="Also return, per head, the words and nearest training tickets behind it.",
    )

    @model_validator(mode="after")
    def _has_text(self) -> TicketIn:
        if not (self.subject or "").strip() and not (self.body or "").strip():
            raise ValueError("a ticket needs a non-empty 'subject' or 'body'")
        return self


class TermOut(BaseModel):
    term: str
    weight: float = Field(description="Contribution of the word to the label's score.")


class NeighbourOut(BaseModel):
    id: str = Field(description="Id of a labelled training ticket (row number if it had none).")
    label: str = Field(description="Its label for this head.")
    similarity: float = Field(description="Cosine similarity of the embeddings.")


class ExplanationOut(BaseModel):
    """Why the head chose its label."""

    terms: list[TermOut] = Field(description="Words that pushed the label most, strongest first.")
    blocks: dict[str, float] = Field(
        description="The label's score split by feature block (words, chars, embedding, bias)."
    )
    neighbours: list[NeighbourOut] = Field(description="Most similar labelled training tickets.")


class HeadOut(BaseModel):
    """One head's answer: the top label, its calibrated probability, the decision it implies."""

    label: str = Field(description="The most probable label.")
    confidence: float = Field(ge=0.0, le=1.0, description="Calibrated probability of `label`.")
    threshold: float | None = Field(
        description=(
            "Confidence at which `label` is decided automatically (its class's operating "
            "point for the target precision); null when the class has none."
        )
    )
    decision: Literal["auto", "suggest", "review"] = Field(
        description=(
            "auto: confidence >= threshold and the ticket passed the auto gate, act on it; "
            "suggest: below the threshold (or refused by the gate) but above the floor, show "
            "it to staff; review: the model abstains, a human triages."
        )
    )
    auto_blocked: str | None = Field(
        None,
        description=(
            "Why the ticket may not be decided automatically by any head, in plain words: "
            "too little content (too few informative words), or unlike every training "
            "ticket. Null when the auto gate lets it through."
        ),
    )
    abstained: bool = Field(description="True when decision is 'review'.")
    fallback: bool = Field(
        False,
        description=(
            "True when `label` is the parent of the most probable label (e.g. 'hardware' for "
            "'hardware/printer'): the children split the confidence, the parent cleared its "
            "threshold."
        ),
    )
    distribution: dict[str, float] = Field(description="Probability of every label; sums to 1.")
    explanation: ExplanationOut | None = Field(None, description="Present when explain was set.")


class LanguageOut(BaseModel):
    """The language the ticket is written in, among TRIAGE_LANGUAGES."""

    code: str = Field(description="ISO 639-1 code, e.g. 'id' or 'en'; 'und' for no letters.")
    confidence: float = Field(ge=0.0, le=1.0, description="Probability of `code` (py3langid).")
    mixed: bool = Field(
        description="At least a fifth of the text is in sentences of another language."
    )


class AgentOut(BaseModel):
    """The agent suggested for a route."""

    id: str
    name: str | None = None
    open_tickets: int = Field(description="Their open tickets, as the helpdesk last sent them.")
    why: str = Field(description="Why this agent, in words.")


class RouteOut(BaseModel):
    """Which group and queue take the ticket, chosen by the routing table (GET /v1/routing)."""

    group: str
    queue: str
    skills: list[str] = Field(description="What the ticket needs: the rule's skills, its language.")
    source: Literal["rule", "model", "fallback"] = Field(
        description="A rule matched, the learned group head proposed, or nothing did."
    )
    rule_id: str | None = Field(description="The rule that matched (source 'rule').")
    decision: Literal["auto", "suggest", "review"] = Field(
        description=(
            "Never surer than the heads the rule read (their least certain decision); the "
            "group head's for a model route; 'review' for the fallback."
        )
    )
    why: str = Field(description="Why this route, in words (shown on the staff page).")
    agent: AgentOut | None = Field(
        None,
        description=(
            "The least-loaded available agent of the group with every skill the route needs, "
            "where the helpdesk sent its agents (PUT /v1/agents); a suggestion, never assigned."
        ),
    )


class ClassificationOut(BaseModel):
    """Predictions of every head for one ticket, and its route."""

    id: str | None = Field(None, description="The ticket id, if one was sent.")
    model_version: str
    predictions: dict[str, HeadOut] = Field(
        description="One entry per head, e.g. category, tier, priority, group."
    )
    language: LanguageOut | None = Field(None, description="Detected language of the ticket.")
    route: RouteOut | None = Field(None, description="Where the ticket goes.")

    model_config = ConfigDict(json_schema_extra={"examples": [CLASSIFICATION_EXAMPLE]})


class BatchIn(BaseModel):
    """Several tickets classified in one call (one embedding pass)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"tickets": [dict(_TICKET_EXAMPLE)], "explain": False}]},
    )

    tickets: list[TicketIn] = Field(min_length=1, description="Up to TRIAGE_MAX_BATCH tickets.")
    explain: bool = Field(False, description="Explain every ticket (slower).")


class BatchOut(BaseModel):
    """One result per ticket, in the order sent."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"model_version": MODEL_VERSION_EXAMPLE, "results": [CLASSIFICATION_EXAMPLE]}
            ]
        }
    )

    model_version: str
    results: list[ClassificationOut]


class PromiseOut(BaseModel):
    """What a head can promise under the served thresholds, and what it lacks."""

    auto: bool = Field(description="Whether any class can be decided automatically.")
    auto_classes: list[str] = Field(description="Classes with a threshold.")
    short_of_tickets: dict[str, int] = Field(
        description="Per class without a threshold for want of data: training tickets missing."
    )
    short_of_precision: list[str] = Field(
        description="Classes with enough tickets whose out-of-fold precision misses the target."
    )
    statement: str = Field(description="The same in a sentence, as in the model card.")


class HeadInfo(BaseModel):
    labels: list[str]
    metrics: dict[str, float] = Field(description="Held-out accuracy and macro-F1.")
    thresholds: dict[str, float | None] = Field(
        description="Per class: confidence for an automatic decision (null: never automatic)."
    )
    suggest_floor: float
    target_precision: float | None = Field(
        None, description="The precision each class's `auto` decisions are promised to reach."
    )
    guaranteed: bool = Field(
        False,
        description=(
            "True when the thresholds rest on a 95 % lower confidence bound of the out-of-fold "
            "precision; false for models trained before bounds existed (point estimates)."
        ),
    )
    no_auto: dict[str, str] = Field(
        default_factory=dict,
        description="Classes never decided automatically, each with the reason in plain words.",
    )
    promise: PromiseOut | None = Field(
        None, description="Null for a model trained before training recorded its evidence."
    )


class AutoGateInfo(BaseModel):
    """Limits every ticket must pass before any head may decide it automatically."""

    min_informative_words: int = Field(
        description="Fewest words that are not stop or filler words (English, Indonesian); "
        "when `vocabulary_words` is set, only words at least two training tickets use count."
    )
    min_similarity: float | None = Field(
        description="Lowest cosine similarity to the nearest training ticket; null: not fitted."
    )
    quantile: float = Field(description="Share of training tickets each limit turns away.")
    vocabulary_words: int | None = Field(
        None,
        description="How many words count as content (used by two or more training tickets); "
        "null: every informative word counts (models trained before the vocabulary).",
    )
    max_distance: dict[str, float] = Field(
        default_factory=dict,
        description="Per head: the largest Mahalanobis distance from the training tickets of "
        "the label the head predicts at which it may still decide `auto`; empty for models "
        "trained before the check.",
    )


class ModelInfoOut(BaseModel):
    """The served model: version, embedder, labels per head and held-out metrics."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "version": MODEL_VERSION_EXAMPLE,
                    "created_at": "2026-11-28T09:30:00+00:00",
                    "embedder": {"kind": "minilm", "name": "all-MiniLM-L6-v2", "dim": 384},
                    "heads": {
                        "tier": {
                            "labels": ["L1", "L2", "L3"],
                            "metrics": {"accuracy": 0.7731, "macro_f1": 0.7402},
                            "thresholds": {"L1": 0.83, "L2": None, "L3": 0.9},
                            "suggest_floor": 0.5,
                            "promise": {
                                "auto": True,
                                "auto_classes": ["L1", "L3"],
                                "short_of_tickets": {},
                                "short_of_precision": ["L2"],
                                "statement": "`auto` decisions possible for 2 of 3 classes (L1, "
                                "L3); the others are only suggested; 1 class with enough tickets "
                                "does not reach the target precision 0.95 with 95% confidence "
                                "out of fold at any threshold (L2).",
                            },
                        }
                    },
                    "text_columns": ["subject", "body"],
                    "training_data": {"file": "tickets.csv", "rows": 660, "rows_used": 660},
                    "libraries": {"scikit-learn": "1.9.1", "triage": "0.1.0"},
                }
            ]
        }
    )

    version: str
    created_at: str | None
    embedder: dict[str, Any]
    heads: dict[str, HeadInfo]
    auto_gate: AutoGateInfo | None = Field(
        None, description="The auto gate; null for models trained before it existed."
    )
    text_columns: list[str]
    training_data: dict[str, Any]
    libraries: dict[str, str]


class ModelSummaryOut(BaseModel):
    """One saved model version."""

    model_config = ConfigDict(json_schema_extra={"examples": [MODEL_SUMMARY_EXAMPLE]})

    version: str
    created_at: str | None
    heads: dict[str, dict[str, float]] = Field(description="Held-out accuracy and macro-F1.")
    training_data: str | None
    active: bool = Field(description="The version this service answers with now.")


class ModelDetailOut(BaseModel):
    """One saved model version: its manifest (checksums verified) and evaluation report."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "manifest": {
                        "format": 1,
                        "version": MODEL_VERSION_EXAMPLE,
                        "created_at": "2026-11-28T09:30:00+00:00",
                        "embedder": {"kind": "minilm", "name": "all-MiniLM-L6-v2", "dim": 384},
                        "files": {"heads/tier.joblib": "a536974f7e82ece459a8d7a7c1f52c31"},
                    },
                    "metrics": {"tier": {"accuracy": 0.7731, "macro_f1": 0.7402}},
                }
            ]
        }
    )

    manifest: dict[str, Any] = Field(description="The artifact's manifest.json.")
    metrics: dict[str, Any] = Field(
        description="The artifact's metrics.json: overall, per class and per slice, per head."
    )


class StatusOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "ready", "model_version": MODEL_VERSION_EXAMPLE}]
        }
    )

    status: str
    model_version: str | None = None


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. 'invalid_ticket'.")
    message: str
    details: Any = None


class ErrorOut(BaseModel):
    """The one shape of every error response."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "code": "invalid_ticket",
                        "message": "a ticket needs a non-empty 'subject' or 'body'",
                        "details": None,
                    }
                }
            ]
        }
    )

    error: ErrorBody
