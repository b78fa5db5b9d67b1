"""Write-back to GLPI and Freshdesk: the suggestion as a private follow-up or note, Freshdesk's
tags, and (for an ``auto`` route to a listed group) the group the ticket is assigned to.

- **GLPI** (REST API, ``apirest.php``): a session is opened with the API user's token
  (``Authorization: user_token …``, and the API client's ``App-Token`` when one is set) and
  every request then carries ``Session-Token``; an expired session (401) is opened again once.
  The note is a private ``ITILFollowup``; the group is a ``Group_Ticket`` of type 2
  (assigned). GLPI has no ticket tags of its own (only through a plugin), so none are written.
- **Freshdesk** (API v2, basic auth with the API key as the user and ``X`` as the password):
  a private note (``POST /api/v2/tickets/{id}/notes``); tags by reading the ticket's and
  writing the union (updating a ticket's ``tags`` replaces them all); the group by
  ``PUT /api/v2/tickets/{id}`` with ``group_id``.
"""

from __future__ import annotations

import base64
from contextlib import suppress
from functools import partial
from typing import TYPE_CHECKING, Any

from triage.webhooks.config import WritebackTarget
from triage.webhooks.writeback import Step, Suggestion, WritebackError, _HttpClient, _numeric

if TYPE_CHECKING:
    import httpx

# GLPI's actor types on a ticket: 1 requester, 2 assigned, 3 observer.
GLPI_ASSIGNED = 2


class GlpiClient(_HttpClient):
    """GLPI REST API: a private follow-up, then the assigned group."""

    def __init__(
        self, target: WritebackTarget, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        super().__init__(target, None, transport=transport)
        self._session: str | None = None

    def _open_session(self) -> str:
        headers = {"Authorization": f"user_token {self.target.token.get_secret_value()}"}
        if self.target.app_token is not None:
            headers["App-Token"] = self.target.app_token.get_secret_value()
        answer = self._send("GET", "/apirest.php/initSession", None, headers=headers)
        token = _json(answer).get("session_token")
        if not isinstance(token, str) or not token:
            raise WritebackError("GLPI's initSession answered no session_token", retryable=True)
        return token

    def _session_headers(self) -> dict[str, str]:
        if self._session is None:
            self._session = self._open_session()
        headers = {"Session-Token": self._session}
        if self.target.app_token is not None:
            headers["App-Token"] = self.target.app_token.get_secret_value()
        return headers

    def _add(self, itemtype: str, fields: dict[str, Any]) -> None:
        """POST one item; a session that expired (401) is opened again once."""
        path = f"/apirest.php/{itemtype}"
        try:
            self._send("POST", path, {"input": fields}, headers=self._session_headers())
        except WritebackError as exc:
            if exc.status != 401:
                raise
            self._session = None
            self._send("POST", path, {"input": fields}, headers=self._session_headers())

    def steps(self, ticket_id: str, suggestion: Suggestion) -> list[Step]:
        numeric = int(_numeric(ticket_id))
        steps: list[Step] = []
        if self.target.note:
            followup = {
                "itemtype": "Ticket",
                "items_id": numeric,
                "content": suggestion.html(),
                "is_private": 1,
            }
            steps.append(("note", partial(self._add, "ITILFollowup", followup)))
        group_id = suggestion.group_id(self.target.groups)
        if group_id is not None:
            assign = {"tickets_id": numeric, "groups_id": group_id, "type": GLPI_ASSIGNED}
            steps.append(("group", partial(self._add, "Group_Ticket", assign)))
        return steps

    def close(self) -> None:
        if self._session is not None:
            with suppress(WritebackError):  # a session left open expires in GLPI anyway
                self._send("GET", "/apirest.php/killSession", None, headers=self._session_headers())
            self._session = None
        super().close()


class FreshdeskClient(_HttpClient):
    """Freshdesk API v2: a private note, the tags (added to the ticket's), the group."""

    def __init__(
        self, target: WritebackTarget, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        user = f"{target.token.get_secret_value()}:X"
        auth = "Basic " + base64.b64encode(user.encode()).decode()
        super().__init__(target, auth, transport=transport)

    def _add_tags(self, ticket_id: str, tags: list[str]) -> None:
        path = f"/api/v2/tickets/{ticket_id}"
        present = [str(tag) for tag in _json(self._send("GET", path, None)).get("tags") or []]
        wanted = present + [tag for tag in tags if tag not in present]
        if wanted != present:
            self._send("PUT", path, {"tags": wanted})

    def steps(self, ticket_id: str, suggestion: Suggestion) -> list[Step]:
        ticket_id = _numeric(ticket_id)
        steps: list[Step] = []
        if self.target.note:
            note = {"body": suggestion.html(), "private": True}
            path = f"/api/v2/tickets/{ticket_id}/notes"
            steps.append(("note", partial(self._send, "POST", path, note)))
        tags = suggestion.tags()
        if self.target.tags and tags:
            steps.append(("tags", partial(self._add_tags, ticket_id, tags)))
        group_id = suggestion.group_id(self.target.groups)
        if group_id is not None:
            path = f"/api/v2/tickets/{ticket_id}"
            steps.append(("group", partial(self._send, "PUT", path, {"group_id": group_id})))
        return steps


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        found = response.json()
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
