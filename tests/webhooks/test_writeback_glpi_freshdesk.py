"""Write-back to GLPI and Freshdesk (issue 20: the route's group; the note and tags as for
Zammad and Zendesk), against a fake helpdesk that checks each vendor's authentication."""

from __future__ import annotations

import base64
from typing import Any

from pydantic import SecretStr

from tests.webhooks.fake_helpdesk import FakeHelpdesk, Seen
from tests.webhooks.test_webhook_writeback import RESULT, ROUTED
from triage.settings import Settings
from triage.webhooks.config import WritebackTarget
from triage.webhooks.writeback import Suggestion, WritebackClient
from triage.webhooks.writeback_clients import build_clients
from triage.webhooks.writeback_glpi_freshdesk import FreshdeskClient, GlpiClient

GLPI_USER_TOKEN, GLPI_APP_TOKEN, SESSION = "glpi-user-token-71", "glpi-app-token-9", "sess-1"
FRESHDESK_KEY = "freshdesk-api-key-5d"


def run(client: WritebackClient, ticket_id: str, result: dict[str, Any]) -> list[str]:
    names = []
    for name, apply in client.steps(ticket_id, Suggestion.from_result(result)):
        apply()
        names.append(name)
    client.close()
    return names


def glpi(helpdesk: FakeHelpdesk, **extra: Any) -> GlpiClient:
    """GLPI's two-step authentication: initSession with the user token (and the App-Token),
    then the session token on every other request."""
    sessions = [SESSION]

    def auth_ok(seen: Seen) -> bool:
        if seen.headers.get("app-token") != GLPI_APP_TOKEN:
            return False
        if seen.path == "/apirest.php/initSession":
            return seen.headers.get("authorization") == f"user_token {GLPI_USER_TOKEN}"
        return seen.headers.get("session-token") in sessions

    helpdesk.auth_ok = auth_ok
    helpdesk.replies[("GET", "/apirest.php/initSession")] = {"session_token": SESSION}
    target = WritebackTarget(
        url=helpdesk.url,
        token=SecretStr(GLPI_USER_TOKEN),
        app_token=SecretStr(GLPI_APP_TOKEN),
        **extra,
    )
    return GlpiClient(target)


def test_glpi_gets_a_private_followup_and_the_assigned_group(helpdesk: FakeHelpdesk) -> None:
    client = glpi(helpdesk, groups={"desk-side": 12})
    assert run(client, "311", ROUTED) == ["note", "group"]
    [followup] = helpdesk.calls("POST", "/apirest.php/ITILFollowup")
    fields = followup.body["input"]
    assert (fields["itemtype"], fields["items_id"], fields["is_private"]) == ("Ticket", 311, 1)
    assert "printers" in fields["content"]
    [assign] = helpdesk.calls("POST", "/apirest.php/Group_Ticket")
    # type 2: the group is *assigned* (1 requester, 3 observer).
    assert assign.body == {"input": {"tickets_id": 311, "groups_id": 12, "type": 2}}
    assert len(helpdesk.calls("GET", "/apirest.php/initSession")) == 1  # one session for both
    assert len(helpdesk.calls("GET", "/apirest.php/killSession")) == 1


def test_glpi_opens_a_new_session_when_its_session_expired(helpdesk: FakeHelpdesk) -> None:
    client = glpi(helpdesk)
    helpdesk.script[("POST", "/apirest.php/ITILFollowup")] = [401]
    assert run(client, "311", RESULT) == ["note"]
    assert len(helpdesk.calls("GET", "/apirest.php/initSession")) == 2
    assert len(helpdesk.calls("POST", "/apirest.php/ITILFollowup")) == 2


def test_glpi_writes_no_group_for_an_unsure_route(helpdesk: FakeHelpdesk) -> None:
    unsure = {**ROUTED, "route": {**ROUTED["route"], "decision": "suggest"}}
    assert run(glpi(helpdesk, note=False, groups={"desk-side": 12}), "311", unsure) == []
    assert helpdesk.requests == []  # not even a session


def freshdesk(helpdesk: FakeHelpdesk, **extra: Any) -> FreshdeskClient:
    # Freshdesk: basic auth, the API key as the user name and "X" as the password.
    helpdesk.expected_auth = "Basic " + base64.b64encode(f"{FRESHDESK_KEY}:X".encode()).decode()
    return FreshdeskClient(
        WritebackTarget(url=helpdesk.url, token=SecretStr(FRESHDESK_KEY), **extra)
    )


def test_freshdesk_gets_a_private_note_added_tags_and_the_group(helpdesk: FakeHelpdesk) -> None:
    helpdesk.replies[("GET", "/api/v2/tickets/88")] = {"id": 88, "tags": ["vip", "from-mail"]}
    client = freshdesk(helpdesk, groups={"desk-side": 43000501})
    assert run(client, "88", ROUTED) == ["note", "tags", "group"]
    [note] = helpdesk.calls("POST", "/api/v2/tickets/88/notes")
    assert note.body["private"] is True
    assert "printers" in note.body["body"]
    tags, group = helpdesk.calls("PUT", "/api/v2/tickets/88")
    # A ticket update replaces its tags: the ticket's own are kept, ours added after them.
    assert tags.body["tags"][:2] == ["vip", "from-mail"]
    assert "triage_category__printers" in tags.body["tags"]
    assert group.body == {"group_id": 43000501}


def test_freshdesk_tags_already_there_are_not_written_again(helpdesk: FakeHelpdesk) -> None:
    suggested = Suggestion.from_result(RESULT).tags()
    helpdesk.replies[("GET", "/api/v2/tickets/88")] = {"tags": suggested}
    assert run(freshdesk(helpdesk, note=False), "88", RESULT) == ["tags"]
    assert helpdesk.calls("PUT", "/api/v2/tickets/88") == []


def test_glpi_and_freshdesk_write_back_can_be_configured() -> None:
    settings = Settings(
        webhook_writeback={
            "glpi": {"url": "https://glpi.example.com", "token": "u", "app_token": "a"},
            "freshdesk": {"url": "https://acme.freshdesk.com", "token": "k"},
        }
    )
    clients = build_clients(settings.webhook_writeback)
    assert isinstance(clients["glpi"], GlpiClient)
    assert isinstance(clients["freshdesk"], FreshdeskClient)
    for client in clients.values():
        client.close()
