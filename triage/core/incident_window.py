"""The recent tickets incident detection compares a new one with: their vectors in one array.

A ticket is kept for ``history`` seconds after the newest one seen (the window T is the recent
end of it; the rest is the background the rate of a group is compared with). Rows are added
at the end and dropped in batches, so an addition costs amortised O(dim).

Beside the float32 vectors an int8 copy is kept (:mod:`triage.core.int8_vectors`, a quarter of
the bytes): a scan reads it first, and computes exactly only the cosines it cannot rule out of
a bar (:meth:`TicketWindow.cosines_reaching`; every other one is then known to lie below it).

Each ticket also gets its *level* when added: how similar it is to its nearest tickets of the
background (the mean cosine of its ``neighbours`` nearest, by default ``LEVEL_NEIGHBOURS``,
among the ``REFERENCE_ROWS`` tickets that arrived just before its window began, so a surge
does not raise its own level; computed exactly, over the rows the int8 copy cannot rule out of
the nearest).
Two tickets about a topic the helpdesk rarely sees are alike at a lower cosine than two about
one it sees all day: the embedding places some topics closer together than others, and the
level measures that locally (the hubness correction of cross-lingual retrieval, CSLS).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from triage.core.incident_language import LanguageMeans
from triage.core.int8_vectors import Int8Vectors

NO_INCIDENT = -1
REFERENCE_ROWS = 1024
LEVEL_NEIGHBOURS = 40  # chosen on the tuning streams (benchmarks/incidents.py --refine)
NO_LEVEL = 1.0  # too few tickets yet to know a level: no pair is alike relative to it


@dataclass(frozen=True)
class WindowTicket:
    """A ticket as detection sees it: its vector (unit length), its bounded time (epoch
    seconds), what triage said of it and its content words."""

    ticket_id: str
    at: float
    vector: np.ndarray
    category: str | None = None
    tier: str | None = None
    language: str | None = None
    terms: tuple[str, ...] = ()


class TicketWindow:
    """Recent tickets of one tenant: vectors, times and incident ids in parallel arrays."""

    def __init__(
        self,
        dim: int,
        history: float,
        span: float,
        *,
        capacity: int = 1024,
        neighbours: int = LEVEL_NEIGHBOURS,
        language_neutral: bool = False,
    ) -> None:
        self.dim = dim
        self.neighbours = neighbours  # of the background, whose mean cosine is a level
        self.history = history
        self.span = span  # the window T: a level is measured on tickets before it
        self.vectors = np.zeros((capacity, dim), dtype=np.float32)
        # An int8 copy, read first: only the rows whose cosine it cannot rule out are
        # computed exactly (triage.core.int8_vectors).
        self.codes = Int8Vectors(capacity, dim)
        self.level = np.zeros(capacity, dtype=np.float32)
        self.at = np.zeros(capacity, dtype=np.float64)
        # The newest time seen when each row was added: non-decreasing, so the rows that may
        # lie within a span of a time are a suffix found by bisection, whatever the order.
        self.seen = np.zeros(capacity, dtype=np.float64)
        self.incident = np.full(capacity, NO_INCIDENT, dtype=np.int64)
        # Each ticket's category as a small integer (``category_codes``), to count by category
        # without a Python loop over the tickets.
        self.category = np.zeros(capacity, dtype=np.int32)
        self.category_codes: dict[str | None, int] = {None: 0}
        self.tickets: list[WindowTicket] = []
        self.rows: dict[str, int] = {}
        self.document_frequency: Counter[str] = Counter()
        self.newest = -np.inf
        # Vectors are kept language-neutral (triage.core.incident_language) when asked.
        self.language_means = LanguageMeans(dim) if language_neutral else None
        # The last added ticket's row, its reference rows and the int8 estimates of its
        # cosines with them (and their bounds): the newest block of the background a group of
        # it is then compared with.
        self._reference: tuple[int, int, int, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.tickets)

    def __contains__(self, ticket_id: str) -> bool:
        return ticket_id in self.rows

    def add(self, ticket: WindowTicket) -> int:
        """Keep ``ticket``; returns its row (valid until the next addition)."""
        if ticket.vector.shape != (self.dim,):
            raise ValueError(f"a vector of {ticket.vector.shape} in a window of dim {self.dim}")
        self.newest = max(self.newest, ticket.at)
        self._reference = None  # its rows may move
        self._drop_old()
        row = len(self.tickets)
        if row == len(self.at):
            self._grow()
        vector = ticket.vector
        if self.language_means is not None:
            vector = self.language_means.neutral(ticket.language, vector)
            self.language_means.add(ticket.language, ticket.vector)
        self.vectors[row] = vector
        self.codes.put(row, self.vectors[row])
        self.level[row] = self._level(row, ticket.at)
        self.at[row] = ticket.at
        self.seen[row] = self.newest
        self.incident[row] = NO_INCIDENT
        self.category[row] = self.category_code(ticket.category)
        self.tickets.append(ticket)
        self.rows[ticket.ticket_id] = row
        self.document_frequency.update(ticket.terms)
        return row

    def first_row_after(self, moment: float) -> int:
        """The first row that may have a time at or after ``moment`` (all later rows may too)."""
        return int(np.searchsorted(self.seen[: len(self.tickets)], moment, side="left"))

    def category_code(self, category: str | None) -> int:
        """The integer ``category`` is kept as (a new one gets the next)."""
        return self.category_codes.setdefault(category, len(self.category_codes))

    def row(self, ticket_id: str) -> int | None:
        return self.rows.get(ticket_id)

    def similarities(self, row: int, start: int, end: int) -> np.ndarray:
        """Cosines of ``row`` with the rows ``start:end``, all computed exactly (float32)."""
        sims: np.ndarray = self.vectors[start:end] @ self.vectors[row]
        return sims

    def cosines_reaching(self, row: int, start: int, end: int, bars: np.ndarray) -> np.ndarray:
        """Cosines of ``row`` with the rows ``start:end`` wherever they may reach ``bars``
        (the float32 product, as :meth:`similarities` computes it); elsewhere an upper bound
        of the cosine, below its bar. Only those rows are read in float32: the int8 copy
        bounds the rest."""
        estimate, slack = self._bounds(row, start, end)
        sims: np.ndarray = estimate + slack
        reaching = np.flatnonzero(sims >= bars)
        sims[reaching] = self.vectors[start + reaching] @ self.vectors[row]
        return sims

    def _bounds(self, row: int, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """The int8 estimates of the cosines of ``row`` with the rows ``start:end`` and their
        bounds (those its level was measured with, when it is the last ticket added and those
        are its reference rows: the newest block of the background too)."""
        if self._reference is not None and self._reference[:3] == (row, start, end):
            return self._reference[3], self._reference[4]
        return self.codes.bounds(row, start, end)

    def _level(self, row: int, at: float) -> float:
        """Mean cosine of the ticket's nearest tickets just before its window (of any
        tickets while there are too few such). Only the rows the int8 copy cannot rule out
        of the nearest (whose upper bound reaches the ``k``-th largest lower bound) are
        computed exactly."""
        n = len(self.tickets)
        end = self.first_row_after(at - self.span)
        start = max(0, end - REFERENCE_ROWS)
        k = self.neighbours
        if end - start < k:
            start, end = 0, min(n, REFERENCE_ROWS)
        if end - start < k:
            return NO_LEVEL
        estimate, slack = self.codes.bounds(row, start, end)
        self._reference = (row, start, end, estimate, slack)
        lowest = estimate - slack
        bar = np.partition(lowest, end - start - k)[end - start - k]
        candidates = np.flatnonzero(estimate + slack >= bar)
        sims = self.vectors[start + candidates] @ self.vectors[row]
        nearest = np.partition(sims, len(candidates) - k)[-k:]
        return float(nearest.mean())

    def _grow(self) -> None:
        size = 2 * len(self.at)
        vectors = np.zeros((size, self.dim), dtype=np.float32)
        vectors[: len(self.tickets)] = self.vectors[: len(self.tickets)]
        self.vectors = vectors
        self.codes.resize(size)
        self.level = np.resize(self.level, size)
        self.at = np.resize(self.at, size)
        self.seen = np.resize(self.seen, size)
        self.incident = np.resize(self.incident, size)
        self.category = np.resize(self.category, size)

    def _drop_old(self) -> None:
        n = len(self.tickets)
        old = self.at[:n] < self.newest - self.history
        dropped = np.count_nonzero(old)
        if dropped < max(64, n // 8):  # in batches: each compaction copies the array
            return
        keep = np.flatnonzero(~old)
        for row in np.flatnonzero(old):
            dropped_ticket = self.tickets[row]
            self.document_frequency.subtract(dropped_ticket.terms)
            if self.language_means is not None:
                self.language_means.remove(dropped_ticket.language, dropped_ticket.vector)
        self.document_frequency = +self.document_frequency
        self.vectors[: len(keep)] = self.vectors[keep]
        self.codes.keep(keep)
        self.level[: len(keep)] = self.level[keep]
        self.at[: len(keep)] = self.at[keep]
        self.seen[: len(keep)] = self.seen[keep]
        self.incident[: len(keep)] = self.incident[keep]
        self.category[: len(keep)] = self.category[keep]
        self.tickets = [self.tickets[row] for row in keep]
        self.rows = {t.ticket_id: i for i, t in enumerate(self.tickets)}
