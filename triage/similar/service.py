"""Similar resolved tickets and likely duplicates: what the HTTP layer asks of the store.

Ticket text is prepared by the one preprocessing function (:func:`triage.core.text.ticket_text`)
and embedded by the served model's embedder, so a ticket's vector is the one the
classifier sees. The store records which embedder made its vectors and refuses to mix.

With ``redact_pii``, e-mail addresses, phone numbers and signature names are replaced in
the subject, body and resolution before they are stored (:func:`triage.core.redaction.redact_pii`);
a resolved ticket is embedded from that stored text, so re-embedding it gives the same vector.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from triage.core.embeddings import Embedder
from triage.core.errors import InvalidTicketError, StoreMismatchError, TicketTooLargeError
from triage.core.language import DEFAULT_LANGUAGES, UNDETERMINED, language_detector
from triage.core.redaction import redact_pii
from triage.core.text import subject_text, ticket_text
from triage.similar.hybrid import DEFAULT_HYBRID, HybridSettings, fuse
from triage.similar.lexical import LexicalSearch
from triage.similar.results import AddResult, Candidates, Match, SimilarResult, embedder_key
from triage.similar.search import EmbeddedSearch, PgVectorSearch, VectorSearch, pgvector_available
from triage.similar.subjects import embed_with_subjects, query_subject_vector
from triage.store.database import Database
from triage.store.records import Filters, Status, StoredTicket, TicketRecord
from triage.store.schema import utcnow
from triage.store.ticket_rows import text_digest
from triage.store.tickets import TicketStore

if TYPE_CHECKING:
    from triage.settings import Settings

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]

LANGUAGE_CONFIDENCE = 0.9


@dataclass(frozen=True)
class PreparedTickets:
    """Records as kept, and by position the text embedded, the subject embedded apart (None:
    none of its own) and the text's digest."""

    records: list[TicketRecord]
    texts: list[str]
    subjects: list[str | None]
    digests: list[str]


class SimilarService:
    """Adds, forgets and finds tickets; one instance per process, shared by requests."""

    def __init__(
        self,
        store: TicketStore,
        search: VectorSearch,
        embedder: Embedder,
        *,
        duplicate_threshold: float = 0.9,
        duplicate_window: timedelta = timedelta(days=3),
        max_text_chars: int = 20_000,
        languages: Sequence[str] = DEFAULT_LANGUAGES,
        redact_pii: bool = False,
        cache_dir: Path | None = None,
        hybrid: HybridSettings = DEFAULT_HYBRID,
    ) -> None:
        self.store = store
        self.search_backend = search
        self.lexical = LexicalSearch(store)
        self.hybrid = hybrid
        self.embedder = embedder
        self.duplicate_threshold = duplicate_threshold
        self.duplicate_window = duplicate_window
        self.max_text_chars = max_text_chars
        self.language_detector = language_detector(languages, cache_dir=cache_dir)
        self.redact_pii = redact_pii
        self._last_purge = utcnow()

    @classmethod
    def open(
        cls,
        database: Database,
        embedder: Embedder,
        *,
        backend: str = "auto",
        snapshot: Path | None = None,
        hnsw_threshold: int | None = None,
        adopt: bool = False,
        **options: Any,
    ) -> SimilarService:
        """Pick the backend ('auto': pgvector when PostgreSQL has it, else embedded).

        A store whose vectors come from another embedder is refused, unless ``adopt``: then
        its vectors are dropped (call :meth:`reembed_all` to make new ones).
        """
        probe = TicketStore(database)
        use_pgvector = backend == "pgvector" or (backend == "auto" and pgvector_available(probe))
        store = TicketStore(database, pgvector=use_pgvector)
        key = embedder_key(embedder)
        known = store.meta("embedder")
        if known is None:
            store.set_meta("embedder", key)
        elif known != key and adopt:
            log.warning("ticket store: dropping vectors of %s for %s", known, key)
            store.forget_vectors()
            store.set_meta("embedder", key)
        elif known != key:
            raise StoreMismatchError(
                f"the ticket store holds vectors of {known.get('name')!r}, the model embeds "
                f"with {key.get('name')!r}; rebuild it with 'triage index build'",
                details={"store": known, "model": key},
            )
        dim = int(key["dim"])
        search: VectorSearch
        if use_pgvector:
            search = PgVectorSearch(store, dim)
        else:
            extra = {} if hnsw_threshold is None else {"hnsw_threshold": hnsw_threshold}
            search = EmbeddedSearch(store, dim, snapshot=snapshot, **extra)
        log.info(
            "ticket store: %s backend, %d resolved, %d open",
            "pgvector" if use_pgvector else "embedded",
            store.count(Status.RESOLVED),
            store.count(Status.OPEN),
        )
        return cls(store, search, embedder, **options)

    @classmethod
    def from_settings(
        cls, database: Database, embedder: Embedder, settings: Settings, *, adopt: bool = False
    ) -> SimilarService:
        """The store as configured (backend, snapshot, limits, languages) for ``embedder``."""
        return cls.open(
            database,
            embedder,
            backend=settings.similar_backend,
            snapshot=settings.data_dir / "vectors" / "index",
            hnsw_threshold=settings.hnsw_threshold,
            adopt=adopt,
            duplicate_threshold=settings.duplicate_threshold,
            duplicate_window=timedelta(hours=settings.duplicate_window_hours),
            max_text_chars=settings.max_text_chars,
            languages=settings.languages,
            cache_dir=settings.cache_dir,
            redact_pii=settings.redact_pii,
        )

    @property
    def backend(self) -> str:
        return "pgvector" if isinstance(self.search_backend, PgVectorSearch) else "embedded"

    # -- text and vectors ------------------------------------------------------------------

    def text(self, subject: str | None, body: str | None) -> str:
        size = len(subject or "") + len(body or "")
        if size > self.max_text_chars:
            raise TicketTooLargeError(
                f"subject and body are {size} characters long; the limit is {self.max_text_chars}",
                details={"limit": self.max_text_chars, "size": size},
            )
        text = ticket_text([subject, body])
        if not text:
            raise InvalidTicketError("a ticket needs a non-empty subject or body")
        return text

    def _stored(self, record: TicketRecord) -> TicketRecord:
        """The record as it may be kept: with personal data replaced when ``redact_pii``."""
        if not self.redact_pii:
            return record
        return replace(
            record,
            subject=redact_pii(record.subject),
            body=redact_pii(record.body),
            resolution=redact_pii(record.resolution),
        )

    def prepare(self, records: Sequence[TicketRecord]) -> PreparedTickets:
        """Records as they are kept (redacted when ``redact_pii``), with the text, subject and
        digest each is embedded and compared by; an invalid record raises, named by position.
        (The scale-out engine, :mod:`triage.scale`, prepares its tickets with this too.)"""
        texts: list[str] = []
        for index, record in enumerate(records):
            try:
                texts.append(self.text(record.subject, record.body))
            except (InvalidTicketError, TicketTooLargeError) as exc:
                raise type(exc)(
                    f"tickets[{index}] ({record.ticket_id!r}): {exc.message}", details=exc.details
                ) from exc
        if self.redact_pii:  # checked as given above; embedded and stored as kept
            records = [self._stored(record) for record in records]
            texts = [ticket_text([record.subject, record.body]) for record in records]
        subjects = [subject_text(record.subject, record.body) for record in records]
        return PreparedTickets(list(records), texts, subjects, [text_digest(t) for t in texts])

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> FloatArray:
        vectors = self.embedder.encode(list(texts), show_progress=progress)
        return np.asarray(vectors, dtype=np.float32)

    # -- writes ----------------------------------------------------------------------------

    def add(
        self,
        records: Sequence[TicketRecord],
        *,
        batch_size: int = 256,
        progress: Callable[[int], object] | None = None,
    ) -> AddResult:
        """Add or update tickets; only those whose text changed are embedded again."""
        prepared = self.prepare(records)
        records, texts, subjects, digests = (
            prepared.records,
            prepared.texts,
            prepared.subjects,
            prepared.digests,
        )
        guesses = self.language_detector.detect_many(texts)
        records = [
            replace(record, language=guess.code)
            for record, guess in zip(records, guesses, strict=True)
        ]
        row_ids: list[int] = []
        embedded = 0
        for start in range(0, len(records), batch_size):
            chunk = records[start : start + batch_size]
            chunk_digests = digests[start : start + batch_size]
            known = self.store.digests((r.tenant, r.ticket_id) for r in chunk)
            stale = [
                i
                for i, (r, d) in enumerate(zip(chunk, chunk_digests, strict=True))
                if known.get((r.tenant, r.ticket_id)) != d
            ]
            stale_texts = [texts[start + i] for i in stale]
            stale_subjects = [subjects[start + i] for i in stale]
            by_position, by_subject = embed_with_subjects(
                self.embed, stale_texts, stale_subjects, stale
            )
            row_ids.extend(self.store.upsert(chunk, chunk_digests, by_position, by_subject))
            embedded += len(stale)
            if progress is not None:
                progress(len(chunk))
        self.search_backend.refresh()
        return AddResult(row_ids=row_ids, embedded=embedded, unchanged=len(records) - embedded)

    def reembed_all(self, *, progress: Callable[[int], object] | None = None) -> int:
        """Embed every stored ticket whose vector is missing or stale; returns how many."""
        embedded = 0
        after = 0
        while page := self.store.records(after=after, limit=1_000):
            embedded += self.add([t.record for t in page], progress=progress).embedded
            after = page[-1].row_id
        return embedded

    def remember_open(self, record: TicketRecord, vector: FloatArray) -> None:
        """Keep a just-triaged ticket (with an id) as open, for later duplicate detection.

        A ticket already stored as resolved stays resolved.
        """
        existing = self.store.get(record.ticket_id, tenant=record.tenant)
        if existing is not None and existing.record.status is Status.RESOLVED:
            return
        text = self.text(record.subject, record.body)
        if self.redact_pii:
            # The vector stays the classifier's (of the original text); the text is redacted.
            record = self._stored(record)
            text = ticket_text([record.subject, record.body])
        language = self.language_detector.detect(text).code
        record = replace(record, status=Status.OPEN, language=language)
        # No subject vector kept: an empty digest marks it missing (embedded once resolved).
        apart = subject_text(record.subject, record.body) is not None
        digest = "" if apart else text_digest(text)
        self.store.upsert([record], [digest], {0: vector})
        now = utcnow()
        if now - self._last_purge > timedelta(hours=1):
            self._last_purge = now
            self.store.purge_open(now - self.duplicate_window)

    def delete(self, ticket_id: str, *, tenant: str | None = None) -> int:
        """Forget a ticket everywhere; it is never returned again. Returns rows removed."""
        removed = self.store.delete(ticket_id, tenant=tenant)
        self.search_backend.refresh()
        return len(removed)

    # -- search ----------------------------------------------------------------------------

    def find(
        self,
        vector: FloatArray,
        *,
        text: str | None = None,
        subject: str | None = None,
        k: int = 5,
        tenant: str | None = None,
        category: str | None = None,
        max_age: timedelta | None = None,
        min_score: float = 0.0,
        exclude: tuple[str, str] | None = None,
    ) -> SimilarResult:
        """The k most similar resolved tickets, and open tickets that look like duplicates.

        ``text``: the query's model text; given, resolved tickets are ranked by the fusion of
        the dense, lexical and (long query) subject rankings (:mod:`triage.similar.hybrid`;
        ``subject``: the query's subject), else by the dense one. Scores are cosine either
        way; duplicates are open tickets at or above ``duplicate_threshold`` by cosine.
        ``exclude``: (tenant, ticket_id) of the query ticket itself, never its own match.
        """
        self.search_backend.refresh()  # once: both searches below see the same writes
        now = utcnow()
        since: datetime | None = now - max_age if max_age is not None else None
        filters = Filters(Status.RESOLVED, tenant, category, since)
        resolved = (
            self._search(vector, k, filters, exclude)
            if text is None
            else self._hybrid(vector, text, subject, k, filters, exclude)
        )
        open_recent = self._search(
            vector,
            k,
            Filters(Status.OPEN, tenant, None, now - self.duplicate_window),
            exclude,
        )
        similar = [
            Match(t, s, s >= self.duplicate_threshold) for t, s in resolved if s >= min_score
        ]
        duplicates = [Match(t, s, True) for t, s in open_recent if s >= self.duplicate_threshold]
        return SimilarResult(similar=similar, duplicates=duplicates)

    def _search(
        self, vector: FloatArray, k: int, filters: Filters, exclude: tuple[str, str] | None
    ) -> list[tuple[StoredTicket, float]]:
        hits = self.search_backend.search(vector, k + (1 if exclude else 0), filters)
        found = self.store.fetch([row for row, _ in hits])
        out = []
        for row, score in hits:
            ticket = found.get(row)
            if ticket is None:
                continue  # deleted between the search and the fetch
            if exclude and (ticket.record.tenant, ticket.record.ticket_id) == exclude:
                continue
            out.append((ticket, min(1.0, max(-1.0, score))))
        return out[:k]

    def candidates(
        self,
        vector: FloatArray,
        text: str,
        depth: int,
        filters: Filters,
        exclude: tuple[str, str] | None = None,
        subject_vector: FloatArray | None = None,
    ) -> Candidates:
        """What each retriever found before fusion (:class:`Candidates`; by subject too, given
        the query's ``subject_vector``)."""
        guess = self.language_detector.detect(text)
        # A short query is often misjudged ("paper jam": Indonesian at 0.68); only a sure,
        # unmixed guess keeps other-language candidates out of the lexical ranking.
        sure = guess.confidence >= LANGUAGE_CONFIDENCE and not guess.mixed
        language = guess.code if sure and guess.code != UNDETERMINED else None
        dense = self.search_backend.search(vector, depth, filters)
        lexical = self.lexical.search(text, depth, filters, language=language)
        by_subject = []
        if subject_vector is not None:
            by_subject = self.search_backend.search(subject_vector, depth, filters, subject=True)
        # Every candidate passed the filters; checked again with them, their rows are read
        # from one index (SQLite), not from the rows themselves.
        found = self.store.keys(
            list(dict.fromkeys(row for row, _ in dense + lexical + by_subject)), filters
        )

        def kept(row: int) -> bool:  # not deleted since the search, not the query itself
            key = found.get(row)
            return key is not None and (exclude is None or (key.tenant, key.ticket_id) != exclude)

        dense_rows = [row for row, _ in dense if kept(row)]
        return Candidates(
            dense=dense_rows,
            lexical=[row for row, _ in lexical if kept(row)],
            other_language=[
                row
                for row in dense_rows
                if language is not None and found[row].language not in (language, None)
            ],
            cosine=dict(dense),
            subject=[row for row, _ in by_subject if kept(row)],
        )

    def subject_vector(self, vector: FloatArray, text: str, subject: str | None) -> FloatArray:
        """The query's subject vector (:func:`triage.similar.subjects.query_subject_vector`)."""
        return query_subject_vector(self.embed, vector, text, subject)

    def _hybrid(
        self,
        vector: FloatArray,
        text: str,
        subject: str | None,
        k: int,
        filters: Filters,
        exclude: tuple[str, str] | None,
    ) -> list[tuple[StoredTicket, float]]:
        depth = max(k + (1 if exclude else 0), self.hybrid.depth)
        long = self.hybrid.ranks_subject(text)
        subject_vector = self.subject_vector(vector, text, subject) if long else None
        found = self.candidates(vector, text, depth, filters, exclude, subject_vector)
        rows = fuse(
            found.dense, found.lexical, found.other_language, self.hybrid, k, subject=found.subject
        )
        cosine = dict(found.cosine)
        cosine.update(self.search_backend.scores(vector, [r for r in rows if r not in cosine]))
        tickets = self.store.fetch(rows)
        return [
            (tickets[r], min(1.0, max(-1.0, cosine[r])))
            for r in rows
            if r in cosine and r in tickets
        ]

    def close(self) -> None:
        self.search_backend.close()
