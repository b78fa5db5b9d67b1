"""The routing table: read, replace, roll back, and try a proposed one on recent tickets."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from triage.api.clean_request import CleanRoute
from triage.api.deps import RoutingDep, ServiceDep, require_scope
from triage.api.schemas import ErrorOut
from triage.api.schemas_routing import (
    ROUTING_EXAMPLE,
    ROUTING_JSON_EXAMPLE,
    DryRunOut,
    RoutingTableOut,
)
from triage.core.auth import ApiKey, Scope
from triage.core.errors import RoutingTableError
from triage.service import TriageService
from triage.service.results import route_dict
from triage.service.routing import DryRun
from triage.store.routing_tables import StoredTable

router = APIRouter(
    route_class=CleanRoute,
    prefix="/v1/routing",
    tags=["routing"],
    dependencies=[Depends(require_scope(Scope.ADMIN))],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
AdminKey = Annotated[ApiKey | None, Depends(require_scope(Scope.ADMIN))]
_TABLE_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/yaml": {"schema": {"type": "string"}, "example": ROUTING_EXAMPLE},
        "application/json": {"schema": {"type": "object"}, "example": ROUTING_JSON_EXAMPLE},
    },
}


async def _table_text(request: Request) -> tuple[str, bool]:
    """The body as text, and whether it is to be read as JSON (else YAML)."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RoutingTableError(
            f"the routing table is not UTF-8 text (byte {exc.start})",
            details={"line": None, "column": None, "problem": "not UTF-8"},
        ) from exc
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return text, media == "application/json"


def _table_out(stored: StoredTable | None, service: TriageService) -> RoutingTableOut:
    table = service.routing
    return RoutingTableOut(
        version=None if stored is None else stored.version,
        text="" if stored is None else stored.text,
        source=None if stored is None else stored.source,
        author=None if stored is None else stored.author,
        created_at=None if stored is None else stored.created_at,
        rules=len(table.rules),
        order=table.order.value,
        fallback=table.fallback,
        group_head=table.group_head,
    )


def _dry_run_out(run: DryRun) -> DryRunOut:
    return DryRunOut.model_validate(
        {
            "replayed": run.replayed,
            "changed": run.changed,
            "by_group": run.by_group,
            "examples": [
                {
                    "ticket_id": c.ticket_id,
                    "tenant": c.tenant,
                    "before": route_dict(c.before),
                    "after": route_dict(c.after),
                }
                for c in run.examples
            ],
        }
    )


@router.get("", response_model=RoutingTableOut)
def get_routing(book: RoutingDep, service: ServiceDep) -> RoutingTableOut:
    """The served routing table, its version and where it came from."""
    return _table_out(book.current(), service)


@router.put("", response_model=RoutingTableOut, openapi_extra={"requestBody": _TABLE_BODY})
async def put_routing(
    request: Request, book: RoutingDep, service: ServiceDep, key: AdminKey
) -> RoutingTableOut:
    """Check a routing table against the served model, keep it as a new version, serve it."""
    text, json_only = await _table_text(request)
    stored = await run_in_threadpool(
        book.replace, service, text, json_only=json_only, author=key.name if key else None
    )
    return _table_out(stored, service)


@router.post(
    "/rollback",
    response_model=RoutingTableOut,
    responses={404: {"model": ErrorOut}},
)
def rollback_routing(book: RoutingDep, service: ServiceDep, key: AdminKey) -> RoutingTableOut:
    """Serve the version before the newest again (stored as a new version)."""
    return _table_out(book.rollback(service, author=key.name if key else None), service)


@router.post("/dry-run", response_model=DryRunOut, openapi_extra={"requestBody": _TABLE_BODY})
async def dry_run_routing(
    request: Request,
    book: RoutingDep,
    service: ServiceDep,
    last: Annotated[
        int, Query(ge=1, le=5000, description="How many recent tickets.", examples=[200])
    ] = 500,
) -> DryRunOut:
    """Replay the last triaged tickets through a proposed table: how many change route."""
    text, json_only = await _table_text(request)
    run = await run_in_threadpool(book.dry_run, service, text, json_only=json_only, last=last)
    return _dry_run_out(run)
