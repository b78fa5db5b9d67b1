"""Resolved-ticket ingestion: solved tickets become the records similar-ticket search returns.

Two edges feed it: ``POST /v1/tickets/resolved`` (:func:`ingest_resolved`) and ``triage index
build`` (a ticket file, read by :mod:`triage.training.resolved_file`, then
:func:`index_resolved`). Both build their records with :func:`resolved_record` and store them
with :func:`store_resolved`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from triage.core.artifacts import artifact_embedder, read_manifest
from triage.core.embeddings import Embedder
from triage.core.errors import BatchTooLargeError
from triage.core.registry import served_model_dir
from triage.settings import Settings
from triage.similar.results import AddResult
from triage.similar.service import SimilarService
from triage.store.database import Database
from triage.store.records import Status, TicketRecord, Visibility
from triage.store.schema import utcnow

# ``progress(description, total)``: a context whose value is told how many tickets are done.
Progress = Callable[[str, int | None], AbstractContextManager[Callable[[int], object]]]


def _silent(description: str, total: int | None) -> AbstractContextManager[Callable[[int], object]]:
    return nullcontext(lambda done: None)


class ResolvedFields(Protocol):
    """A solved ticket as a caller sends it (``ResolvedTicketIn`` has these fields)."""

    @property
    def id(self) -> str: ...
    @property
    def subject(self) -> str | None: ...
    @property
    def body(self) -> str | None: ...
    @property
    def resolution(self) -> str | None: ...
    @property
    def category(self) -> str | None: ...
    @property
    def tier(self) -> str | None: ...
    @property
    def resolved_at(self) -> datetime | None: ...
    @property
    def tenant(self) -> str | None: ...
    @property
    def visibility(self) -> str: ...


@dataclass(frozen=True)
class IndexReport:
    """What ``index_resolved`` stored, and where."""

    stored: int
    embedded: int
    unchanged: int
    database: str  # described, without its password
    backend: str


def resolved_record(
    ticket_id: str,
    *,
    now: datetime,
    subject: str | None = None,
    body: str | None = None,
    resolution: str | None = None,
    category: str | None = None,
    tier: str | None = None,
    resolved_at: datetime | None = None,
    tenant: str | None = None,
    visibility: str | None = None,
) -> TicketRecord:
    """A solved ticket as stored: resolved ``now`` unless told when, in no tenant unless
    told which, and public unless ``visibility`` says internal."""
    return TicketRecord(
        ticket_id=ticket_id,
        subject=subject,
        body=body,
        resolution=resolution,
        category=category,
        tier=tier,
        resolved_at=resolved_at or now,
        tenant=tenant or "",
        visibility=Visibility(visibility or Visibility.PUBLIC),
        status=Status.RESOLVED,
    )


def resolved_records(tickets: Sequence[ResolvedFields]) -> list[TicketRecord]:
    """The records of solved tickets sent to the API (a time without a zone is local time)."""
    now = utcnow()
    return [
        resolved_record(
            t.id,
            now=now,
            subject=t.subject,
            body=t.body,
            resolution=t.resolution,
            category=t.category,
            tier=t.tier,
            resolved_at=t.resolved_at.astimezone() if t.resolved_at else None,
            tenant=t.tenant,
            visibility=t.visibility,
        )
        for t in tickets
    ]


def store_resolved(
    similar: SimilarService,
    records: Sequence[TicketRecord],
    *,
    reembed: bool = False,
    progress: Progress | None = None,
) -> AddResult:
    """Add or update ``records`` (a ticket whose text has not changed is not embedded again).

    ``reembed``: first embed every stored ticket again, for a store built with another
    embedder (``similar`` must then have been opened with ``adopt=True``).
    """
    progress = progress or _silent
    if reembed:
        with progress("re-embedding stored tickets", None) as done:
            similar.reembed_all(progress=done)
    with progress("indexing", len(records)) as done:
        return similar.add(records, progress=done)


def ingest_resolved(
    similar: SimilarService, tickets: Sequence[ResolvedFields], *, max_batch: int
) -> AddResult:
    """Store solved tickets sent to the API, at most ``max_batch`` in one call."""
    if len(tickets) > max_batch:
        raise BatchTooLargeError(
            f"{len(tickets)} tickets in one batch; the limit is {max_batch}",
            details={"limit": max_batch, "size": len(tickets)},
        )
    return store_resolved(similar, resolved_records(tickets))


def serving_embedder(settings: Settings, model_dir: Path | None = None) -> Embedder:
    """The body that embeds stored tickets: the one that answers requests (the model's ONNX
    export when it has one), of the model in ``model_dir``, else the active or newest one."""
    path = model_dir or served_model_dir(settings.models_dir)
    return artifact_embedder(
        path,
        read_manifest(path),
        embedder_path=settings.embedder_path,
        threads=settings.threads,
        cache_dir=settings.cache_dir,
    )


def index_resolved(
    records: Sequence[TicketRecord],
    embedder: Embedder,
    settings: Settings,
    *,
    reembed: bool = False,
    progress: Progress | None = None,
) -> IndexReport:
    """Store ``records``, embedded by ``embedder``, in the configured database."""
    with Database.from_settings(settings) as database:
        similar = SimilarService.from_settings(database, embedder, settings, adopt=reembed)
        try:
            result = store_resolved(similar, records, reembed=reembed, progress=progress)
        finally:
            similar.close()
        return IndexReport(
            stored=len(result.row_ids),
            embedded=result.embedded,
            unchanged=result.unchanged,
            database=database.describe(),
            backend=similar.backend,
        )
