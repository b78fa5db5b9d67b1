"""Posting triage's suggestion back to the helpdesk: an internal note, tags, and (when
configured, for an ``auto`` route) the group the ticket is assigned to.

A client turns a suggestion into named steps (``note``, ``tags`` …), each one HTTP request.
The runner records every step that succeeded, so a retry after a failure repeats only what
failed and an agent never sees the same note twice (except when a request timed out after the
helpdesk had acted on it: then the helpdesk cannot tell us, and the step is repeated).
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from triage.webhooks.canonical import WRITEBACK_MARKER
from triage.webhooks.config import WritebackTarget

if TYPE_CHECKING:  # httpx is imported by the first write-back client, not by every worker
    import httpx

_TAG_SAFE = re.compile(r"[^a-z0-9_-]+")


@dataclass(frozen=True)
class HeadSuggestion:
    head: str
    label: str
    confidence: float
    decision: str
    threshold: float | None


@dataclass(frozen=True)
class RouteSuggestion:
    group: str
    source: str
    decision: str

    @classmethod
    def from_result(cls, route: Mapping[str, Any] | None) -> RouteSuggestion | None:
        if not route:
            return None
        return cls(str(route["group"]), str(route["source"]), str(route["decision"]))


@dataclass(frozen=True)
class Suggestion:
    """What triage says about one ticket, ready to be written into a helpdesk."""

    model_version: str
    heads: tuple[HeadSuggestion, ...]
    route: RouteSuggestion | None = None

    @classmethod
    def from_result(cls, result: Mapping[str, Any]) -> Suggestion:
        """From a classification as ``POST /v1/classify`` answers it."""
        return cls(
            model_version=str(result.get("model_version", "")),
            heads=tuple(
                HeadSuggestion(
                    head=head,
                    label=str(p["label"]),
                    confidence=float(p["confidence"]),
                    decision=str(p["decision"]),
                    threshold=p.get("threshold"),
                )
                for head, p in (result.get("predictions") or {}).items()
            ),
            route=RouteSuggestion.from_result(result.get("route")),
        )

    def group_id(self, groups: Mapping[str, int]) -> int | None:
        """The helpdesk group to assign: only for an ``auto`` route to a listed group."""
        route = self.route
        if route is None or route.decision != "auto":
            return None
        return groups.get(route.group)

    def tags(self) -> list[str]:
        """``triage_<head>__<label>`` for each head that did not abstain (Zendesk's
        intelligent-triage convention, e.g. ``intent__<value>``)."""
        return [
            f"triage_{_tag_part(h.head)}__{_tag_part(h.label)}"
            for h in self.heads
            if h.decision != "review"
        ]

    def lines(self) -> list[str]:
        lines = []
        for h in self.heads:
            if h.decision == "review":
                what = (
                    f"no suggestion (the model abstains; best guess {h.label}, {h.confidence:.0%})"
                )
            else:
                what = f"{h.label} ({h.confidence:.0%}, {h.decision})"
            lines.append(f"{h.head}: {what}")
        if self.route is not None:
            lines.append(f"route: {self.route.group} ({self.route.source}, {self.route.decision})")
        return lines

    def text(self) -> str:
        body = "\n".join(f"- {line}" for line in self.lines())
        return f"{WRITEBACK_MARKER} suggestion\n{body}\nmodel {self.model_version}"

    def html(self) -> str:
        items = "".join(f"<li>{html.escape(line)}</li>" for line in self.lines())
        return (
            f"<p>{html.escape(WRITEBACK_MARKER)} suggestion</p><ul>{items}</ul>"
            f"<p>model {html.escape(self.model_version)}</p>"
        )


def _tag_part(value: str) -> str:
    return _TAG_SAFE.sub("_", value.lower()).strip("_") or "none"


class WritebackError(Exception):
    """A write-back request failed; ``retryable`` unless the helpdesk refused it for good."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


Step = tuple[str, Callable[[], object]]  # a named request; its answer is not used


class WritebackClient(Protocol):
    """One helpdesk's API, as far as writing a suggestion back goes."""

    def steps(self, ticket_id: str, suggestion: Suggestion) -> list[Step]:
        """The named requests that write ``suggestion`` into ticket ``ticket_id``, in order."""

    def close(self) -> None: ...


@runtime_checkable
class IncidentLinkClient(Protocol):
    """A helpdesk that can link an incident's member ticket to its parent ticket."""

    # Whether linking to a new parent replaces the old link (no unlink first).
    link_replaces_parent: bool

    def link_steps(self, ticket_id: str, parent_id: str) -> list[Step]:
        """The named requests that make ``ticket_id`` a child of ``parent_id``, in order."""

    def unlink_steps(self, ticket_id: str, parent_id: str) -> list[Step]:
        """The named requests that make ``ticket_id`` no longer a child of ``parent_id``."""


def _numeric(ticket_id: str) -> str:
    # Both helpdesks number their tickets; anything else would be spliced into a URL path.
    if not re.fullmatch(r"[0-9]{1,20}", ticket_id):
        raise WritebackError(f"ticket id {ticket_id[:50]!r} is not a number", retryable=False)
    return ticket_id


# Worth retrying: the helpdesk is down, slow, rate-limiting or mid-deploy.
_RETRYABLE = {408, 409, 425, 429}


class _HttpClient:
    """``auth``: the ``Authorization`` header of every request (None: each request says)."""

    def __init__(
        self,
        target: WritebackTarget,
        auth: str | None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        import httpx

        self.target = target
        headers = {"User-Agent": "triage-writeback"}
        if auth is not None:
            headers["Authorization"] = auth
        self.http = httpx.Client(
            base_url=target.url.rstrip("/"),
            timeout=target.timeout_seconds,
            headers=headers,
            transport=transport,
        )

    def _send(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The answer of one request; a failed one raises :class:`WritebackError`."""
        import httpx

        try:
            response = self.http.request(method, path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise WritebackError(f"{method} {path}: {exc!r}", retryable=True) from exc
        if response.is_success:
            return response
        status = response.status_code
        raise WritebackError(
            f"{method} {path}: HTTP {status} {response.text[:200]}",
            retryable=status >= 500 or status in _RETRYABLE,
            status=status,
        )

    def close(self) -> None:
        self.http.close()


class ZammadClient(_HttpClient):
    """Zammad REST API: an internal note article, then one tag at a time.

    ``Authorization: Token token=<access token>`` (the token needs ``ticket.agent``).
    """

    def __init__(
        self, target: WritebackTarget, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        super().__init__(
            target, f"Token token={target.token.get_secret_value()}", transport=transport
        )
        self._numbers: dict[str, str] = {}  # ticket id -> ticket number, as Zammad answered

    def steps(self, ticket_id: str, suggestion: Suggestion) -> list[Step]:
        numeric = int(_numeric(ticket_id))
        steps: list[Step] = []
        if self.target.note:
            note = {
                "ticket_id": numeric,
                "subject": "triage suggestion",
                "body": suggestion.html(),
                "content_type": "text/html",
                "type": "note",
                "internal": True,
            }
            steps.append(("note", partial(self._send, "POST", "/api/v1/ticket_articles", note)))
        if self.target.tags:
            for tag in suggestion.tags():
                body = {"item": tag, "object": "Ticket", "o_id": numeric}
                steps.append((f"tag:{tag}", partial(self._send, "POST", "/api/v1/tags/add", body)))
        group_id = suggestion.group_id(self.target.groups)
        if group_id is not None:
            path = f"/api/v1/tickets/{numeric}"
            steps.append(("group", partial(self._send, "PUT", path, {"group_id": group_id})))
        return steps

    def link_steps(self, ticket_id: str, parent_id: str) -> list[Step]:
        """``POST /api/v1/links/add``: the parent (named by its ticket *number*, as the
        endpoint wants for the source) is the ``parent`` of the member (named by its *id*).
        Zammad stores (type, source, target) and shows the target the source as ``type``, the
        source the target as the opposite (``app/models/link.rb``): the parent sees a child."""
        member = int(_numeric(ticket_id))
        parent = _numeric(parent_id)
        return [("link", partial(self._link_parent, member, parent))]

    link_replaces_parent = False  # a ticket may have several parents: unlink first

    def unlink_steps(self, ticket_id: str, parent_id: str) -> list[Step]:
        """``DELETE /api/v1/links/remove`` with the link as added, the parent by its *id*:
        ``Link.remove`` matches ``link_object_source_value`` (an id, not the number ``add``
        looks up) and removes the link seen from either side (``app/models/link.rb``)."""
        body = {
            "link_type": "parent",
            "link_object_source": "Ticket",
            "link_object_source_value": int(_numeric(parent_id)),
            "link_object_target": "Ticket",
            "link_object_target_value": int(_numeric(ticket_id)),
        }
        return [("unlink", partial(self._send, "DELETE", "/api/v1/links/remove", body))]

    def _link_parent(self, member: int, parent: str) -> None:
        body = {
            "link_type": "parent",
            "link_object_source": "Ticket",
            "link_object_source_number": self._number(parent),
            "link_object_target": "Ticket",
            "link_object_target_value": member,
        }
        self._send("POST", "/api/v1/links/add", body)

    def _number(self, ticket_id: str) -> str:
        """A ticket's number (what Zammad shows, e.g. ``31001``), read once per ticket."""
        if ticket_id not in self._numbers:
            answer = self._send("GET", f"/api/v1/tickets/{ticket_id}", None)
            try:
                number = answer.json().get("number")
            except (ValueError, AttributeError):
                number = None
            if not number:
                raise WritebackError(f"Zammad ticket {ticket_id} has no number", retryable=True)
            self._numbers[ticket_id] = str(number)
        return self._numbers[ticket_id]


class ZendeskClient(_HttpClient):
    """Zendesk Support API: add tags, then a private comment (``public: false``).

    Basic auth as ``{email}/token:{api token}``.
    """

    def __init__(
        self, target: WritebackTarget, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        if not target.email:
            raise ValueError("a Zendesk write-back needs the agent's 'email' beside the token")
        user = f"{target.email}/token:{target.token.get_secret_value()}"
        auth = "Basic " + base64.b64encode(user.encode()).decode()
        super().__init__(target, auth, transport=transport)
        self._problems: set[str] = set()  # tickets this process already made problems

    def link_steps(self, ticket_id: str, parent_id: str) -> list[Step]:
        """The parent becomes a ``problem`` ticket, the member an ``incident`` whose
        ``problem_id`` is the parent (Zendesk accepts a problem_id only of a problem)."""
        member = _numeric(ticket_id)
        parent = _numeric(parent_id)
        incident = {"ticket": {"type": "incident", "problem_id": int(parent)}}
        return [
            ("problem", partial(self._make_problem, parent)),
            ("incident", partial(self._send, "PUT", f"/api/v2/tickets/{member}", incident)),
        ]

    link_replaces_parent = True  # an incident has one problem_id: setting it moves the link

    def unlink_steps(self, ticket_id: str, parent_id: str) -> list[Step]:
        """The member's ``problem_id`` cleared; it stays of type ``incident`` (its type before
        the link is not known) and the parent stays a ``problem``."""
        member = _numeric(ticket_id)
        _numeric(parent_id)
        body = {"ticket": {"problem_id": None}}
        return [("unlink", partial(self._send, "PUT", f"/api/v2/tickets/{member}", body))]

    def _make_problem(self, ticket_id: str) -> None:
        if ticket_id not in self._problems:
            self._send("PUT", f"/api/v2/tickets/{ticket_id}", {"ticket": {"type": "problem"}})
            self._problems.add(ticket_id)

    def steps(self, ticket_id: str, suggestion: Suggestion) -> list[Step]:
        ticket_id = _numeric(ticket_id)
        steps: list[Step] = []
        tags = suggestion.tags()
        if self.target.tags and tags:
            # PUT adds to the ticket's tags (POST would replace them all).
            body = {"tags": tags}
            path = f"/api/v2/tickets/{ticket_id}/tags"
            steps.append(("tags", partial(self._send, "PUT", path, body)))
        if self.target.note:
            comment = {"ticket": {"comment": {"body": suggestion.text(), "public": False}}}
            path = f"/api/v2/tickets/{ticket_id}"
            steps.append(("note", partial(self._send, "PUT", path, comment)))
        group_id = suggestion.group_id(self.target.groups)
        if group_id is not None:
            assign = {"ticket": {"group_id": group_id}}
            path = f"/api/v2/tickets/{ticket_id}"
            steps.append(("group", partial(self._send, "PUT", path, assign)))
        return steps
