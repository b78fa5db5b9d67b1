"""The served model."""

from __future__ import annotations

from fastapi import APIRouter

from triage.api.deps import ServiceDep
from triage.api.schemas import ModelInfoOut

router = APIRouter(prefix="/v1", tags=["model"])


@router.get("/model", response_model=ModelInfoOut)
def model_info(service: ServiceDep) -> ModelInfoOut:
    """Active model version, labels per head and held-out metrics."""
    return ModelInfoOut.model_validate(service.model_info())
