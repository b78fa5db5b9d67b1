"""The agents use cases (issue 20, individual assignment): replace a tenant's roster, read
it, and keep every process's snapshot in step with the database.

A roster PUT to one process is served there at once and by the others within
``TRIAGE_ROUTING_WATCH_SECONDS`` (:meth:`AgentBook.follow`), like a routing table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from triage.core.routing import Agent
from triage.service.classification import TriageService
from triage.service.poller import Poller
from triage.store.agents import AgentStore
from triage.store.database import Database

log = logging.getLogger("triage")


class AgentBook:
    def __init__(self, store: AgentStore) -> None:
        self.store = store

    @classmethod
    def for_database(cls, database: Database) -> AgentBook:
        return cls(AgentStore(database))

    def start(self, service: TriageService) -> None:
        service.agents = self.store.roster()

    def replace(self, service: TriageService, tenant: str, roster: Sequence[Agent]) -> int:
        """The tenant's agents are now ``roster``; served here at once. The new revision."""
        revision = self.store.replace(tenant, roster)
        service.agents = self.store.roster()
        return revision

    def listed(self, tenant: str) -> list[Agent]:
        return self.store.listed(tenant)

    def check(self, service: TriageService | None) -> None:
        """Read the agents again if another process stored a roster since."""
        if service is not None and self.store.revision() != service.agents.revision:
            roster = service.agents = self.store.roster()
            log.info("agents: %d from roster revision %s", len(roster), roster.revision)

    def follow(self, service: Callable[[], TriageService | None], interval: float) -> Poller:
        poller = Poller("triage-agents-watch", interval, lambda: self.check(service()))
        poller.start()
        return poller
