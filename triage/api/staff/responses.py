"""The staff page's answers: rendered templates, redirects, refusals, and their headers."""

from __future__ import annotations

import time
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

import triage
from triage.api.staff.cookie import COOKIE, UiSession
from triage.api.staff.i18n import LANGUAGE_NAMES, translator
from triage.api.staff.session import Staff, dump_session, field, here, staff_of

if TYPE_CHECKING:
    from fastapi.templating import Jinja2Templates

STAFF_DIR = Path(__file__).parent


@cache
def templates() -> Jinja2Templates:
    """The page templates, loaded when a page is first shown: jinja2 is no part of a
    worker's start (tests/api/test_lean_start.py)."""
    from fastapi.templating import Jinja2Templates

    return Jinja2Templates(directory=STAFF_DIR / "templates")


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


def finish(response: Response, request: Request, session: UiSession) -> Response:
    """``response`` with the page's headers, and the session cookie if it is new."""
    response.headers.update(_HEADERS)
    if session.fresh:
        response.set_cookie(
            COOKIE,
            dump_session(request, session),
            max_age=max(0, int(session.expires - time.time())),
            path="/ui",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return response


def redirect(request: Request, session: UiSession, target: str) -> Response:
    return finish(RedirectResponse(target, status_code=303), request, session)


def to_signin(request: Request, session: UiSession) -> Response:
    return redirect(request, session, f"/ui/signin?next={quote(here(request), safe='/')}")


def render(
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
        "here": here(request),
        "version": triage.__version__,
        **context,
    }
    response = templates().TemplateResponse(request, template, values, status_code=status)
    return finish(response, request, session)


def refuse(
    request: Request, session: UiSession, staff: Staff | None, message: str, status: int
) -> Response:
    return render(request, session, staff, "error.html", status=status, message=message)


def posting_staff(
    request: Request, session: UiSession, form: Mapping[str, list[str]]
) -> Staff | Response:
    """The signed-in staff member behind a form post, or the answer when there is none
    (the sign-in page) or the form is stale (403)."""
    staff = staff_of(request, session)
    if staff is None:
        return to_signin(request, session)
    if not session.csrf_ok(field(form, "csrf")):
        return refuse(request, session, staff, translator(session.lang)("stale_form"), 403)
    return staff
