"""Write-back of incidents (TRIAGE_INCIDENT_WRITEBACK, off by default): each member ticket
that came from a Zammad or Zendesk webhook is linked to the incident's parent ticket there.

:class:`~triage.service.incidents.IncidentTracker` queues the links with the membership;
staff decisions change them (:func:`relink_members`: a dismissed incident's members are
unlinked, a merged or split one's moved to their new parent); :class:`IncidentLinker` sends
them beside the suggestions' write-back (in the webhook runner's thread), through the same
helpdesk clients, steps and backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta

from triage.service.writeback_steps import run_steps
from triage.settings import Settings
from triage.store.database import Database
from triage.store.deliveries import WritebackStatus
from triage.store.incident_links import IncidentLinkStore, LinkTask
from triage.store.incidents import IncidentRecord, IncidentSession
from triage.webhooks.writeback import IncidentLinkClient, Step, WritebackClient

log = logging.getLogger(__name__)


def incident_ticket_id(source: str | None, ticket_id: str) -> str:
    """A ticket's id in incident detection: a webhook ticket's is its helpdesk's id behind the
    helpdesk's name (``zammad:42``), because Zammad and Zendesk both number their tickets from
    1 and their webhooks feed one tenant; an API ticket's is its own."""
    return ticket_id if source is None else f"{source}:{ticket_id}"


def helpdesk_ticket_id(source: str, ticket_id: str) -> str:
    """The helpdesk's own id of a ticket named by :func:`incident_ticket_id`."""
    return ticket_id.removeprefix(f"{source}:")


def relink_members(
    session: IncidentSession, incident_id: int, link_sources: Collection[str], now: datetime
) -> None:
    """What the helpdesk links of ``incident_id``'s members should be, in the caller's
    transaction (after a staff decision, or when an incident first gets a parent to link to):
    none for a dismissed incident; otherwise each member from the parent's helpdesk linked to
    the parent (:func:`link_parent`), and no other member linked to anything."""
    if not link_sources:
        return
    record = session.get(incident_id)
    sources = session.member_sources(incident_id)
    members = list(sources)
    if record is None or not members:
        return
    parent = None
    if record.status != "dismissed":
        parent = link_parent(session, record, members, sources, link_sources)
    if parent is None:
        session.want_links(incident_id, members, None, now)
        return
    source = sources[parent]
    linked = [m for m in members if m != parent and sources.get(m) == source]
    session.want_links(incident_id, linked, parent, now, source=source)
    session.want_links(incident_id, [m for m in members if m not in linked], None, now)


def link_parent(
    session: IncidentSession,
    record: IncidentRecord,
    members: Sequence[str],
    sources: Mapping[str, str | None],
    link_sources: Collection[str],
) -> str | None:
    """The ticket an incident's members are linked to: the one the first links named while it
    is still a member; else the suggested parent, if it came from a helpdesk links are on for;
    else the earliest member that did (an API ticket cannot be a parent in a helpdesk)."""
    parent = session.link_parent(record.id)
    if parent in members:
        return parent
    suggested = record.parent_ticket_id
    first = [suggested] if suggested is not None and suggested in members else []
    return next((m for m in [*first, *members] if sources.get(m) in link_sources), None)


class IncidentLinker:
    """Sends the due incident links, each a few named requests, retried with backoff."""

    def __init__(
        self,
        store: IncidentLinkStore,
        clients: Mapping[str, IncidentLinkClient],
        *,
        max_attempts: int = 8,
        backoff: timedelta = timedelta(seconds=30),
        lease: timedelta = timedelta(minutes=2),
    ) -> None:
        self.store = store
        self.clients = dict(clients)
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.lease = lease

    @classmethod
    def from_settings(
        cls, database: Database, settings: Settings, clients: Mapping[str, WritebackClient]
    ) -> IncidentLinker:
        """With the write-back clients of the helpdesks links are on for."""
        linking = settings.incident_link_sources()
        return cls(
            IncidentLinkStore(database),
            {
                source: client
                for source, client in clients.items()
                if source in linking and isinstance(client, IncidentLinkClient)
            },
            max_attempts=settings.webhook_writeback_max_attempts,
            backoff=timedelta(seconds=settings.webhook_writeback_backoff_seconds),
        )

    def link_due(self) -> bool:
        """Send every due link once; whether there were any."""
        tasks = self.store.claim(self.clients, lease=self.lease)
        for task in tasks:
            self._link(task)
        return bool(tasks)

    def _link(self, task: LinkTask) -> None:
        client = self.clients[task.source]
        failure = run_steps(
            lambda: _steps(client, task),
            task.steps_done,
            lambda done: self.store.step_done(task, done),
            attempts=task.attempts,
            max_attempts=self.max_attempts,
            backoff=self.backoff,
        )
        what = (
            f"link of {task.source} ticket {task.ticket_id} to {task.parent_ticket_id}"
            if task.parent_ticket_id is not None
            else f"unlink of {task.source} ticket {task.ticket_id} from {task.linked_parent_id}"
        )
        if failure is None:
            self.store.finished(task, WritebackStatus.DONE)
            log.info("%s (incident %d) done", what, task.incident_id)
        elif failure.retry_at is not None:
            log.warning(
                "%s failed (attempt %d), retrying at %s: %s",
                what,
                task.attempts,
                failure.retry_at.isoformat(),
                failure.error,
            )
            self.store.finished(
                task, WritebackStatus.PENDING, error=failure.error, retry_at=failure.retry_at
            )
        else:
            log.error(
                "%s failed for good after %d attempt(s): %s", what, task.attempts, failure.error
            )
            self.store.finished(task, WritebackStatus.FAILED, error=failure.error)


def _steps(client: IncidentLinkClient, task: LinkTask) -> list[Step]:
    """From what is to what should be: unlink from the parent the ticket is linked to (unless
    the helpdesk's link replaces it: a Zendesk incident has one problem), then link to the
    wanted one. Nothing to do when they are the same."""
    linked, wanted = task.linked_parent_id, task.parent_ticket_id
    if linked == wanted:
        return []
    ticket = helpdesk_ticket_id(task.source, task.ticket_id)
    steps: list[Step] = []
    if linked is not None and (wanted is None or not client.link_replaces_parent):
        steps += client.unlink_steps(ticket, helpdesk_ticket_id(task.source, linked))
    if wanted is not None:
        steps += client.link_steps(ticket, helpdesk_ticket_id(task.source, wanted))
    return steps
