"""Incidents: surges of similar tickets, and what staff decide about them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from triage.api.clean_request import CleanRoute
from triage.api.deps import IncidentsDep, key_tenant, require_scope
from triage.api.openapi import error_response
from triage.api.schemas import ErrorOut
from triage.api.schemas_incidents import (
    IncidentDecisionOut,
    IncidentDetailOut,
    IncidentListOut,
    IncidentMemberOut,
    IncidentOut,
    IncidentStatus,
    IncidentTermsOut,
    MergeIn,
    SplitIn,
)
from triage.core.auth import ApiKey, Scope
from triage.service.incident_actions import Actor, IncidentActions
from triage.service.incidents import IncidentDetail
from triage.store.incidents import IncidentRecord

router = APIRouter(
    route_class=CleanRoute,
    prefix="/v1/incidents",
    tags=["incidents"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)

ReadKey = Annotated[ApiKey | None, Depends(require_scope(Scope.CLASSIFY))]
AdminKey = Annotated[ApiKey | None, Depends(require_scope(Scope.ADMIN))]
# Ids are 64-bit database integers: a larger number is a 422, not an overflow in the driver.
MAX_ID = 2**63 - 1
IncidentId = Annotated[int, Path(ge=1, le=MAX_ID, examples=[7])]
_BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut},
    413: {"model": ErrorOut},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: error_response("incident_not_found", "no incident 7")
}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: error_response("incident_conflict", "incident 7 is already dismissed")
}


def incident_out(record: IncidentRecord) -> IncidentOut:
    return IncidentOut(
        id=record.id,
        tenant=record.tenant or None,
        status=record.status,
        confirmed=record.confirmed,
        size=record.size,
        first_seen=record.first_seen,
        last_seen=record.last_seen,
        growth_per_10min=record.growth_per_10min,
        terms=IncidentTermsOut(en=record.terms.get("en", []), id=record.terms.get("id", [])),
        category=record.category,
        tier=record.tier,
        parent_ticket_id=record.parent_ticket_id,
        merged_into=record.merged_into,
        opened_at=record.opened_at,
        closed_at=record.closed_at,
    )


def _detail_out(detail: IncidentDetail) -> IncidentDetailOut:
    return IncidentDetailOut(
        **incident_out(detail.incident).model_dump(),
        members=[IncidentMemberOut(id=m.ticket_id, at=m.at) for m in detail.members],
        decisions=[
            IncidentDecisionOut(
                action=d.action,
                actor=d.actor,
                details=d.details,
                size=d.size,
                at=d.at,
            )
            for d in detail.decisions
        ],
    )


def _actor(key: ApiKey | None) -> Actor:
    return Actor(
        name=None if key is None else key.name, tenants=None if key is None else key.tenants
    )


@router.get("", response_model=IncidentListOut)
def list_incidents(
    incidents: IncidentsDep,
    key: ReadKey,
    status: Annotated[
        list[IncidentStatus] | None, Query(description="Only these.", examples=[["open"]])
    ] = None,
    tenant: Annotated[str | None, Query(max_length=200, examples=["acme"])] = None,
    limit: Annotated[int, Query(ge=1, le=500, examples=[50])] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31, examples=[0])] = 0,
) -> IncidentListOut:
    """Incidents, the most recently seen first (a key bound to tenants sees one of its own)."""
    scoped = (
        key_tenant(key, tenant)
        if tenant is not None or (key is not None and key.tenants is not None)
        else None
    )
    found = incidents.recent(tenant=scoped, status=status, limit=limit, offset=offset)
    return IncidentListOut(incidents=[incident_out(r) for r in found])


@router.get("/{incident_id}", response_model=IncidentDetailOut, responses=_NOT_FOUND)
def get_incident(
    incident_id: IncidentId, incidents: IncidentsDep, key: ReadKey
) -> IncidentDetailOut:
    """One incident with its member tickets and the decisions staff took on it."""
    return _detail_out(incidents.detail(incident_id, tenants=_actor(key).tenants))


@router.post(
    "/{incident_id}/confirm",
    response_model=IncidentDetailOut,
    responses={**_NOT_FOUND, **_CONFLICT},
)
def confirm_incident(
    incident_id: IncidentId, incidents: IncidentsDep, key: AdminKey
) -> IncidentDetailOut:
    """Confirm it is one incident (409 if already confirmed, merged or dismissed)."""
    return _detail_out(IncidentActions(incidents).confirm(incident_id, _actor(key)))


@router.post(
    "/{incident_id}/dismiss",
    response_model=IncidentDetailOut,
    responses={**_NOT_FOUND, **_CONFLICT},
)
def dismiss_incident(
    incident_id: IncidentId, incidents: IncidentsDep, key: AdminKey
) -> IncidentDetailOut:
    """Dismiss it as no incident (409 if already dismissed or merged)."""
    return _detail_out(IncidentActions(incidents).dismiss(incident_id, _actor(key)))


@router.post(
    "/{incident_id}/merge",
    response_model=IncidentDetailOut,
    responses={**_NOT_FOUND, **_CONFLICT, **_BODY_ERRORS},
)
def merge_incident(
    incident_id: IncidentId, body: MergeIn, incidents: IncidentsDep, key: AdminKey
) -> IncidentDetailOut:
    """Merge it into another incident; answers that one (409 into itself or a merged one)."""
    return _detail_out(IncidentActions(incidents).merge(incident_id, body.into, _actor(key)))


@router.post(
    "/{incident_id}/split",
    response_model=IncidentDetailOut,
    responses={**_NOT_FOUND, **_CONFLICT, **_BODY_ERRORS},
)
def split_incident(
    incident_id: IncidentId, body: SplitIn, incidents: IncidentsDep, key: AdminKey
) -> IncidentDetailOut:
    """Move some members out into a new incident; answers the new one."""
    return _detail_out(IncidentActions(incidents).split(incident_id, body.tickets, _actor(key)))
