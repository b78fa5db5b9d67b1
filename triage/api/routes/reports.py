"""Reports on the helpdesk's work, as JSON or CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from triage.api.clean_request import CleanRoute
from triage.api.deps import ReportServiceDep, require_scope
from triage.api.schemas import ErrorOut
from triage.api.schemas_events import ReportOut
from triage.core.auth import ApiKey, Scope
from triage.service.reports import REPORTS, Report, ReportQuery

router = APIRouter(
    route_class=CleanRoute,
    prefix="/v1",
    tags=["reports"],
    responses={
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        404: {"model": ErrorOut, "description": "No report of that name."},
        422: {
            "model": ErrorOut,
            "description": "An unknown group_by or bucket, or since not earlier than until.",
        },
        503: {"model": ErrorOut},
    },
)
ReportsKey = Annotated[ApiKey | None, Depends(require_scope(Scope.REPORTS))]


def _tenants(key: ApiKey | None, tenant: str | None) -> tuple[str, ...] | None:
    if tenant is not None:
        return (key.tenant(tenant) if key is not None else tenant,)
    if key is not None and key.tenants is not None:
        return tuple(key.tenants)
    return None  # every tenant


def report_csv(report: Report) -> str:
    """The report's table as CSV (a header of its columns, empty cells for no value)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(report.columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(report.rows)
    return out.getvalue()


@router.get(
    "/reports/{name}",
    response_model=ReportOut,
    responses={
        200: {
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "period,channel,new,resolved,backlog\n2026-11-02,email,12,9,31\n",
                }
            }
        }
    },
)
def get_report(
    name: Annotated[str, Path(description=", ".join(REPORTS), examples=["resolution"])],
    request: Request,
    reports: ReportServiceDep,
    key: ReportsKey,
    since: Annotated[
        datetime | None,
        Query(description="Start (default: until - 30 days).", examples=["2026-11-01T00:00:00Z"]),
    ] = None,
    until: Annotated[
        datetime | None,
        Query(description="End, excluded (default: now).", examples=["2026-12-01T00:00:00Z"]),
    ] = None,
    bucket: Annotated[
        str, Query(description="day, week or month (the volume report).", examples=["week"])
    ] = "day",
    group_by: Annotated[
        str | None,
        Query(description="Comma-separated: category, tier, agent, ...", examples=["tier"]),
    ] = None,
    tenant: Annotated[
        str | None,
        Query(max_length=200, description="Only this tenant (default: all).", examples=["acme"]),
    ] = None,
    threshold: Annotated[
        float,
        Query(ge=0.0, le=1.0, description="deflection: the match score.", examples=[0.8]),
    ] = 0.8,
    format: Annotated[
        Literal["json", "csv"] | None,
        Query(description="csv, or json (default: by the Accept header).", examples=["csv"]),
    ] = None,
) -> ReportOut | Response:
    """One report over [since, until), as JSON or CSV (format=csv or Accept: text/csv)."""
    query = ReportQuery(since, until, bucket, group_by, _tenants(key, tenant), threshold)
    report = reports.run(name, query)
    wants_csv = format == "csv" or (
        format is None and "text/csv" in request.headers.get("accept", "")
    )
    if wants_csv:
        filename = f"{report.name}-{report.since:%Y%m%d}-{report.until:%Y%m%d}.csv"
        return Response(
            report_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return ReportOut(
        report=report.name,
        since=report.since,
        until=report.until,
        bucket=report.bucket,
        group_by=list(report.group_by),
        columns=list(report.columns),
        rows=report.rows,
    )
