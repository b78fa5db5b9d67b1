"""Confirm or dismiss an incident from the queue's panel (the admin actions of
``/v1/incidents/{id}/confirm|dismiss``, through the same use case)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from triage.api.clean_request import CleanRoute
from triage.api.deps import OptionalIncidentsDep, get_app_settings
from triage.api.staff.i18n import translator
from triage.api.staff.responses import posting_staff, redirect, refuse
from triage.api.staff.session import FormDep, SessionDep, Staff
from triage.core.auth import Scope
from triage.core.errors import IncidentConflictError, IncidentNotFoundError
from triage.service.incident_actions import Actor, IncidentActions

router = APIRouter(route_class=CleanRoute, prefix="/ui", include_in_schema=False)
IncidentId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _actor(request: Request, staff: Staff) -> Actor:
    """The signed-in key's name and, where it is bound to some, its tenants."""
    keys = get_app_settings(request).api_keys
    key = next((k for k in keys if k.name == staff.name), None) if staff.name else None
    return Actor(name=staff.name, tenants=None if key is None else key.tenants)


@router.post("/incidents/{incident_id}/{action}")
def decide_incident(
    request: Request,
    incident_id: IncidentId,
    action: Literal["confirm", "dismiss"],
    session: SessionDep,
    form: FormDep,
    incidents: OptionalIncidentsDep,
) -> Response:
    staff = posting_staff(request, session, form)
    if isinstance(staff, Response):
        return staff
    t = translator(session.lang)
    if not staff.can(Scope.ADMIN):
        return refuse(request, session, staff, t("no_admin_scope"), 403)
    if incidents is None:
        return refuse(request, session, staff, t("not_found"), 404)
    actions = IncidentActions(incidents)
    decide = actions.confirm if action == "confirm" else actions.dismiss
    try:
        decide(incident_id, _actor(request, staff))
    except IncidentNotFoundError:
        return refuse(request, session, staff, t("not_found"), 404)
    except IncidentConflictError as exc:
        return refuse(request, session, staff, exc.message, 409)
    return redirect(request, session, "/ui/queue")
