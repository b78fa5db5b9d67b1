"""The staff page under /ui/: triage a ticket, see similar solved ones, accept or correct it;
the queue of triaged tickets with the live quality of the last seven days.

Server-rendered, no script needed. Staff sign in with an API key (not needed when no key is
configured); the session is a signed cookie (``triage.ui.session``) and every form carries
its CSRF token. The page works through the same service, stores and scopes as the JSON API.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

import triage
import triage.ui
from triage.api.deps import (
    FeedbackStoreDep,
    MetricsDep,
    ServiceDep,
    SettingsDep,
    TriagedStoreDep,
    get_app_settings,
    get_similar,
)
from triage.api.schemas_feedback import FeedbackIn
from triage.auth import Scope, find_key
from triage.errors import (
    InvalidTicketError,
    StoreUnavailableError,
    TicketTooLargeError,
    TriageError,
)
from triage.service import Classification, Ticket, TriageService
from triage.service.ticket_triage import TicketTriage
from triage.similar.service import SimilarResult, SimilarService
from triage.store.feedback import Feedback, FeedbackStore
from triage.store.schema import utcnow
from triage.store.tickets import Visibility
from triage.store.triaged import DECISIONS, QueueFilter, TriagedStore
from triage.ui.chart import Chart, DayQuality, line_chart
from triage.ui.i18n import LANGUAGE_NAMES, Translator, age, pick_language, translator
from triage.ui.session import COOKIE, SessionCodec, UiSession, load_secret

UI_DIR = Path(triage.ui.__file__).parent
TEMPLATES = Jinja2Templates(directory=UI_DIR / "templates")
_STATIC = {"ui.css": "text/css", "ui.js": "text/javascript"}
_PAGE = 50
_SIMILAR_K = 5
# Pages show ticket text: never cached, never framed, no script or style from elsewhere.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

router = APIRouter(prefix="/ui", include_in_schema=False)


@dataclass(frozen=True)
class Staff:
    """Who uses the page: a configured key's name and scopes, or nobody (the API is open)."""

    name: str | None
    scopes: frozenset[Scope]

    def can(self, scope: Scope) -> bool:
        return scope in self.scopes or Scope.ADMIN in self.scopes


# -- session, sign-in and forms ----------------------------------------------------------------


def _codec(request: Request) -> SessionCodec:
    codec: SessionCodec | None = getattr(request.app.state, "ui_sessions", None)
    if codec is None:
        settings = get_app_settings(request)
        configured = settings.ui_session_secret
        secret = load_secret(
            configured.get_secret_value() if configured else None, settings.data_dir
        )
        codec = request.app.state.ui_sessions = SessionCodec(secret)
    return codec


def _lifetime(request: Request) -> float:
    return get_app_settings(request).ui_session_hours * 3600


def get_ui_session(request: Request) -> UiSession:
    """The request's session, or a new one (then the response sets the cookie)."""
    session = _codec(request).load(request.cookies.get(COOKIE))
    if session is None:
        lang = pick_language(request.headers.get("accept-language"))
        session = UiSession.new(lang=lang, lifetime=_lifetime(request))
    return session


SessionDep = Annotated[UiSession, Depends(get_ui_session)]


def _staff(request: Request, session: UiSession) -> Staff | None:
    keys = get_app_settings(request).api_keys
    if not keys:
        return Staff(None, frozenset(Scope))
    if session.key_sha256 is None:
        return None
    found = None
    for key in keys:
        if hmac.compare_digest(key.sha256, session.key_sha256):
            found = key
    return Staff(found.name, frozenset(found.scopes)) if found else None


async def _form(request: Request) -> dict[str, list[str]]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise StarletteHTTPException(415, "the staff page posts url-encoded forms")
    try:
        return parse_qs((await request.body()).decode(), keep_blank_values=True, max_num_fields=200)
    except (UnicodeDecodeError, ValueError) as exc:
        raise StarletteHTTPException(400, "the form cannot be read") from exc


FormDep = Annotated[dict[str, list[str]], Depends(_form)]


def _field(form: Mapping[str, list[str]], name: str) -> str:
    values = form.get(name)
    return values[0].strip() if values else ""


def _local(target: str, default: str = "/ui/") -> str:
    """``target`` if it is a path of this page (a redirect never leaves the site)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/ui") or "\\" in target:
        return default
    return target


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _finish(response: Response, request: Request, session: UiSession) -> Response:
    response.headers.update(_HEADERS)
    if session.fresh:
        response.set_cookie(
            COOKIE,
            _codec(request).dump(session),
            max_age=max(0, int(session.expires - time.time())),
            path="/ui",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return response


def _redirect(request: Request, session: UiSession, target: str) -> Response:
    return _finish(RedirectResponse(target, status_code=303), request, session)


def _to_signin(request: Request, session: UiSession) -> Response:
    return _redirect(request, session, f"/ui/signin?next={quote(_here(request), safe='/')}")


def _render(
    request: Request,
    session: UiSession,
    staff: Staff | None,
    template: str,
    *,
    status: int = 200,
    **context: Any,
) -> Response:
    values = {
        "t": translator(session.lang),
        "lang": session.lang,
        "languages": LANGUAGE_NAMES,
        "csrf": session.csrf,
        "staff": staff,
        "here": _here(request),
        "version": triage.__version__,
        **context,
    }
    response = TEMPLATES.TemplateResponse(request, template, values, status_code=status)
    return _finish(response, request, session)


def _refuse(
    request: Request, session: UiSession, staff: Staff | None, message: str, status: int
) -> Response:
    return _render(request, session, staff, "error.html", status=status, message=message)


def _posting_staff(
    request: Request, session: UiSession, form: Mapping[str, list[str]]
) -> Staff | Response:
    """The signed-in staff member behind a form post, or the answer when there is none
    (the sign-in page) or the form is stale (403)."""
    staff = _staff(request, session)
    if staff is None:
        return _to_signin(request, session)
    if not session.csrf_ok(_field(form, "csrf")):
        return _refuse(request, session, staff, translator(session.lang)("stale_form"), 403)
    return staff


@router.get("/static/{name}")
def static(name: str) -> Response:
    """The page's stylesheet and script (nothing else is served from the package)."""
    if name not in _STATIC:
        raise StarletteHTTPException(404, "no such file")
    return FileResponse(
        UI_DIR / "static" / name,
        media_type=_STATIC[name],
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


@router.get("")
def root() -> Response:
    """The page lives at /ui/."""
    return RedirectResponse("/ui/", status_code=307)


@router.get("/signin")
def signin_page(
    request: Request,
    session: SessionDep,
    next_page: Annotated[str, Query(alias="next")] = "/ui/",
) -> Response:
    """The sign-in form (straight on when signed in, or when no key is configured)."""
    target = _local(next_page)
    if _staff(request, session) is not None:
        return _redirect(request, session, target)
    return _render(request, session, None, "signin.html", target=target)


@router.post("/signin")
def signin(request: Request, session: SessionDep, form: FormDep, settings: SettingsDep) -> Response:
    """Sign in with an API key: the session keeps its hash, never the key."""
    target = _local(_field(form, "next"))
    t = translator(session.lang)
    if not session.csrf_ok(_field(form, "csrf")):
        fresh = UiSession.new(lang=session.lang, lifetime=_lifetime(request))
        return _render(
            request, fresh, None, "signin.html", status=403, target=target, error=t("stale_form")
        )
    key = find_key(_field(form, "key"), settings.api_keys)
    if key is None:
        return _render(
            request,
            session,
            None,
            "signin.html",
            status=401,
            target=target,
            error=t("signin_bad_key"),
        )
    if Scope.CLASSIFY not in key.scopes and Scope.ADMIN not in key.scopes:
        return _render(
            request,
            session,
            None,
            "signin.html",
            status=403,
            target=target,
            error=t("signin_no_scope"),
        )
    return _redirect(request, session.signed_in(key.sha256, lifetime=_lifetime(request)), target)


@router.post("/signout")
def signout(request: Request, session: SessionDep, form: FormDep) -> Response:
    """End the session's sign-in."""
    if not session.csrf_ok(_field(form, "csrf")):
        return _refuse(request, session, None, translator(session.lang)("stale_form"), 403)
    return _redirect(request, session.signed_out(lifetime=_lifetime(request)), "/ui/signin")


@router.post("/lang")
def language(request: Request, session: SessionDep, form: FormDep) -> Response:
    """Switch between English and Bahasa Indonesia."""
    if not session.csrf_ok(_field(form, "csrf")):
        return _refuse(request, session, None, translator(session.lang)("stale_form"), 403)
    return _redirect(request, session.with_lang(_field(form, "lang")), _local(_field(form, "next")))


# -- triage ------------------------------------------------------------------------------------


def _similar_service(request: Request) -> tuple[SimilarService | None, str | None]:
    try:
        return get_similar(request), None
    except TriageError as exc:
        return None, exc.message


def _head_title(t: Translator, head: str) -> str:
    return t(f"head_{head}") if head in ("category", "tier") else head


def _heads_view(
    classification: Classification, service: TriageService, t: Translator
) -> list[dict[str, Any]]:
    heads = []
    for name, result in classification.predictions.items():
        terms = result.explanation.terms if result.explanation else []
        heads.append(
            {
                "name": name,
                "title": _head_title(t, name),
                "label": result.label,
                "confidence": result.confidence,
                "threshold": result.threshold,
                "decision": str(result.decision),
                "fallback": result.fallback,
                "auto_blocked": result.auto_blocked,
                "terms": [term.term for term in terms if term.weight > 0][:6],
                "labels": service.model.labels(name),
            }
        )
    return heads


def _similar_view(
    result: SimilarResult, *, internal: bool, now: datetime, t: Translator
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    similar = []
    for match in result.similar:
        record = match.ticket.record
        hidden = record.visibility is Visibility.INTERNAL and not internal
        similar.append(
            {
                "id": record.ticket_id,
                "score": match.score,
                "subject": record.subject or record.ticket_id,
                "resolution": None if hidden else record.resolution,
                "hidden": hidden,
                "category": record.category,
                "tier": record.tier,
                "age": age(record.resolved_at, now, t),
                "resolved_at": record.resolved_at,
            }
        )
    duplicates = [
        {
            "id": m.ticket.record.ticket_id,
            "score": m.score,
            "subject": m.ticket.record.subject or m.ticket.record.ticket_id,
            "age": age(m.ticket.created_at, now, t),
        }
        for m in result.duplicates
    ]
    return similar, duplicates


def _home(
    request: Request,
    session: UiSession,
    staff: Staff,
    triaged: TriagedStore,
    *,
    status: int = 200,
    error: str | None = None,
    values: Mapping[str, str] | None = None,
) -> Response:
    t = translator(session.lang)
    now = utcnow()
    recent = [(entry, age(entry.triaged_at, now, t)) for entry in triaged.recent(limit=8)]
    return _render(
        request,
        session,
        staff,
        "ticket.html",
        status=status,
        nav="ticket",
        entry=None,
        recent=recent,
        error=error,
        values=values or {},
    )


@router.get("/")
def home(request: Request, session: SessionDep, triaged: TriagedStoreDep) -> Response:
    """Paste a ticket to triage, or pick a recently triaged one."""
    staff = _staff(request, session)
    if staff is None:
        return _to_signin(request, session)
    return _home(request, session, staff, triaged)


@router.post("/triage")
def triage_ticket(
    request: Request,
    session: SessionDep,
    form: FormDep,
    service: ServiceDep,
    metrics: MetricsDep,
    triaged: TriagedStoreDep,
) -> Response:
    """Triage a pasted ticket, keep it in the queue, show it."""
    staff = _posting_staff(request, session, form)
    if isinstance(staff, Response):
        return staff
    t = translator(session.lang)
    subject, body = _field(form, "subject"), _field(form, "body")
    ticket_id = _field(form, "ticket_id")[:200]
    values = {"subject": subject, "body": body, "ticket_id": ticket_id}
    ticket = Ticket(subject=subject or None, body=body or None, id=ticket_id or None)
    try:
        service.texts([ticket])
    except InvalidTicketError:
        return _home(
            request, session, staff, triaged, status=422, error=t("empty_ticket"), values=values
        )
    except TicketTooLargeError as exc:
        error = t("too_large", **exc.details)
        return _home(request, session, staff, triaged, status=413, error=error, values=values)
    similar, _ = _similar_service(request)
    outcome = TicketTriage(service, similar, triaged).triage(
        ticket, query=None, remember=True, queue_source="ui"
    )
    metrics.observe(outcome.classification)
    if outcome.queue_entry is None:  # the page shows queued tickets only: nothing to show
        raise StoreUnavailableError("the database is unavailable: the ticket was not queued")
    entry_id = outcome.queue_entry
    return _redirect(request, session, f"/ui/tickets/{entry_id}")


@router.get("/tickets/{entry_id}")
def ticket_page(
    request: Request,
    entry_id: int,
    session: SessionDep,
    service: ServiceDep,
    triaged: TriagedStoreDep,
    feedback: FeedbackStoreDep,
    saved: bool = False,
) -> Response:
    """One ticket: each head's answer and why, similar resolved tickets, the decision form."""
    staff = _staff(request, session)
    if staff is None:
        return _to_signin(request, session)
    t = translator(session.lang)
    entry = triaged.get(entry_id)
    if entry is None:
        return _refuse(request, session, staff, t("not_found"), 404)
    # Triaged again, live, with explanations: what staff accept is what the served model says.
    similar_service, similar_error = _similar_service(request)
    outcome = TicketTriage(service, similar_service, triaged).review(
        Ticket(subject=entry.subject, body=entry.body, id=entry.ticket_id),
        tenant=entry.tenant,
        k=_SIMILAR_K,
    )
    classification = outcome.classification
    now = utcnow()
    similar, duplicates = _similar_view(
        outcome.similar, internal=staff.can(Scope.ADMIN), now=now, t=t
    )
    return _render(
        request,
        session,
        staff,
        "ticket.html",
        nav="ticket",
        entry=entry,
        triaged_age=age(entry.triaged_at, now, t),
        model_version=classification.model_version,
        heads=_heads_view(classification, service, t),
        similar=similar,
        duplicates=duplicates,
        similar_error=similar_error,
        feedback=feedback.for_ticket(entry.ticket_id),
        may_decide=staff.can(Scope.FEEDBACK),
        saved=saved,
    )


@router.post("/tickets/{entry_id}/feedback")
def ticket_feedback(
    request: Request,
    entry_id: int,
    session: SessionDep,
    form: FormDep,
    triaged: TriagedStoreDep,
    feedback: FeedbackStoreDep,
) -> Response:
    """Accept the labels shown, or save the corrected ones, as feedback."""
    staff = _posting_staff(request, session, form)
    if isinstance(staff, Response):
        return staff
    t = translator(session.lang)
    if not staff.can(Scope.FEEDBACK):
        return _refuse(request, session, staff, t("no_feedback_scope"), 403)
    entry = triaged.get(entry_id)
    if entry is None:
        return _refuse(request, session, staff, t("not_found"), 404)
    accept = _field(form, "action") == "accept"
    try:
        items = [
            FeedbackIn.model_validate(
                {
                    "ticket_id": entry.ticket_id,
                    "head": head,
                    "predicted": _field(form, f"predicted.{head}"),
                    "final": _field(form, f"predicted.{head}" if accept else f"final.{head}"),
                    "model_version": _field(form, "model_version"),
                    "decision": _field(form, f"decision.{head}") or None,
                    "confidence": _field(form, f"confidence.{head}") or None,
                }
            )
            for head in dict.fromkeys(form.get("head", []))
        ]
    except ValidationError as exc:
        return _refuse(request, session, staff, str(exc.errors()[0]["msg"]), 422)
    if not items:
        return _refuse(request, session, staff, "no head in the form", 422)
    feedback.add([Feedback(**item.model_dump()) for item in items])
    return _redirect(request, session, f"/ui/tickets/{entry.id}?saved=true")


# -- queue -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeadWeek:
    """One head's live quality: the seven days together, and day by day for the chart."""

    head: str
    title: str
    feedback: int
    precision: float | None
    coverage: float | None
    days: list[DayQuality]
    chart: Chart


def _week(store: FeedbackStore, now: datetime, t: Translator) -> list[HeadWeek]:
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    starts = [today - timedelta(days=6 - i) for i in range(7)]
    daily = [store.quality(since=s, until=s + timedelta(days=1)) for s in starts]
    total = store.quality(since=starts[0])
    weeks = []
    for head in sorted(total, key=lambda h: (h not in ("category", "tier"), h)):
        days = []
        for start, report in zip(starts, daily, strict=True):
            quality = report.get(head)
            overall = quality.overall if quality else None
            days.append(
                DayQuality(
                    day=start.date(),
                    feedback=overall.feedback if overall else 0,
                    precision=overall.precision if overall else None,
                    coverage=overall.coverage if overall else None,
                )
            )
        overall = total[head].overall
        weeks.append(
            HeadWeek(
                head=head,
                title=_head_title(t, head),
                feedback=overall.feedback,
                precision=overall.precision,
                coverage=overall.coverage,
                days=days,
                chart=line_chart(days),
            )
        )
    return weeks


def _choice(value: str | None, allowed: list[str] | tuple[str, ...]) -> str | None:
    return value if value in allowed else None


@router.get("/queue")
def queue(
    request: Request,
    session: SessionDep,
    service: ServiceDep,
    triaged: TriagedStoreDep,
    feedback: FeedbackStoreDep,
    decision: str | None = None,
    category: str | None = None,
    tier: str | None = None,
    show: str = "pending",
    offset: int = 0,
) -> Response:
    """Triaged tickets by decision, category and tier, with the week's live quality."""
    staff = _staff(request, session)
    if staff is None:
        return _to_signin(request, session)
    t = translator(session.lang)
    heads = service.model.heads
    categories = service.model.labels("category") if "category" in heads else []
    tiers = service.model.labels("tier") if "tier" in heads else []
    which = QueueFilter(
        decision=_choice(decision, DECISIONS),
        category=_choice(category, categories),
        tier=_choice(tier, tiers),
        pending_only=show != "all",
    )
    offset = min(max(0, offset), 2**31)  # SQL's OFFSET is 64-bit; past the end is empty anyway
    rows = triaged.recent(which, limit=_PAGE + 1, offset=offset)
    now = utcnow()

    def link(**change: object) -> str:
        params = {
            "decision": which.decision,
            "category": which.category,
            "tier": which.tier,
            "show": "pending" if which.pending_only else "all",
            **change,
        }
        query = "&".join(f"{k}={quote(str(v))}" for k, v in params.items() if v not in (None, 0))
        return f"/ui/queue?{query}"

    return _render(
        request,
        session,
        staff,
        "queue.html",
        nav="queue",
        which=which,
        rows=[(entry, age(entry.triaged_at, now, t)) for entry in rows[:_PAGE]],
        counts=triaged.counts(which),
        categories=categories,
        tiers=tiers,
        link=link,
        older=link(offset=offset + _PAGE) if len(rows) > _PAGE else None,
        newer=link(offset=max(0, offset - _PAGE)) if offset else None,
        weeks=_week(feedback, now, t) if staff.can(Scope.FEEDBACK) else None,
    )
