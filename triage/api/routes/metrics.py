"""Prometheus exposition of the app's metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from triage.api.deps import MetricsDep, require_scope
from triage.api.schemas import ErrorOut
from triage.auth import Scope

router = APIRouter(
    tags=["metrics"],
    dependencies=[Depends(require_scope(Scope.ADMIN))],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "The Prometheus text exposition format.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
def metrics(collected: MetricsDep) -> Response:
    """Prometheus metrics: requests, latency, predictions, abstentions, confidence, model."""
    return Response(collected.render(), media_type=CONTENT_TYPE_LATEST)
