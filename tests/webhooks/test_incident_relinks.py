"""Incident write-back follows staff decisions, against the local fake helpdesk: a dismissed
incident's members are unlinked from its parent (Zammad ``DELETE /api/v1/links/remove``,
Zendesk ``problem_id`` cleared), a merged incident's members move to the surviving parent, a
split-off group to its own; a decision taken while a link is being sent is not lost."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np

from tests.clock import Clock
from tests.webhooks.fake_helpdesk import FakeHelpdesk
from tests.webhooks.test_incident_links import (
    DIM,
    START,
    _fixture,
    _linker,
    _parent,
    _tracker,
)
from triage.service.incident_actions import Actor, IncidentActions
from triage.service.incident_links import IncidentLinker
from triage.service.incidents import IncidentTracker, ObservedTicket
from triage.store.database import Database
from triage.store.deliveries import WritebackStatus
from triage.store.incident_links import IncidentLinkStore

STAFF = Actor("staff")


def _topic(seed: int) -> np.ndarray:
    topic = np.random.default_rng(seed).normal(size=DIM)
    return topic / np.linalg.norm(topic)


def _surge(
    tracker: IncidentTracker,
    clock: Clock,
    ids: list[str],
    source: str | None,
    *,
    topic: np.ndarray,
    first: int = 0,
    sources: dict[str, str | None] | None = None,
    central: str | None = None,
) -> Any:
    """Tickets of one topic two minutes apart (``sources``: a helpdesk per ticket instead of
    ``source``; ``central``: the ticket on the topic itself, the group's medoid)."""
    ref = None
    for i, ticket_id in enumerate(ids, start=first):
        clock.now = START + timedelta(minutes=2 * i)
        noise = np.random.default_rng(1000 + i).normal(size=DIM) * 0.15 / np.sqrt(DIM)
        ticket = ObservedTicket(
            ticket_id,
            (topic + (0 if ticket_id == central else noise)).astype(np.float32),
            f"trouble {ticket_id}",
            at=clock.now,
            category="network",
            tier="L2",
            language="en",
            source=sources[ticket_id] if sources is not None else source,
        )
        ref = tracker.observe(ticket) or ref
    assert ref is not None
    return ref


def _zammad_numbers(helpdesk: FakeHelpdesk, ids: list[str]) -> None:
    for ticket_id in ids:
        shown = {**_fixture("zammad_ticket_show.json"), "id": int(ticket_id)}
        helpdesk.replies[("GET", f"/api/v1/tickets/{ticket_id}")] = {
            **shown,
            "number": f"3{ticket_id}",
        }


def _linked_zammad_incident(
    database: Database, clock: Clock, helpdesk: FakeHelpdesk, size: int
) -> tuple[IncidentTracker, IncidentLinker, list[str], Any, str]:
    """An incident of ``size`` Zammad tickets, its links sent: the tracker, the linker, the
    ticket ids, the incident and its parent."""
    tracker = _tracker(database, clock, ("zammad",))
    linker = _linker(database, helpdesk, "zammad")
    ids = [str(1101 + i) for i in range(size)]
    _zammad_numbers(helpdesk, ids)
    opened = _surge(tracker, clock, ids, "zammad", topic=_topic(1))
    parent = _parent(tracker, opened.id)
    assert linker.link_due()
    return tracker, linker, ids, opened, parent


def _links(database: Database, incident_id: int) -> dict[str, Any]:
    return {link.ticket_id: link for link in IncidentLinkStore(database).links(incident_id)}


def test_dismissing_an_incident_unlinks_its_zammad_members(
    database: Database, clock: Clock, helpdesk: FakeHelpdesk
) -> None:
    tracker, linker, ids, opened, parent = _linked_zammad_incident(database, clock, helpdesk, 5)
    members = sorted(i for i in ids if i != parent)
    assert len(helpdesk.calls("POST", "/api/v1/links/add")) == 4

    IncidentActions(tracker).dismiss(opened.id, STAFF)
    assert linker.link_due()
    removed = helpdesk.calls("DELETE", "/api/v1/links/remove")
    documented = _fixture("zammad_link_remove.json")
    assert sorted(r.body["link_object_target_value"] for r in removed) == [int(m) for m in members]
    for request in removed:
        assert set(request.body) == set(documented)
        assert request.body["link_type"] == documented["link_type"]
        assert request.body["link_object_source_value"] == int(parent)  # the id, not the number
    links = _links(database, opened.id)
    assert all(link.parent_ticket_id is None for link in links.values())
    assert all(link.linked_parent_id is None for link in links.values())
    assert all(link.status is WritebackStatus.DONE for link in links.values())
    assert not linker.link_due()  # nothing left
    assert len(helpdesk.calls("POST", "/api/v1/links/add")) == 4  # and nothing linked again


def test_dismissed_before_the_links_were_sent_sends_nothing(
    database: Database, clock: Clock, helpdesk: FakeHelpdesk
) -> None:
    tracker = _tracker(database, clock, ("zammad",))
    opened = _surge(tracker, clock, [str(1101 + i) for i in range(5)], "zammad", topic=_topic(1))
    IncidentActions(tracker).dismiss(opened.id, STAFF)
    linker = _linker(database, helpdesk, "zammad")
    assert linker.link_due()  # the rows fall due, with nothing to do in the helpdesk
    assert helpdesk.requests == []
    statuses = {link.status for link in _links(database, opened.id).values()}
    assert statuses == {WritebackStatus.DONE}


def test_a_merged_zendesk_incident_moves_its_members_to_the_surviving_problem(
    database: Database, clock: Clock, helpdesk: FakeHelpdesk
) -> None:
    tracker = _tracker(database, clock, ("zendesk",))
    linker = _linker(database, helpdesk, "zendesk")
    first = _surge(tracker, clock, [str(5501 + i) for i in range(5)], "zendesk", topic=_topic(1))
    second = _surge(
        tracker, clock, [str(5601 + i) for i in range(5)], "zendesk", topic=_topic(2), first=5
    )
    assert first.id != second.id
    old_parent, new_parent = _parent(tracker, first.id), _parent(tracker, second.id)
    assert linker.link_due()
    helpdesk.requests.clear()

    IncidentActions(tracker).merge(first.id, into=second.id, actor=STAFF)
    assert linker.link_due()
    documented = _fixture("zendesk_ticket_incident_update.json")["ticket"]
    moved = [str(5501 + i) for i in range(5)]  # the old parent too: now a member
    for member in moved:
        [update] = helpdesk.calls("PUT", f"/api/v2/tickets/{member}")
        assert update.body == {"ticket": {**documented, "problem_id": int(new_parent)}}
    # One PUT each: Zendesk's problem_id is replaced, no unlink first; the surviving parent
    # was made a problem before and is not sent again.
    assert len(helpdesk.requests) == len(moved)
    links = _links(database, second.id)
    assert {links[m].linked_parent_id for m in moved} == {new_parent}
    assert old_parent in links
    assert not linker.link_due()


def test_a_split_moves_its_zammad_tickets_to_the_new_parent(
    database: Database, clock: Clock, helpdesk: FakeHelpdesk
) -> None:
    tracker, linker, ids, opened, parent = _linked_zammad_incident(database, clock, helpdesk, 7)
    helpdesk.requests.clear()

    split_off = [i for i in ids if i != parent][:2]
    new = IncidentActions(tracker).split(opened.id, split_off, STAFF).incident
    new_parent = _parent(tracker, new.id)
    assert new_parent in split_off
    assert linker.link_due()
    other = next(i for i in split_off if i != new_parent)
    removed = helpdesk.calls("DELETE", "/api/v1/links/remove")
    assert sorted(r.body["link_object_target_value"] for r in removed) == sorted(
        map(int, split_off)
    )  # both leave the old parent
    assert {r.body["link_object_source_value"] for r in removed} == {int(parent)}
    [added] = helpdesk.calls("POST", "/api/v1/links/add")  # one joins the new parent
    assert added.body["link_object_target_value"] == int(other)
    assert added.body["link_object_source_number"] == f"3{new_parent}"
    links = _links(database, new.id)
    assert (links[other].linked_parent_id, links[new_parent].linked_parent_id) == (
        new_parent,
        None,
    )
    remaining = _links(database, opened.id)
    assert {link.linked_parent_id for link in remaining.values()} == {parent}
    assert not linker.link_due()


def test_a_decision_taken_while_a_link_is_sent_is_not_lost(
    database: Database, clock: Clock, helpdesk: FakeHelpdesk
) -> None:
    tracker = _tracker(database, clock, ("zammad",))
    ids = [str(1101 + i) for i in range(5)]
    _zammad_numbers(helpdesk, ids)
    opened = _surge(tracker, clock, ids, "zammad", topic=_topic(1))
    parent = _parent(tracker, opened.id)
    store = IncidentLinkStore(database)
    [task, *_] = store.claim(["zammad"], lease=timedelta(minutes=2), limit=1)
    assert task.parent_ticket_id == parent
    IncidentActions(tracker).dismiss(opened.id, STAFF)  # while the link is on its way
    store.step_done(task, ["link"])
    store.finished(task, WritebackStatus.DONE)
    link = _links(database, opened.id)[task.ticket_id]
    assert (link.linked_parent_id, link.parent_ticket_id) == (parent, None)  # what was done
    assert link.status is WritebackStatus.PENDING  # and what is still to do
    assert link.steps_done == []
    assert _linker(database, helpdesk, "zammad").link_due()
    removed = helpdesk.calls("DELETE", "/api/v1/links/remove")
    assert task.ticket_id in {str(r.body["link_object_target_value"]) for r in removed}
    assert not helpdesk.calls("POST", "/api/v1/links/add")  # the others: dismissed unsent
    link = _links(database, opened.id)[task.ticket_id]
    assert (link.linked_parent_id, link.status) == (None, WritebackStatus.DONE)


def test_splitting_off_the_parent_gives_the_rest_a_new_one(
    database: Database, clock: Clock, helpdesk: FakeHelpdesk
) -> None:
    tracker, linker, ids, opened, parent = _linked_zammad_incident(database, clock, helpdesk, 7)
    helpdesk.requests.clear()

    split_off = [parent, next(i for i in ids if i != parent)]
    IncidentActions(tracker).split(opened.id, split_off, STAFF)
    rest_parent = _parent(tracker, opened.id)
    assert rest_parent not in split_off
    assert linker.link_due()
    links = _links(database, opened.id)
    rest = [i for i in ids if i not in split_off]
    assert {links[i].linked_parent_id for i in rest if i != rest_parent} == {rest_parent}
    assert links[rest_parent].linked_parent_id is None  # the new parent: linked to none
    added = helpdesk.calls("POST", "/api/v1/links/add")
    assert {a.body["link_object_source_number"] for a in added} >= {f"3{rest_parent}"}
    assert not linker.link_due()


def test_an_incident_suggesting_an_api_ticket_links_to_its_first_helpdesk_ticket(
    database: Database, clock: Clock, helpdesk: FakeHelpdesk
) -> None:
    tracker = _tracker(database, clock, ("zammad",))
    linker = _linker(database, helpdesk, "zammad")
    ids = ["API-1", "1102", "1103", "API-4", "1105"]
    _zammad_numbers(helpdesk, [i for i in ids if i.isdigit()])
    sources = {i: ("zammad" if i.isdigit() else None) for i in ids}
    opened = _surge(tracker, clock, ids, None, topic=_topic(1), sources=sources, central="API-1")
    assert _parent(tracker, opened.id) == "API-1"  # suggested: an API ticket
    assert linker.link_due()
    added = helpdesk.calls("POST", "/api/v1/links/add")
    assert {a.body["link_object_source_number"] for a in added} == {"31102"}  # the first
    assert sorted(a.body["link_object_target_value"] for a in added) == [1103, 1105]
    grew = _surge(tracker, clock, ["1106"], "zammad", topic=_topic(1), first=5)
    assert grew.id == opened.id
    _zammad_numbers(helpdesk, ["1106"])
    assert linker.link_due()
    assert helpdesk.calls("POST", "/api/v1/links/add")[-1].body["link_object_target_value"] == 1106
