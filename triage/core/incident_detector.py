"""Online incident detection: a surge of similar tickets becomes one candidate incident.

Each new ticket is compared with the recent tickets of its tenant: an int8 copy of their vectors
is scanned first, and bounds every cosine rigorously (:mod:`triage.core.int8_vectors`); only the
rows whose cosine may reach the loosest rule are computed exactly (float32), and only they are
read by the rules, so the decisions are those of an exact scan.

Two tickets are *alike* when their cosine is at least ``tightness``, or at least ``margin`` above
the mean of their two levels (how close each is to its nearest background tickets, see
:mod:`triage.core.incident_window`):

* a ticket **joins** an incident that is still live (seen within ``quiet`` seconds) when it is
  alike to at least ``join_share`` of its members seen within ``window`` seconds of it (and to
  one at least);
* otherwise it **opens** one when, within ``window`` seconds of it, at least ``min_size``
  tickets not yet in an incident (itself included) are nearly alike to it (``margin`` less
  ``CANDIDATE_SLACK``), form a tight group (each on average ``margin`` above the levels of its
  pairs with the others), and arrive at ``rate_ratio`` times the rate at which tickets alike
  to it, of the group's category, arrived over the rest of the history.

``join_share`` keeps two overlapping surges apart: a ticket of the second one is alike to a
member or two of the first, but not to half of them.

Times are the tickets' own (bounded by :func:`bounded_time`), so late and out-of-order arrivals
land where they belong. Nothing here knows of a database: the service keeps the state there.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from triage.core.blas_threads import one_blas_thread
from triage.core.incident_terms import idf_from, top_terms
from triage.core.incident_window import (
    LEVEL_NEIGHBOURS,
    NO_INCIDENT,
    TicketWindow,
    WindowTicket,
)

MAX_GROUP = 64  # the nearest candidates a new group is chosen from
CANDIDATE_SLACK = 0.15  # chosen on the tuning streams (benchmarks/incidents.py)
LINKS_NEEDED = 1  # of a group's members, each is alike to at least this many others
BACKGROUND_BLOCK = 1024  # history rows compared at a time when judging a group's background
MAX_MEDOID = 200  # members compared to choose the parent of a large incident
GROWTH_SECONDS = 600.0
_ROUNDING = 1e-4  # below float32's rounding of a cosine less a level, far below any margin


@dataclass(frozen=True)
class IncidentConfig:
    """What makes a group of tickets an incident (seconds for durations)."""

    min_size: int = 5
    window: float = 3600.0
    tightness: float = 0.5
    margin: float = 0.1
    join_share: float = 0.5
    rate_ratio: float = 4.0
    quiet: float = 1800.0
    history: float = 86400.0
    max_skew: float = 300.0
    candidate_slack: float = CANDIDATE_SLACK
    level_neighbours: int = LEVEL_NEIGHBOURS  # background tickets a level is the mean of
    # Compare language-neutral vectors (each language's mean moved onto the common mean,
    # triage.core.incident_language), so a surge in two languages is one group.
    language_neutral: bool = False


def bounded_time(ticket_at: float | None, now: float, config: IncidentConfig) -> float:
    """The time a ticket counts at: its own, but never ahead of ``now`` by more than the
    allowed clock skew, nor older than the history (a ticket without a time: ``now``)."""
    if ticket_at is None or not math.isfinite(ticket_at):
        return now
    return min(max(ticket_at, now - config.history), now + config.max_skew)


@dataclass
class ActiveIncident:
    """An incident tickets may still join; a dismissed one absorbs its own kind quietly."""

    id: int
    first_seen: float
    last_seen: float
    status: str = "open"

    def joinable(self, at: float, config: IncidentConfig) -> bool:
        return at <= self.last_seen + config.quiet


@dataclass(frozen=True)
class Assessment:
    """What a new ticket does: join an incident, open one with ``members``, or neither."""

    kind: Literal["joined", "opened", "none"]
    incident_id: int | None = None
    members: tuple[str, ...] = ()


NOTHING = Assessment("none")


@dataclass(frozen=True)
class IncidentSummary:
    """What staff see of an incident, computed from its members."""

    members: tuple[str, ...]
    first_seen: float
    last_seen: float
    growth_per_10min: int
    terms: dict[str, list[str]] = field(default_factory=dict)
    category: str | None = None
    tier: str | None = None
    parent_ticket_id: str | None = None


class IncidentDetector:
    """The window of one tenant's recent tickets and its live incidents."""

    def __init__(self, config: IncidentConfig, dim: int) -> None:
        self.config = config
        self.window = TicketWindow(
            dim,
            config.history,
            config.window,
            neighbours=config.level_neighbours,
            language_neutral=config.language_neutral,
        )
        self.active: dict[int, ActiveIncident] = {}
        # Extra tickets a category needs to open (staff dismissed its incidents; see
        # triage.core.incident_feedback), set from outside.
        self.size_raises: dict[str | None, int] = {}
        self._next_id = 1
        self._quiet_from = -np.inf  # no incident of ``active`` is quiet before this time

    def required_size(self, category: str | None) -> int:
        """Tickets a group of ``category`` needs to open an incident."""
        return self.config.min_size + self.size_raises.get(category, 0)

    def add(self, ticket: WindowTicket) -> None:
        with one_blas_thread():
            self.window.add(ticket)

    def assess(self, ticket_id: str) -> Assessment:
        """Does the (added) ticket join a live incident, open one, or neither?"""
        with one_blas_thread():
            return self._assess(ticket_id)

    def _assess(self, ticket_id: str) -> Assessment:
        window, c = self.window, self.config
        row = window.row(ticket_id)
        if row is None:
            raise KeyError(ticket_id)
        n = len(window)
        at = float(window.at[row])
        # Only the rows that may lie within the window are compared here (the rest of the
        # history only once a group qualifies): the scan is the cost of a ticket.
        lo = min(window.first_row_after(at - c.window), row)
        # The rules below read only the few rows alike enough to matter (or in an incident):
        # those whose cosine reaches a bar a hair below the loosest rule's. The rest are ruled
        # out from the int8 copy of the vectors, their cosines never computed exactly.
        loosest = min(c.margin, c.margin - c.candidate_slack)
        bars = self._bars(lo, n, float(window.level[row]), loosest)
        sims = window.cosines_reaching(row, lo, n, bars)
        close = self._within(at, lo, row, np.flatnonzero(sims >= bars))
        # How far each pair lies above the mean of its two levels.
        excess = sims[close] - (window.level[lo + close] + window.level[row]) / 2
        tight = sims[close] >= c.tightness
        near = tight | (excess >= c.margin)
        in_incident = window.incident[lo + close] != NO_INCIDENT
        if near.any() and in_incident.any():
            joined = self._join(at, lo, row, sims, close[near & in_incident])
            if joined is not None:
                return Assessment("joined", joined)
        # Candidates a little less alike than a pair must be: the group is judged on average.
        loose = (tight | (excess >= c.margin - c.candidate_slack)) & ~in_incident
        free = close[loose]
        if free.size + 1 < c.min_size:
            return NOTHING
        free = lo + free[np.argsort(-sims[free], kind="stable")[:MAX_GROUP]]
        group = self._tight_group(row, free)
        if len(group) < c.min_size:
            return NOTHING
        category = _most_common(window.tickets[r].category for r in group)
        if len(group) < self.required_size(category):
            return NOTHING
        if not self._above_background(row, group, category, lo, sims):
            return NOTHING
        group.sort(key=lambda r: (window.at[r], window.tickets[r].ticket_id))
        return Assessment("opened", members=tuple(window.tickets[r].ticket_id for r in group))

    def _within(self, at: float, lo: int, row: int, offsets: np.ndarray) -> np.ndarray:
        """Of the rows ``lo + offsets``, those within the window of ``at`` (``row`` left out)."""
        times = self.window.at[lo + offsets]
        keep = (times >= at - self.config.window) & (times <= at + self.config.window)
        kept: np.ndarray = offsets[keep & (offsets != row - lo)]
        return kept

    def _alike(self, sims: np.ndarray, levels: np.ndarray, level: float) -> np.ndarray:
        """Which of the pairs with these cosines and levels are alike."""
        c = self.config
        return (sims >= c.tightness) | (sims - (levels + level) / 2 >= c.margin)

    def _join(
        self, at: float, lo: int, row: int, sims: np.ndarray, linked: np.ndarray
    ) -> int | None:
        """The live incident the ticket joins: of those it is alike to a member of (``linked``,
        offsets from ``lo``), the first (by its most similar member) it is alike to
        ``join_share`` of the members of, within the window."""
        incident_of = self.window.incident[lo : len(self.window)]
        ordered = linked[np.argsort(-sims[linked], kind="stable")]
        linked_to: list[int] = incident_of[ordered].tolist()
        tried: set[int] = set()
        for incident_id in linked_to:
            if incident_id in tried:
                continue
            tried.add(incident_id)
            incident = self.active.get(incident_id)
            if incident is None or not incident.joinable(at, self.config):
                continue
            members = self._within(at, lo, row, np.flatnonzero(incident_of == incident_id))
            if linked_to.count(incident_id) >= self.config.join_share * len(members):
                return incident_id
        return None

    def _tight_group(self, row: int, candidates: np.ndarray) -> list[int]:
        """The candidates and ``row`` less, one at a time, the member least alike to the
        others on average, until each is on average ``margin`` above the pair's level (a pair
        at least ``tightness`` similar counts as ``margin``); empty if ``row`` drops out. A
        mean, not a count of links: in a small burst each pair is a noisy measure."""
        c = self.config
        members: list[int] = [row, *candidates.tolist()]
        vectors = self.window.vectors[members]
        levels = self.window.level[members]
        sims = vectors @ vectors.T
        scores = sims - (levels[:, None] + levels[None, :]) / 2
        scores = np.where(sims >= c.tightness, np.maximum(scores, c.margin), scores)
        np.fill_diagonal(scores, 0.0)
        # Rows: each member's scores and links with the others (the matrix is symmetric).
        columns = scores.astype(np.float64)
        linked = (scores >= c.margin).astype(np.int64)
        totals = columns.sum(axis=1)
        links = linked.sum(axis=1)
        # Each member's sum of scores and count of links with the members still in, kept up
        # to date as one leaves (its row subtracted) rather than summed again each round; one
        # that left gets an infinite sum and count, so it is never chosen again. The least
        # mean is the least sum (all share the divisor); one alike to none of the others goes
        # first, whatever its mean.
        # (A member that left keeps at least 2 links: it cannot be the least linked.)
        size = len(members)
        while size >= c.min_size:
            worst = int(links.argmin())  # the first of the least linked
            if links[worst] >= LINKS_NEEDED:
                worst = int(totals.argmin())
                if totals[worst] / (size - 1) >= c.margin:
                    return [members[i] for i in np.flatnonzero(np.isfinite(totals))]
            if worst == 0:
                return []
            totals -= columns[worst]
            links -= linked[worst]
            totals[worst] = np.inf
            links[worst] = len(members)
            size -= 1
        return []

    def _above_background(
        self, row: int, group: list[int], category: str | None, lo: int, sims: np.ndarray
    ) -> bool:
        """Is the group ``rate_ratio`` times its background: the share of the traffic that
        tickets this similar to ``row``, of the group's dominant category, made up over the
        earlier history, applied to the traffic of the window around ``row``? (A share, not a
        count per hour, so a busy morning is not a surge of every topic.)

        ``sims``: the cosines of ``row`` with the rows from ``lo`` on (exact wherever they may
        be alike; see :meth:`TicketWindow.cosines_reaching`). The rows before ``lo`` are
        compared newest first, a block at a time, and only until the count of alike ones
        already fails the group: a topic the helpdesk sees all day fails within a block or two,
        and the whole history is read only for a group that may open. A block is read from the
        int8 copy, exactly only where a cosine may reach the rule; only the rows of the earlier
        history and of the category are counted (rows from ``lo`` on are rarely earlier: they
        arrived late)."""
        window, c = self.window, self.config
        n = len(window)
        times = window.at[:n]
        at = float(times[row])
        if min(c.history, at - float(times.min())) - c.window < c.window:
            return True  # too little history to know a background: the size decides
        earlier = (times < at - c.window) & (times >= at - c.history)
        # A row before ``lo`` was seen, so arrived, before the window of ``row``.
        recent = int(
            np.count_nonzero((times[lo:] >= at - c.window) & (times[lo:] <= at + c.window))
        )
        earlier_count = max(int(np.count_nonzero(earlier)), 1)
        code = window.category_codes.get(category, -1)
        level = float(window.level[row])

        def alike_count(start: int, end: int, block: np.ndarray | None) -> int:
            counted = np.flatnonzero(earlier[start:end] & (window.category[start:end] == code))
            if counted.size == 0:
                return 0
            if block is None:
                block = window.cosines_reaching(
                    row, start, end, self._bars(start, end, level, c.margin)
                )
            alike = self._alike(block[counted], window.level[start + counted], level)
            return int(np.count_nonzero(alike))

        def fails(usual: int) -> bool:
            return len(group) < c.rate_ratio * (usual * recent / earlier_count)

        usual = alike_count(lo, n, sims)
        for end in range(lo, 0, -BACKGROUND_BLOCK):
            if fails(usual):
                return False
            usual += alike_count(max(0, end - BACKGROUND_BLOCK), end, None)
        return not fails(usual)

    def _bars(self, start: int, end: int, level: float, margin: float) -> np.ndarray:
        """For the rows ``start:end``, a bar on the cosine a hair below a rule's with a ticket
        of this level: ``margin`` above the mean of the two levels, or ``tightness``."""
        bars = self.window.level[start:end] + level
        bars *= 0.5
        bars += margin - _ROUNDING
        np.minimum(bars, self.config.tightness, out=bars)
        return bars

    def set_membership(
        self, incidents: Iterable[ActiveIncident], members: Mapping[str, int]
    ) -> None:
        """Take the live incidents and the incident of each ticket from outside (the store)."""
        self.active = {incident.id: incident for incident in incidents}
        self._quiet_from = -np.inf
        window = self.window
        window.incident[: len(window)] = NO_INCIDENT
        rows = window.rows
        found = [(rows[t], i) for t, i in members.items() if t in rows]
        if found:
            at, incident_ids = zip(*found, strict=True)
            window.incident[list(at)] = incident_ids

    def attach(self, incident_id: int, ticket_ids: Sequence[str]) -> None:
        """Mark tickets as members of a live incident and move its first and last seen."""
        incident = self.active[incident_id]
        for ticket_id in ticket_ids:
            row = self.window.row(ticket_id)
            if row is not None:
                self.window.incident[row] = incident_id
                at = float(self.window.at[row])
                incident.first_seen = min(incident.first_seen, at)
                incident.last_seen = max(incident.last_seen, at)

    def close_quiet(self, now: float) -> list[int]:
        """End the incidents quiet for longer than ``quiet``; returns their ids."""
        if now < self._quiet_from:
            return []  # none can be quiet yet: the incidents are not looked at
        ended = [i for i, inc in self.active.items() if inc.last_seen < now - self.config.quiet]
        for incident_id in ended:
            del self.active[incident_id]
        seen = [inc.last_seen for inc in self.active.values()]
        # last_seen only moves later, so the earliest now is a bound until one is added.
        self._quiet_from = min(seen, default=np.inf) + self.config.quiet
        return ended

    def observe(self, ticket: WindowTicket) -> Assessment:
        """In memory only (the replay benchmark; the service keeps state in the database):
        close quiet incidents, add the ticket, and apply what it does."""
        self.close_quiet(max(self.window.newest, ticket.at))
        with one_blas_thread():
            self.add(ticket)
            found = self.assess(ticket.ticket_id)
        if found.kind == "joined" and found.incident_id is not None:
            self.attach(found.incident_id, [ticket.ticket_id])
        elif found.kind == "opened":
            incident_id, self._next_id = self._next_id, self._next_id + 1
            self.active[incident_id] = ActiveIncident(incident_id, ticket.at, ticket.at)
            self.attach(incident_id, found.members)
            self._quiet_from = min(self._quiet_from, ticket.at + self.config.quiet)
            found = Assessment("opened", incident_id, found.members)
        return found

    def summary(self, members: Sequence[WindowTicket]) -> IncidentSummary:
        """Members by time, growth in the last 10 minutes, top terms per language, dominant
        category and tier, and the parent: the member most similar to the others."""
        ordered = sorted(members, key=lambda t: (t.at, t.ticket_id))
        last = ordered[-1].at
        idf = idf_from(self.window.document_frequency, len(self.window))
        indonesian = [t.terms for t in ordered if t.language == "id"]
        other = [t.terms for t in ordered if t.language != "id"]
        return IncidentSummary(
            members=tuple(t.ticket_id for t in ordered),
            first_seen=ordered[0].at,
            last_seen=last,
            growth_per_10min=sum(1 for t in ordered if t.at > last - GROWTH_SECONDS),
            terms={"en": top_terms(other, idf), "id": top_terms(indonesian, idf)},
            category=_most_common(t.category for t in ordered),
            tier=_most_common(t.tier for t in ordered),
            parent_ticket_id=_medoid(ordered[:MAX_MEDOID]),
        )


def _most_common(values: Iterable[str | None]) -> str | None:
    counts = Counter(v for v in values if v is not None)
    return counts.most_common(1)[0][0] if counts else None


def _medoid(members: Sequence[WindowTicket]) -> str:
    # Members embedded by an earlier model (another dimension) cannot be compared: left out.
    comparable = [t for t in members if t.vector.shape == members[-1].vector.shape]
    vectors = np.stack([t.vector for t in comparable])
    closeness = (vectors @ vectors.T).sum(axis=1)
    return comparable[int(np.argmax(closeness))].ticket_id  # the earliest of equals
