"""The routing use cases: serve the routing table at start, read it, replace it, roll it back,
and replay recent tickets through a proposed one (issue 20).

Every table is checked against the served model before it is served (a table that fails
leaves the served one as it was) and stored as a new version. At start the newest stored
version is served, unless ``TRIAGE_ROUTING_FILE`` holds a text not yet imported: that file is
then checked and stored as the newest version (an edit of the file wins once; a ``PUT``
after it stays across restarts). Each process looks for a newer stored version every
``TRIAGE_ROUTING_WATCH_SECONDS`` (:meth:`RoutingBook.follow`), so a ``PUT`` or a rollback
answered by one worker or replica reaches the others.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from triage.core.decisions import Decision
from triage.core.errors import RoutingTableError, RoutingVersionNotFoundError
from triage.core.routing import HeadView, Route, RouteInput, RoutingTable, build_table, read_text
from triage.core.text import ticket_text
from triage.service.classification import TriageService
from triage.service.poller import Poller
from triage.settings import Settings
from triage.store.database import Database
from triage.store.routing_tables import RoutingTableStore, StoredTable, text_sha256
from triage.store.triaged import TriagedStore, TriagedTicket

log = logging.getLogger("triage")
API_SOURCE = "api"
DRY_RUN_EXAMPLES = 20


@dataclass(frozen=True)
class RouteChange:
    ticket_id: str
    tenant: str
    before: Route
    after: Route


@dataclass(frozen=True)
class DryRun:
    """The last ``replayed`` triaged tickets routed by the served and a proposed table."""

    replayed: int
    changed: int
    by_group: dict[str, dict[str, int]]  # "before" and "after": tickets per group
    examples: list[RouteChange]


def compile_table(service: TriageService, text: str, *, json_only: bool = False) -> RoutingTable:
    """A table's text, checked against ``service``'s model and languages."""
    heads = {head: service.model.labels(head) for head in service.model.heads}
    languages = service.language_detector.languages
    return build_table(read_text(text, json_only=json_only), heads, languages)


class RoutingBook:
    """The versions of the routing table, and the one ``TriageService.routing`` serves."""

    def __init__(
        self, store: RoutingTableStore, triaged: TriagedStore, routing_file: Path | None = None
    ) -> None:
        self.store = store
        self.triaged = triaged
        self.routing_file = routing_file
        self.version: int | None = None  # the stored version this process serves
        self._refused: int | None = None  # a newer version that does not fit the model

    @classmethod
    def from_settings(cls, database: Database, settings: Settings) -> RoutingBook:
        return cls(
            RoutingTableStore(database),
            TriagedStore.from_settings(database, settings),
            settings.routing_file,
        )

    def start(self, service: TriageService) -> StoredTable | None:
        """Serve the newest table (importing TRIAGE_ROUTING_FILE first when it changed).
        A file that fails its check stops the start: better than serving without it."""
        if self.routing_file is not None:
            self._import_file(service, self.routing_file)
        latest = self.current()
        if latest is None:
            return None
        self.version = latest.version
        try:
            service.routing = compile_table(service, latest.text)
        except RoutingTableError as exc:
            log.error(
                "routing table version %d does not fit model %s (%s): routing by the "
                "fallback and the group head until a table that fits is PUT",
                latest.version,
                service.model.version,
                exc.message,
            )
        return latest

    def _import_file(self, service: TriageService, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RoutingTableError(f"TRIAGE_ROUTING_FILE {path}: cannot be read: {exc}") from exc
        source = f"file:{path.name}"
        imported = self.store.latest_from(source)
        if imported is not None and imported.sha256 == text_sha256(text):
            return
        try:
            compile_table(service, text)
        except RoutingTableError as exc:
            raise RoutingTableError(
                f"TRIAGE_ROUTING_FILE {path}: {exc.message}", details=exc.details
            ) from exc
        stored = self.store.add(text, source=source)
        log.info("routing table from %s stored as version %d", path, stored.version)

    def current(self) -> StoredTable | None:
        latest = self.store.latest(1)
        return latest[0] if latest else None

    def replace(
        self, service: TriageService, text: str, *, json_only: bool = False, author: str | None
    ) -> StoredTable:
        """Check ``text``, keep it as the newest version and serve it."""
        table = compile_table(service, text, json_only=json_only)
        stored = self.store.add(text, source=API_SOURCE, author=author)
        service.routing, self.version = table, stored.version
        return stored

    def rollback(self, service: TriageService, *, author: str | None) -> StoredTable:
        """Serve the version before the newest again, as a new version (history stays whole)."""
        latest = self.store.latest(2)
        if len(latest) < 2:
            raise RoutingVersionNotFoundError("there is no earlier routing table to roll back to")
        previous = latest[1]
        table = compile_table(service, previous.text)
        stored = self.store.add(previous.text, source=f"rollback:{previous.version}", author=author)
        service.routing, self.version = table, stored.version
        return stored

    def check(self, service: TriageService | None) -> None:
        """Serve the newest stored version if another process stored one since."""
        if service is None:
            return
        latest = self.current()
        if latest is None or latest.version in (self.version, self._refused):
            return
        try:
            table = compile_table(service, latest.text)
        except RoutingTableError as exc:
            self._refused = latest.version
            log.error(
                "routing table version %d, stored by another process, does not fit model %s "
                "(%s): still serving version %s",
                latest.version,
                service.model.version,
                exc.message,
                self.version,
            )
            return
        service.routing, self.version = table, latest.version
        log.info("routing table version %d (stored by another process) served", latest.version)

    def follow(self, service: Callable[[], TriageService | None], interval: float) -> Poller:
        """A started thread that serves each newer stored version within ``interval`` s."""
        poller = Poller("triage-routing-watch", interval, lambda: self.check(service()))
        poller.start()
        return poller

    def dry_run(
        self, service: TriageService, text: str, *, json_only: bool = False, last: int = 500
    ) -> DryRun:
        """How many of the last ``last`` triaged tickets a proposed table routes elsewhere
        than the served one, on the answers stored when they were triaged."""
        proposed = compile_table(service, text, json_only=json_only)
        served = service.routing
        tickets = self.triaged.recent(limit=last)
        changes: list[RouteChange] = []
        before: Counter[str] = Counter()
        after: Counter[str] = Counter()
        for ticket in tickets:
            ticket_input = self._replayed(service, ticket)
            old, new = served.route(ticket_input), proposed.route(ticket_input)
            before[old.group] += 1
            after[new.group] += 1
            if (old.group, old.queue) != (new.group, new.queue):
                changes.append(RouteChange(ticket.ticket_id, ticket.tenant, old, new))
        return DryRun(
            replayed=len(tickets),
            changed=len(changes),
            by_group={"before": dict(before), "after": dict(after)},
            examples=changes[:DRY_RUN_EXAMPLES],
        )

    @staticmethod
    def _replayed(service: TriageService, ticket: TriagedTicket) -> RouteInput:
        text = ticket_text([ticket.subject, ticket.body])
        language = service.language_detector.detect(text).code if text else None
        return RouteInput(
            heads={
                head: HeadView(p.label, p.confidence, Decision(p.decision))
                for head, p in ticket.predictions.items()
            },
            text=text,
            language=language,
            tenant=ticket.tenant,
        )
