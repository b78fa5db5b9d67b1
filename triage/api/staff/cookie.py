"""The staff page's session: one cookie, signed with HMAC-SHA256, holding no secret itself.

It carries the session's CSRF token, the chosen language and, once signed in, the sha256 of
the API key: the same hash the configuration holds, never the key. Each request looks that
hash up among the configured keys, so removing a key ends its sessions at once. The cookie
is HttpOnly and SameSite=Strict; every form posts the CSRF token as well.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass, replace
from pathlib import Path

COOKIE = "triage_ui"
LANGUAGES = ("en", "id")


@dataclass(frozen=True)
class UiSession:
    csrf: str
    lang: str
    expires: int
    key_sha256: str | None = None
    fresh: bool = False  # made for this request: the response must set the cookie

    @classmethod
    def new(cls, *, lang: str, lifetime: float) -> UiSession:
        return cls(
            csrf=secrets.token_urlsafe(24),
            lang=lang if lang in LANGUAGES else "en",
            expires=int(time.time() + lifetime),
            fresh=True,
        )

    def signed_in(self, key_sha256: str, *, lifetime: float) -> UiSession:
        """The session after a sign-in: a new CSRF token, so none seen before stays valid."""
        return replace(UiSession.new(lang=self.lang, lifetime=lifetime), key_sha256=key_sha256)

    def signed_out(self, *, lifetime: float) -> UiSession:
        return UiSession.new(lang=self.lang, lifetime=lifetime)

    def with_lang(self, lang: str) -> UiSession:
        return replace(self, lang=lang if lang in LANGUAGES else self.lang, fresh=True)

    def csrf_ok(self, presented: str) -> bool:
        return bool(presented) and hmac.compare_digest(presented, self.csrf)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionCodec:
    """Turns a session into a signed cookie value and back (None when forged or expired)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the session secret must be at least 16 bytes")
        self._secret = secret

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())

    def dump(self, session: UiSession) -> str:
        payload = _b64(
            json.dumps(
                {
                    "c": session.csrf,
                    "l": session.lang,
                    "e": session.expires,
                    "k": session.key_sha256,
                },
                separators=(",", ":"),
            ).encode()
        )
        return f"{payload}.{self._sign(payload)}"

    def load(self, value: str | None) -> UiSession | None:
        if not value or "." not in value:
            return None
        payload, _, signature = value.partition(".")
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
            session = UiSession(
                csrf=str(data["c"]),
                lang=str(data["l"]),
                expires=int(data["e"]),
                key_sha256=None if data["k"] is None else str(data["k"]),
            )
        except (ValueError, KeyError, TypeError):
            return None
        if session.expires <= time.time() or session.lang not in LANGUAGES:
            return None
        return session


def load_secret(configured: str | None, data_dir: Path) -> bytes:
    """The configured secret, else one kept in ``data_dir/ui-session.key`` (made once, 0600).

    Every process on that directory shares the file, so a session works on any worker.
    """
    if configured:
        return configured.encode()
    path = data_dir / "ui-session.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may be writing it this very moment
            secret = path.read_bytes().strip()
            if secret:
                return secret
            time.sleep(0.01)
        raise RuntimeError(f"{path} is empty; delete it to make a new session key") from None
    secret = secrets.token_hex(32).encode()
    with os.fdopen(descriptor, "wb") as file:
        file.write(secret)
    return secret
