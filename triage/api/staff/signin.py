"""The staff page's sign-in, sign-out, language switch and static files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from triage.api.clean_request import CleanRoute
from triage.api.deps import SettingsDep
from triage.api.staff.cookie import UiSession
from triage.api.staff.i18n import translator
from triage.api.staff.responses import STAFF_DIR, redirect, refuse, render
from triage.api.staff.session import (
    FormDep,
    SessionDep,
    field,
    lifetime,
    local,
    signouts,
    staff_of,
)
from triage.api.staff.throttle import SigninThrottle
from triage.core.auth import Scope, find_key

_STATIC = {"ui.css": "text/css", "ui.js": "text/javascript"}

router = APIRouter(route_class=CleanRoute, prefix="/ui", include_in_schema=False)


def _throttle(request: Request) -> SigninThrottle:
    """This app's count of failed sign-ins (one per app, made on first use)."""
    state = request.app.state
    if getattr(state, "signin_throttle", None) is None:
        state.signin_throttle = SigninThrottle()
    throttle: SigninThrottle = state.signin_throttle
    return throttle


@router.get("/static/{name}")
def static(name: str) -> Response:
    """The page's stylesheet and script (nothing else is served from the package)."""
    if name not in _STATIC:
        raise StarletteHTTPException(404, "no such file")
    return FileResponse(
        STAFF_DIR / "static" / name,
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
    target = local(next_page)
    if staff_of(request, session) is not None:
        return redirect(request, session, target)
    return render(request, session, None, "signin.html", target=target)


@router.post("/signin")
def signin(request: Request, session: SessionDep, form: FormDep, settings: SettingsDep) -> Response:
    """Sign in with an API key: the session keeps its hash, never the key."""
    target = local(field(form, "next"))
    t = translator(session.lang)
    if not session.csrf_ok(field(form, "csrf")):
        fresh = UiSession.new(lang=session.lang, lifetime=lifetime(request))
        return render(
            request, fresh, None, "signin.html", status=403, target=target, error=t("stale_form")
        )
    client = request.client.host if request.client else "unknown"
    throttle = _throttle(request)
    waiting = throttle.wait(client)
    if waiting > 0:
        response = render(
            request,
            session,
            None,
            "signin.html",
            status=429,
            target=target,
            error=t("signin_throttled"),
        )
        response.headers["Retry-After"] = str(int(waiting) + 1)
        return response
    key = find_key(field(form, "key"), settings.api_keys)
    if key is None:
        throttle.failed(client)
        return render(
            request,
            session,
            None,
            "signin.html",
            status=401,
            target=target,
            error=t("signin_bad_key"),
        )
    if Scope.CLASSIFY not in key.scopes and Scope.ADMIN not in key.scopes:
        return render(
            request,
            session,
            None,
            "signin.html",
            status=403,
            target=target,
            error=t("signin_no_scope"),
        )
    throttle.succeeded(client)
    return redirect(request, session.signed_in(key.sha256, lifetime=lifetime(request)), target)


@router.post("/signout")
def signout(request: Request, session: SessionDep, form: FormDep) -> Response:
    """End the session's sign-in, for every copy of its cookie."""
    if not session.csrf_ok(field(form, "csrf")):
        return refuse(request, session, None, translator(session.lang)("stale_form"), 403)
    if session.key_sha256 is not None:
        signouts(request).sign_out(session.csrf, session.expires)
    return redirect(request, session.signed_out(lifetime=lifetime(request)), "/ui/signin")


@router.post("/lang")
def language(request: Request, session: SessionDep, form: FormDep) -> Response:
    """Switch between English and Bahasa Indonesia."""
    if not session.csrf_ok(field(form, "csrf")):
        return refuse(request, session, None, translator(session.lang)("stale_form"), 403)
    return redirect(request, session.with_lang(field(form, "lang")), local(field(form, "next")))
