"""Prometheus metrics of one app: requests, latency, predictions, abstentions, confidence,
and the drift of the served model's latest predictions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from triage.core.errors import StoreUnavailableError
from triage.service import Classification, DriftReport

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)


class Metrics:
    """A registry of the app's own (so several apps in one process never share counters).

    ``drift``: the served model's drift report, read at each scrape (None: no model).
    """

    def __init__(
        self,
        drift: Callable[[], DriftReport | None] | None = None,
        incidents: Callable[[], tuple[int, int] | None] | None = None,
    ) -> None:
        self.registry = CollectorRegistry()
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        if drift is not None:
            self.registry.register(DriftCollector(drift))
        if incidents is not None:
            self.registry.register(IncidentCollector(incidents))
        self.requests = Counter(
            "triage_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "triage_request_duration_seconds",
            "HTTP request latency by route template and method.",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.predictions = Counter(
            "triage_predictions",
            "Predictions by head, label and decision (auto, suggest, review).",
            ["head", "label", "decision"],
            registry=self.registry,
        )
        self.abstentions = Counter(
            "triage_abstentions",
            "Predictions the model abstained on (decision review), by head.",
            ["head"],
            registry=self.registry,
        )
        self.confidence = Histogram(
            "triage_confidence",
            "Confidence of the answered label, by head.",
            ["head"],
            buckets=_CONFIDENCE_BUCKETS,
            registry=self.registry,
        )
        self.model = Gauge(
            "triage_model_info",
            "The model version being served (value 1).",
            ["version"],
            registry=self.registry,
        )

    def set_model(self, version: str) -> None:
        self.model.clear()
        self.model.labels(version=version).set(1)

    def labelled(self, metric: Counter | Histogram, *values: str) -> Any:
        """``metric.labels(*values)``, kept: prometheus_client checks and locks on every
        ``labels`` call, a dozen times per classification. Never for a metric that is
        cleared (the model gauge): a kept child would outlive it."""
        key = (id(metric), values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    def observe(self, result: Classification) -> None:
        for head, prediction in result.predictions.items():
            decision = prediction.decision.value
            self.labelled(self.predictions, head, prediction.label, decision).inc()
            self.labelled(self.confidence, head).observe(prediction.confidence)
            if prediction.abstained:
                self.labelled(self.abstentions, head).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class DriftCollector(Collector):
    """Drift gauges per head, computed from the window at scrape time (so never stale).

    ``triage_drift_psi`` and ``triage_drift_drifted`` appear only once a head has enough
    predictions for a verdict: an alert on them cannot fire on a nearly empty window.
    """

    def __init__(self, report: Callable[[], DriftReport | None]) -> None:
        self.report = report

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        report = self.report()
        families = self._families()
        psi, drifted, observed, mean, reference = families
        for head, drift in (report.heads if report is not None else {}).items():
            observed.add_metric([head], drift.observed)
            if drift.has_verdict and drift.psi is not None:
                psi.add_metric([head], drift.psi)
                drifted.add_metric([head], float(drift.drifted))
            if drift.mean_confidence is not None:
                mean.add_metric([head], drift.mean_confidence)
            if drift.reference_mean_confidence is not None:
                reference.add_metric([head], drift.reference_mean_confidence)
        return families

    @staticmethod
    def _families() -> list[GaugeMetricFamily]:
        def gauge(name: str, documentation: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, documentation, labels=["head"])

        return [
            gauge(
                "triage_drift_psi",
                "Population stability index of the latest predicted-label shares against "
                "training (only once the head has enough predictions for a verdict).",
            ),
            gauge("triage_drift_drifted", "1 when the head's PSI is above the threshold, else 0."),
            gauge("triage_drift_window_predictions", "Predictions in the head's drift window."),
            gauge("triage_drift_mean_confidence", "Mean confidence of the latest predictions."),
            gauge(
                "triage_drift_reference_mean_confidence",
                "Mean confidence on the training rows, out of fold.",
            ),
        ]


class IncidentCollector(Collector):
    """Open incidents and incidents opened in the last hour, read from the database at each
    scrape (every replica reports the same figures; alert on the max, not the sum)."""

    def __init__(self, counts: Callable[[], tuple[int, int] | None]) -> None:
        self.counts = counts

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        families = self._families()
        try:
            counts = self.counts()
        except StoreUnavailableError:  # a scrape must not fail with the database
            return []
        if counts is None:
            return []
        families[0].add_metric([], counts[0])
        families[1].add_metric([], counts[1])
        return families

    @staticmethod
    def _families() -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily("triage_incidents_open", "Incidents open now (open or confirmed)."),
            GaugeMetricFamily(
                "triage_incidents_opened_last_hour", "Incidents opened in the last hour."
            ),
        ]


class RequestMetrics:
    """ASGI middleware counting requests and timing them by route template (not raw path)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            metrics = self.metrics
            metrics.labelled(metrics.requests, template, method, str(status)).inc()
            elapsed = time.perf_counter() - started
            metrics.labelled(metrics.latency, template, method).observe(elapsed)
