"""Who uses the staff page: the signed cookie's session, the staff member it names, forms.

Staff sign in with an API key (not needed when no key is configured); the session is a signed
cookie (:mod:`triage.api.staff.cookie`) and every form carries its CSRF token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import Depends, Request
from starlette.exceptions import HTTPException as StarletteHTTPException

from triage.api.deps import get_app_settings
from triage.api.staff.cookie import COOKIE, SessionCodec, UiSession, load_secret
from triage.api.staff.i18n import pick_language
from triage.core.auth import Scope, find_key_by_hash
from triage.core.safe_text import clean_string
from triage.store.signouts import SignoutStore


@dataclass(frozen=True)
class Staff:
    """Who uses the page: a configured key's name and scopes, or nobody (the API is open)."""

    name: str | None
    scopes: frozenset[Scope]

    def can(self, scope: Scope) -> bool:
        return scope in self.scopes or Scope.ADMIN in self.scopes


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


def dump_session(request: Request, session: UiSession) -> str:
    """The cookie value of ``session``."""
    return _codec(request).dump(session)


def lifetime(request: Request) -> float:
    """How long a session lasts, in seconds."""
    return get_app_settings(request).ui_session_hours * 3600


def get_ui_session(request: Request) -> UiSession:
    """The request's session, or a new one (then the response sets the cookie)."""
    session = _codec(request).load(request.cookies.get(COOKIE))
    if session is None:
        lang = pick_language(request.headers.get("accept-language"))
        session = UiSession.new(lang=lang, lifetime=lifetime(request))
    return session


SessionDep = Annotated[UiSession, Depends(get_ui_session)]


def staff_of(request: Request, session: UiSession) -> Staff | None:
    """The staff member signed in to ``session``; None if nobody (or a removed key) is."""
    keys = get_app_settings(request).api_keys
    if not keys:
        return Staff(None, frozenset(Scope))
    if session.key_sha256 is None or signouts(request).signed_out(session.csrf):
        return None  # not signed in, or signed out (a copy of the cookie ends with it)
    found = find_key_by_hash(session.key_sha256, keys)
    return Staff(found.name, frozenset(found.scopes)) if found else None


def signouts(request: Request) -> SignoutStore:
    """The sign-outs of the app's database (every process and replica sees them)."""
    return SignoutStore(request.app.state.database)


async def _form(request: Request) -> dict[str, list[str]]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise StarletteHTTPException(415, "the staff page posts url-encoded forms")
    try:
        form = parse_qs((await request.body()).decode(), keep_blank_values=True, max_num_fields=200)
    except (UnicodeDecodeError, ValueError) as exc:
        raise StarletteHTTPException(400, "the form cannot be read") from exc
    return {  # NUL and lone surrogates out, as everywhere else (triage.core.safe_text)
        clean_string(name): [clean_string(value) for value in values]
        for name, values in form.items()
    }


FormDep = Annotated[dict[str, list[str]], Depends(_form)]


def field(form: Mapping[str, list[str]], name: str) -> str:
    """A form field's first value, stripped ('' when absent)."""
    values = form.get(name)
    return values[0].strip() if values else ""


def local(target: str, default: str = "/ui/") -> str:
    """``target`` if it is a path of this page (a redirect never leaves the site)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/ui") or "\\" in target:
        return default
    return target


def here(request: Request) -> str:
    """The path and query of the request."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")
