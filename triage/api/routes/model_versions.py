"""Saved model versions: list, inspect, and activate one without a failed request."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from triage.api.clean_request import CleanRoute
from triage.api.deps import LifecycleDep, ServiceDep, SettingsDep, require_scope
from triage.api.openapi import error_response
from triage.api.schemas import (
    MODEL_SUMMARY_EXAMPLE,
    MODEL_VERSION_EXAMPLE,
    ErrorOut,
    ModelDetailOut,
    ModelSummaryOut,
    StatusOut,
)
from triage.core.artifacts import read_manifest, read_metrics, resolve_model_dir
from triage.core.auth import Scope
from triage.core.registry import summaries

router = APIRouter(
    route_class=CleanRoute,
    prefix="/v1/models",
    tags=["models"],
    responses={
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        404: error_response(
            "model_not_found",
            "model version '20261128-093000-3f2a9c1e' not found in /srv/triage/models",
        ),
    },
)
Version = Annotated[str, Path(examples=[MODEL_VERSION_EXAMPLE])]


@router.get(
    "",
    response_model=list[ModelSummaryOut],
    dependencies=[Depends(require_scope(Scope.CLASSIFY))],
    responses={200: {"content": {"application/json": {"example": [MODEL_SUMMARY_EXAMPLE]}}}},
)
def list_models(settings: SettingsDep, service: ServiceDep) -> list[dict[str, Any]]:
    """Saved model versions, newest first, with held-out scores and which one is served."""
    return summaries(settings.models_dir, served=service.model.version)


@router.get(
    "/{version}",
    response_model=ModelDetailOut,
    dependencies=[Depends(require_scope(Scope.CLASSIFY))],
)
def get_model(version: Version, settings: SettingsDep) -> dict[str, Any]:
    """One version's manifest (checksums verified) and full evaluation report."""
    path = resolve_model_dir(settings.models_dir, version)
    manifest = read_manifest(path)
    metrics = read_metrics(path, manifest)
    return {"manifest": manifest, "metrics": metrics}


@router.post(
    "/{version}/activate",
    response_model=StatusOut,
    dependencies=[Depends(require_scope(Scope.ADMIN))],
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {"status": "active", "model_version": MODEL_VERSION_EXAMPLE}
                }
            }
        },
        422: error_response(
            "artifact_invalid",
            "/srv/triage/models/20261128-093000-3f2a9c1e/heads/category.joblib does not match "
            "its checksum in /srv/triage/models/20261128-093000-3f2a9c1e/manifest.json: the file "
            "is corrupt or was modified; retrain or restore the artifact",
        ),
    },
)
def activate(version: Version, lifecycle: LifecycleDep) -> StatusOut:
    """Serve another version: loaded and verified first, then swapped in one step."""
    service = lifecycle.activate(version)
    return StatusOut(status="active", model_version=service.model.version)
