"""The served model."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from triage.api.clean_request import CleanRoute
from triage.api.deps import ServiceDep, require_scope
from triage.api.schemas import ErrorOut, ModelInfoOut
from triage.core.auth import Scope

router = APIRouter(
    route_class=CleanRoute,
    prefix="/v1",
    tags=["model"],
    dependencies=[Depends(require_scope(Scope.CLASSIFY))],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
)


@router.get("/model", response_model=ModelInfoOut)
def model_info(service: ServiceDep) -> ModelInfoOut:
    """Active model version, labels per head and held-out metrics."""
    return ModelInfoOut.model_validate(service.model_info())
