"""Typed dependencies handed to routes; tests swap them with ``app.dependency_overrides``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from triage.errors import ModelNotFoundError
from triage.service import TriageService
from triage.settings import Settings, get_settings


def get_service(request: Request) -> TriageService:
    service: TriageService | None = getattr(request.app.state, "service", None)
    if service is None:
        raise ModelNotFoundError("no model is loaded")
    return service


def get_app_settings(request: Request) -> Settings:
    """The settings the app was built with (the process-wide ones by default)."""
    settings: Settings | None = getattr(request.app.state, "settings", None)
    return settings or get_settings()


ServiceDep = Annotated[TriageService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
