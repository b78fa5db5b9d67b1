"""The Reports tab: the reports on the helpdesk's work, charted and tabled, and as CSV."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from triage.api.clean_request import CleanRoute
from triage.api.deps import ReportServiceDep
from triage.api.routes.reports import report_csv
from triage.api.staff.i18n import translator
from triage.api.staff.report_chart import volume_chart
from triage.api.staff.responses import refuse, render, to_signin
from triage.api.staff.session import SessionDep, staff_of
from triage.core.auth import Scope
from triage.service.ops_summary import SHOWN_REPORTS
from triage.service.reports import Report, ReportQuery
from triage.store.schema import utcnow

router = APIRouter(prefix="/ui", route_class=CleanRoute, include_in_schema=False)

PERIODS = {"30": ("day", 30), "90": ("week", 90), "365": ("month", 365)}


def _query(days: str, group_by: str | None = None) -> ReportQuery:
    bucket, length = PERIODS.get(days, PERIODS["30"])
    until = utcnow()
    return ReportQuery(
        since=until - timedelta(days=length), until=until, bucket=bucket, group_by=group_by
    )


@router.get("/reports")
def reports_tab(
    request: Request, session: SessionDep, reports: ReportServiceDep, days: str = "30"
) -> Response:
    """Volume, resolution, escalation, backlog, staff work and automation, last 30/90/365 days."""
    staff = staff_of(request, session)
    if staff is None:
        return to_signin(request, session)
    t = translator(session.lang)
    if not staff.can(Scope.REPORTS):
        return refuse(request, session, staff, t("no_reports_scope"), 403)
    days = days if days in PERIODS else "30"
    volume = reports.run("volume", _query(days))
    tables: list[tuple[str, Report]] = [
        (name, reports.run(name, _query(days, group_by))) for name, group_by in SHOWN_REPORTS
    ]
    return render(
        request,
        session,
        staff,
        "reports.html",
        nav="reports",
        days=days,
        periods=list(PERIODS),
        volume=volume,
        chart=volume_chart(volume.rows),
        tables=tables,
    )


@router.get("/reports/{name}.csv")
def report_download(
    request: Request,
    session: SessionDep,
    reports: ReportServiceDep,
    name: Annotated[str, Path()],
    days: str = "30",
    group_by: str | None = None,
) -> Response:
    """One report of the tab as CSV."""
    staff = staff_of(request, session)
    if staff is None:
        return to_signin(request, session)
    if not staff.can(Scope.REPORTS):
        return refuse(request, session, staff, translator(session.lang)("no_reports_scope"), 403)
    report = reports.run(name, _query(days, group_by))
    return Response(
        report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-{days}d.csv"'},
    )
