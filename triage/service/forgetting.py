"""Forget a ticket everywhere (the right to be forgotten): one use case for the API.

Where a ticket's text can be, and what happens to it:

* the similar-ticket store (text, vectors, full-text index): the row is deleted;
* the staff page's queue: the row is deleted;
* webhook deliveries of it (``external_id``): kept without text, so a retry is still known;
* job items (their ticket's ``id``, and the items of those deliveries' jobs): the ticket
  keeps only its id, the answer loses its explanation (the words behind a label);
* incident detection's window (its vector and content words): the row is deleted, and every
  replica rebuilds the window it keeps in memory without it before it detects again (the
  tenant's count of forgotten tickets, ``incident_locks.forgets``); an incident it was in
  keeps its summary, one member fewer in its list.
* e-mail messages of it: kept with their Message-ID and ticket id only, so a copy
  delivered again is still known and a reply still joins the (forgotten) ticket.

Deliveries and jobs carry no tenant: a ``tenant`` narrows the first two only. Feedback holds
labels and the id, no text, and is kept (the live-quality figures count it).
"""

from __future__ import annotations

from dataclasses import dataclass

from triage.similar.service import SimilarService
from triage.store.deliveries import DeliveryStore
from triage.store.incidents import IncidentStore
from triage.store.jobs import JobStore
from triage.store.mail import MailStore
from triage.store.triaged import TriagedStore


@dataclass(frozen=True)
class Forgotten:
    stored: int
    queued: int
    deliveries: int
    job_items: int
    emails: int = 0

    @property
    def found(self) -> bool:
        return any((self.stored, self.queued, self.deliveries, self.job_items, self.emails))


def forget_ticket(
    ticket_id: str,
    *,
    tenant: str | None,
    similar: SimilarService,
    triaged: TriagedStore,
    deliveries: DeliveryStore,
    jobs: JobStore,
    incidents: IncidentStore | None = None,
    mail: MailStore | None = None,
) -> Forgotten:
    """Remove ``ticket_id``'s text from every store (see the module docstring)."""
    stored = similar.delete(ticket_id, tenant=tenant)
    queued = triaged.forget(ticket_id, tenant=tenant)
    redacted, delivery_jobs = deliveries.forget(ticket_id)
    items = jobs.forget(ticket_id, job_ids=delivery_jobs)
    if incidents is not None:
        incidents.forget(ticket_id, tenant=tenant)
    emails = mail.forget(ticket_id, tenant=tenant) if mail is not None else 0
    return Forgotten(stored, queued, redacted, items, emails)
