"""What staff decide about an incident: confirm, dismiss, merge into another, split tickets off.

Each runs under the tenant's incident lock (so it never races a ticket joining), refuses what
the incident's state forbids with a 409 that says why, and is kept as a decision (the record
to tune the minimum size and the tightness from). With incident write-back on, the members'
helpdesk links follow in the same transaction (unlinked on dismiss, moved on merge and split).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from triage.core.errors import IncidentConflictError, IncidentNotFoundError
from triage.service.incident_links import relink_members
from triage.service.incidents import IncidentDetail, IncidentTracker
from triage.store.incidents import IncidentRecord, IncidentSession


@dataclass(frozen=True)
class Actor:
    """Who decides (an API key's name, a staff user; None: the open API) and where."""

    name: str | None = None
    tenants: Sequence[str] | None = None  # None: every tenant


class IncidentActions:
    """The staff actions on incidents."""

    def __init__(self, tracker: IncidentTracker) -> None:
        self.tracker = tracker

    def _tenant(self, incident_id: int, actor: Actor) -> str:
        tenant = self.tracker.store.tenant_of(incident_id)
        if tenant is None or (actor.tenants is not None and tenant not in actor.tenants):
            raise IncidentNotFoundError(f"no incident {incident_id}")
        return tenant

    def _current(self, session: IncidentSession, incident_id: int) -> IncidentRecord:
        record = session.get(incident_id)
        if record is None:
            raise IncidentNotFoundError(f"no incident {incident_id}")
        return self.tracker.current(record)

    def confirm(self, incident_id: int, actor: Actor) -> IncidentDetail:
        """Staff agree it is one incident; it stays open until quiet."""
        with self.tracker.store.locked(self._tenant(incident_id, actor)) as session:
            record = self._current(session, incident_id)
            _refuse_finished(record, "confirm", closed_ok=True)
            if record.confirmed:
                raise IncidentConflictError(f"incident {incident_id} is already confirmed")
            now = self.tracker.clock()
            status = "confirmed" if record.status == "open" else record.status
            session.update(incident_id, now, confirmed=True, status=status)
            session.decide(incident_id, "confirm", actor.name, {}, record.size, now)
        return self.tracker.detail(incident_id)

    def dismiss(self, incident_id: int, actor: Actor) -> IncidentDetail:
        """Not an incident: no longer shown as open; its kind joins it quietly until quiet."""
        with self.tracker.store.locked(self._tenant(incident_id, actor)) as session:
            record = self._current(session, incident_id)
            if record.status == "dismissed":
                raise IncidentConflictError(f"incident {incident_id} is already dismissed")
            _refuse_finished(record, "dismiss", closed_ok=True)
            now = self.tracker.clock()
            session.update(incident_id, now, status="dismissed", confirmed=False)
            session.decide(incident_id, "dismiss", actor.name, {}, record.size, now)
            self._relink(session, incident_id, now)
        return self.tracker.detail(incident_id)

    def merge(self, incident_id: int, into: int, actor: Actor) -> IncidentDetail:
        """Move every member of ``incident_id`` into ``into``; the first ends as merged."""
        if incident_id == into:
            raise IncidentConflictError(f"incident {incident_id} cannot be merged into itself")
        tenant = self._tenant(incident_id, actor)
        if self._tenant(into, actor) != tenant:
            raise IncidentConflictError(
                f"incidents {incident_id} and {into} belong to different tenants"
            )
        with self.tracker.store.locked(tenant) as session:
            source, target = self._current(session, incident_id), self._current(session, into)
            _refuse_finished(source, "merge", closed_ok=True)
            if target.status in ("merged", "dismissed"):
                raise IncidentConflictError(
                    f"incident {into} is {target.status}; merge into a live or closed incident"
                )
            now = self.tracker.clock()
            session.move_all(incident_id, into)
            session.update(incident_id, now, status="merged", merged_into=into, size=0)
            self._summarise(session, into)
            details = {"into": into, "moved": source.size}
            session.decide(incident_id, "merge", actor.name, details, source.size, now)
            self._relink(session, into, now)
        return self.tracker.detail(into)

    def split(self, incident_id: int, ticket_ids: Sequence[str], actor: Actor) -> IncidentDetail:
        """Move ``ticket_ids`` out into a new incident; answers the new one."""
        wanted = list(dict.fromkeys(ticket_ids))
        if not wanted:
            raise IncidentConflictError("name at least one ticket to split off")
        with self.tracker.store.locked(self._tenant(incident_id, actor)) as session:
            record = self._current(session, incident_id)
            _refuse_finished(record, "split", closed_ok=True)
            members = {t.ticket_id for t in session.members(incident_id)}
            strangers = [t for t in wanted if t not in members]
            if strangers:
                raise IncidentConflictError(
                    f"not members of incident {incident_id}: {', '.join(strangers)}",
                    details={"tickets": strangers},
                )
            if len(wanted) == len(members):
                raise IncidentConflictError(
                    f"splitting off every member would leave incident {incident_id} empty"
                )
            now = self.tracker.clock()
            split_off = [t for t in session.members(incident_id) if t.ticket_id in wanted]
            new_id = session.create(self.tracker.summary_row(session.tenant, split_off), now)
            session.assign(new_id, wanted, from_incident=incident_id)
            self._summarise(session, incident_id)
            details = {"tickets": wanted, "new_incident": new_id}
            session.decide(incident_id, "split", actor.name, details, record.size, now)
            self._relink(session, incident_id, now)
            self._relink(session, new_id, now)
        return self.tracker.detail(new_id)

    def _relink(self, session: IncidentSession, incident_id: int, now: datetime) -> None:
        relink_members(session, incident_id, self.tracker.link_sources, now)

    def _summarise(self, session: IncidentSession, incident_id: int) -> None:
        members = session.members(incident_id)
        if members:
            row = self.tracker.summary_row(session.tenant, members)
            session.set_summary(incident_id, row, self.tracker.clock())


_DONE = {"confirm": "confirmed", "dismiss": "dismissed", "merge": "merged", "split": "split"}


def _refuse_finished(record: IncidentRecord, action: str, *, closed_ok: bool = False) -> None:
    if record.status == "merged":
        raise IncidentConflictError(
            f"incident {record.id} was merged into incident {record.merged_into}; "
            f"{action} that one instead",
            details={"merged_into": record.merged_into},
        )
    if record.status == "dismissed" and action != "dismiss":
        raise IncidentConflictError(
            f"incident {record.id} is dismissed; it cannot be {_DONE[action]}"
        )
    if record.status == "closed" and not closed_ok:
        raise IncidentConflictError(f"incident {record.id} is closed; it cannot be {_DONE[action]}")
