"""Prometheus metrics of one app: requests, latency, predictions, abstentions, confidence."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from triage.service import Classification

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)


class Metrics:
    """A registry of the app's own (so several apps in one process never share counters)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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

    def observe(self, result: Classification) -> None:
        for head, prediction in result.predictions.items():
            self.predictions.labels(head, prediction.label, prediction.decision.value).inc()
            self.confidence.labels(head).observe(prediction.confidence)
            if prediction.abstained:
                self.abstentions.labels(head).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


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
            self.metrics.requests.labels(template, method, str(status)).inc()
            self.metrics.latency.labels(template, method).observe(time.perf_counter() - started)
