"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from triage.api import openapi
from triage.api.clean_request import CleanRoute
from triage.api.errors import error_response
from triage.api.schemas import StatusOut

router = APIRouter(route_class=CleanRoute, tags=["health"])


@router.get("/healthz", response_model=StatusOut)
def healthz(request: Request) -> StatusOut:
    """The process is up, and the model version it serves (null while none is loaded)."""
    service = getattr(request.app.state, "service", None)
    return StatusOut(status="ok", model_version=None if service is None else service.model.version)


@router.get(
    "/readyz",
    response_model=StatusOut,
    responses={503: openapi.error_response("not_ready", "no model loaded yet")},
)
def readyz(request: Request) -> StatusOut | JSONResponse:
    """A model is loaded and requests can be classified."""
    service = getattr(request.app.state, "service", None)
    if service is None:
        return error_response(503, "not_ready", "no model loaded yet")
    return StatusOut(status="ready", model_version=service.model.version)
