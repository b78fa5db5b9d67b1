"""API keys: generated once, stored only as sha256 hashes, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, Field

from triage.core.errors import ForbiddenError, UnsafeBindError


class Scope(StrEnum):
    CLASSIFY = "classify"
    FEEDBACK = "feedback"
    ADMIN = "admin"
    REPORTS = "reports"  # the reports on the helpdesk's work, agent-level figures included


class ApiKey(BaseModel):
    """One configured key: who it is for, the sha256 of the key, what it may do, and (all
    optional) the tenants it is bound to, its request rate and its largest job."""

    name: str = Field(min_length=1, max_length=100)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    scopes: set[Scope]
    tenants: list[str] | None = Field(
        None, description="Only these tenants ('' is the default one); null: every tenant."
    )
    rate_per_minute: int | None = Field(
        None, ge=1, description="Requests a minute, per process, at most (429 above)."
    )
    max_job_tickets: int | None = Field(
        None, ge=1, description="Tickets in one job at most (413 above; TRIAGE_MAX_JOB_TICKETS)."
    )

    def tenant(self, requested: str | None) -> str:
        """The tenant a request of this key works in: ``requested`` (None: the default ''),
        which must be one of the key's tenants when it is bound to some."""
        tenant = requested or ""
        if self.tenants is not None and tenant not in self.tenants:
            allowed = ", ".join(repr(t) for t in self.tenants) or "none"
            raise ForbiddenError(
                f"the key {self.name!r} may not use tenant {tenant!r} (its tenants: {allowed})",
                details={"tenant": tenant, "tenants": self.tenants},
            )
        return tenant


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A fresh random key (256 bits), prefixed so it is recognisable in a leak scan."""
    return "trg_" + secrets.token_urlsafe(32)


def find_key(presented: str, keys: Iterable[ApiKey]) -> ApiKey | None:
    """The configured key matching ``presented``; every key is compared, in constant time."""
    return find_key_by_hash(hash_key(presented), keys)


def find_key_by_hash(sha256: str, keys: Iterable[ApiKey]) -> ApiKey | None:
    """The configured key whose hash is ``sha256``; every key is compared, in constant time."""
    found = None
    for key in keys:
        if hmac.compare_digest(sha256, key.sha256):
            found = key
    return found


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_open(keys: Iterable[ApiKey], host: str) -> None:
    """Without API keys the API is open: allowed on a loopback address only. Checked on the
    parsed settings, so '[ ]', a trailing newline or any other way of saying "none" counts."""
    if not list(keys) and not is_loopback(host):
        raise UnsafeBindError(
            f"refusing to serve on {host} without API keys; create one with "
            "'triage keys create' and set TRIAGE_API_KEYS"
        )


def presented_key(authorization: str, x_api_key: str | None) -> str | None:
    """The key a request presents: ``Authorization: Bearer <key>``, else ``X-API-Key``."""
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return x_api_key or None
