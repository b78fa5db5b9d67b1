"""Classifying tickets with a loaded model: validation, model text, heads and decisions."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from triage.core.artifacts import load_model, resolve_model_dir
from triage.core.decisions import HeadPolicy, build_policy
from triage.core.drift import DriftConfig, PredictionWindow, compare, min_predictions_for
from triage.core.errors import InvalidTicketError, TicketTooLargeError, TriageError
from triage.core.language import DEFAULT_LANGUAGES, language_detector
from triage.core.model import TriageModel
from triage.core.promises import Evidence, head_promise
from triage.core.redaction import redact_pii
from triage.core.registry import served_model_dir
from triage.core.routing import AgentRoster, HeadView, RouteInput, RoutingTable
from triage.core.text import ticket_text
from triage.service.results import Classification, DriftReport, HeadResult, Ticket
from triage.settings import Settings

log = logging.getLogger(__name__)


def policies_from_settings(model: TriageModel, settings: Settings) -> dict[str, HeadPolicy]:
    """Each head's thresholds for the configured target precision and overrides."""
    return {
        head: build_policy(
            model.curves.get(head, {}),
            target_precision=settings.head_target_precision.get(head, settings.target_precision),
            floor=settings.suggest_floor,
            overrides=settings.thresholds.get(head),
        )
        for head in model.heads
    }


def route_input(
    heads: Mapping[str, HeadResult],
    text: str,
    language: str | None,
    ticket: Ticket,
    tenant: str | None = None,
) -> RouteInput:
    """What the routing table reads of a classified ticket."""
    metadata = ticket.metadata
    channel = metadata.get("channel")
    return RouteInput(
        heads={h: HeadView(r.label, r.confidence, r.decision) for h, r in heads.items()},
        text=text,
        language=language,
        tenant=tenant if tenant is not None else str(metadata.get("tenant") or ""),
        channel=None if channel is None else str(channel),
    )


class TriageService:
    """Validates tickets, turns them into model text, classifies and decides.

    It also keeps every head's latest answers (``drift``) to compare them with the
    training distribution; a new service, as for each model swap, starts an empty window.
    """

    def __init__(
        self,
        model: TriageModel,
        *,
        policies: Mapping[str, HeadPolicy] | None = None,
        max_text_chars: int = 20_000,
        languages: Sequence[str] = DEFAULT_LANGUAGES,
        redact_pii: bool = False,
        cache_dir: Path | None = None,
        drift: DriftConfig | None = None,
    ) -> None:
        self.model = model
        # Without policies: the documented defaults (target 0.95, floor 0.5), never the
        # environment, so a library caller gets the same decisions on every machine.
        self.policies = dict(policies or policies_from_settings(model, Settings.model_construct()))
        self.max_text_chars = max_text_chars
        self.redact_pii = redact_pii  # in the (debug) log only: the model sees the original
        # Loaded here, with the model, so that the first request does not wait for it.
        self.language_detector = language_detector(languages, cache_dir=cache_dir)
        self.drift = drift or DriftConfig()
        # Replaced whole (one assignment) by the routing use cases: requests read one table.
        self.routing = RoutingTable()
        self.agents = AgentRoster()  # replaced whole by the agents use case, as the table
        self.window = PredictionWindow({h: model.labels(h) for h in model.heads}, self.drift.window)
        for head in model.heads:
            needed = min_predictions_for(
                len(model.labels(head)), self.drift.threshold, self.drift.min_predictions
            )
            if needed > self.drift.window:
                log.warning(
                    "drift of head %r needs %d predictions for a verdict but the window keeps "
                    "%d: raise TRIAGE_DRIFT_WINDOW",
                    head,
                    needed,
                    self.drift.window,
                )

    @classmethod
    def from_settings(cls, settings: Settings, version: str | None = None) -> TriageService:
        """Load ``version``, else the pinned, active or newest artifact, verifying it first."""
        models_dir = Path(settings.models_dir)
        path = (
            resolve_model_dir(models_dir, version)
            if version
            else served_model_dir(models_dir, settings.model_version)
        )
        model = load_model(
            path,
            embedder_path=settings.embedder_path,
            threads=settings.threads,
            cache_dir=settings.cache_dir,
        )
        return cls(
            model,
            policies=policies_from_settings(model, settings),
            max_text_chars=settings.max_text_chars,
            languages=settings.languages,
            redact_pii=settings.redact_pii,
            cache_dir=settings.cache_dir,
            drift=settings.drift(),
        )

    def _text(self, ticket: Ticket) -> str:
        size = len(ticket.subject or "") + len(ticket.body or "")
        if size > self.max_text_chars:
            raise TicketTooLargeError(
                f"subject and body are {size} characters long; the limit is {self.max_text_chars}",
                details={"limit": self.max_text_chars, "size": size},
            )
        text = ticket_text([ticket.subject, ticket.body])
        if not text:
            raise InvalidTicketError("a ticket needs a non-empty subject or body")
        return text

    def classify(self, ticket: Ticket, *, explain: bool = False) -> Classification:
        """Classify one ticket by every head of the model."""
        return self.classify_many([ticket], explain=explain)[0]

    def texts(self, tickets: Sequence[Ticket]) -> list[str]:
        """The model text of each ticket; an invalid ticket raises, named by its position."""
        texts = []
        for index, ticket in enumerate(tickets):
            try:
                texts.append(self._text(ticket))
            except (InvalidTicketError, TicketTooLargeError) as exc:
                if len(tickets) == 1:
                    raise
                raise type(exc)(f"tickets[{index}]: {exc.message}", details=exc.details) from exc
        return texts

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of model texts, by the model's own embedder."""
        return self.model.embedder.encode(texts)

    def classify_many(
        self,
        tickets: Sequence[Ticket],
        *,
        explain: bool = False,
        embeddings: np.ndarray | None = None,
        observe: bool = True,
        tenant: str | None = None,
    ) -> list[Classification]:
        """Classify tickets in one batch (one embedding pass, or none if ``embeddings``), and
        route each by the served routing table.

        ``observe``: count the answers in the drift window; False for a ticket classified
        again (shown once more), which would otherwise count twice. ``tenant``: the caller's,
        for routing (None: a ticket's ``metadata.tenant``, else the default tenant).
        """
        texts = self.texts(tickets)
        if log.isEnabledFor(logging.DEBUG):  # ticket text is logged at DEBUG only
            for ticket, text in zip(tickets, texts, strict=True):
                logged = redact_pii(text) if self.redact_pii else text
                log.debug("classifying ticket %s: %r", ticket.id, logged)
        results = []
        predicted = self.model.predict(texts, explain=explain, embeddings=embeddings)
        if observe:
            # The model's own top label (not a fallback to a parent): what the reference counts.
            self.window.observe(
                [{head: (p.label, p.confidence) for head, p in row.items()} for row in predicted]
            )
        languages = self.language_detector.detect_many(texts)
        routing, agents = self.routing, self.agents
        for ticket, text, predictions, language in zip(
            tickets, texts, predicted, languages, strict=True
        ):
            heads = {}
            for head, p in predictions.items():
                outcome = self.policies[head].decide(
                    p.label, p.confidence, p.distribution, allow_auto=p.auto_blocked is None
                )
                heads[head] = HeadResult(
                    label=outcome.label,
                    confidence=outcome.confidence,
                    threshold=outcome.threshold,
                    decision=outcome.decision,
                    distribution=p.distribution,
                    explanation=p.explanation,
                    fallback=outcome.fallback,
                    auto_blocked=p.auto_blocked,
                )
            inputs = route_input(heads, text, language.code if language else None, ticket, tenant)
            route = agents.assign(routing.route(inputs), inputs.tenant)
            results.append(Classification(ticket.id, self.model.version, heads, language, route))
        return results

    def classify_each(
        self, tickets: Sequence[Ticket], *, explain: bool = False
    ) -> list[Classification | TriageError]:
        """Like ``classify_many``, but an invalid ticket yields its error in its place."""
        return [
            outcome if isinstance(outcome, TriageError) else outcome[0]
            for outcome in self.classify_each_embedded(tickets, explain=explain)
        ]

    def classify_each_embedded(
        self, tickets: Sequence[Ticket], *, explain: bool = False
    ) -> list[tuple[Classification, np.ndarray] | TriageError]:
        """``classify_each`` with each valid ticket's embedding beside its classification
        (for what reuses it, such as incident detection)."""
        outcomes: list[TriageError | None] = []
        valid: list[Ticket] = []
        for ticket in tickets:
            try:
                self._text(ticket)
            except (InvalidTicketError, TicketTooLargeError) as exc:
                outcomes.append(exc)
            else:
                outcomes.append(None)
                valid.append(ticket)
        if not valid:
            return [outcome for outcome in outcomes if outcome is not None]
        vectors = self.embed(self.texts(valid))
        classified = iter(
            zip(
                self.classify_many(valid, explain=explain, embeddings=vectors), vectors, strict=True
            )
        )
        return [next(classified) if outcome is None else outcome for outcome in outcomes]

    def drift_report(self) -> DriftReport:
        """Every head's window compared with the training distribution stored in the model."""
        references = self.model.drift_reference
        counts = self.window.snapshot()
        return DriftReport(
            model_version=self.model.version,
            has_reference=references is not None,
            heads={
                head: compare(
                    counts[head], None if references is None else references.get(head), self.drift
                )
                for head in self.model.heads
            },
        )

    def _promise(self, head: str) -> dict[str, Any] | None:
        """What ``head`` can promise under the served thresholds (None: an artifact trained
        before training recorded its evidence rules)."""
        evidence = self.model.manifest.get("evidence", {}).get(head)
        if evidence is None:
            return None
        return head_promise(
            self.model.labels(head),
            self.model.curves.get(head, {}),
            self.policies[head].thresholds,
            Evidence.from_dict(evidence),
            self.policies[head].target_precision,
        ).to_dict()

    def model_info(self) -> dict[str, Any]:
        """What a caller may know about the served model: version, labels, held-out metrics."""
        manifest = self.model.manifest
        return {
            "version": self.model.version,
            "created_at": manifest.get("created_at"),
            "embedder": {k: v for k, v in self.model.embedder.identity.items() if k != "source"},
            "heads": {
                name: {
                    "labels": self.model.labels(name),
                    "metrics": manifest.get("summary", {}).get(name, {}),
                    "thresholds": self.policies[name].thresholds,
                    "suggest_floor": self.policies[name].floor,
                    "promise": self._promise(name),
                    **self._auto_info(name),
                }
                for name in self.model.heads
            },
            "auto_gate": None if self.model.gate is None else self.model.gate.to_dict(),
            "text_columns": manifest.get("text_columns", []),
            "training_data": manifest.get("training_data", {}),
            "libraries": manifest.get("libraries", {}),
        }

    def _auto_info(self, head: str) -> dict[str, Any]:
        """The head's target precision, whether it is guaranteed, and the classes never auto."""
        curves = self.model.curves.get(head, {})
        target = self.policies[head].target_precision
        no_auto = {}
        if target is not None:
            for label, curve in curves.items():
                if self.policies[head].thresholds.get(label) is None:
                    no_auto[label] = curve.why_no_threshold(target) or "threshold set to none"
        return {
            "target_precision": target,
            "guaranteed": bool(curves) and all(c.guaranteed or c.excluded for c in curves.values()),
            "no_auto": no_auto,
        }
