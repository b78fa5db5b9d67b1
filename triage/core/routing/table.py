"""A routing table: ordered rules that send a classified ticket to a group and its queue.

Rules are tried in order; the first that matches routes the ticket. Where the model has a
learned group head, it proposes a group: with ``order: rules_first`` (the default) a rule
overrides it; with ``model_first`` an automatic group answer goes before the rules. A ticket
neither routes goes to the fallback group. A route is never surer than the heads it read:
its decision is the least certain decision among them (a rule on an unsure tier gives an
unsure route), the group head's own decision for a model route, and ``review`` for the
fallback. Language is a skill: a group that declares its languages and does not speak the
ticket's hands it on along its ``fallback`` chain to the first group that does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from triage.core.decisions import Decision, ancestors

# From most to least certain.
_CERTAINTY = (Decision.AUTO, Decision.SUGGEST, Decision.REVIEW)
DEFAULT_GROUP_HEAD = "group"
DEFAULT_FALLBACK = "triage"
_WORD = re.compile(r"\w+")


def words_of(text: str) -> list[str]:
    """A text's words in lower case: what keywords are matched against."""
    return _WORD.findall(text.lower())


class TicketWords:
    """A ticket's words, as a set for one-word keywords and joined for phrases (lazily)."""

    def __init__(self, text: str) -> None:
        self.tokens = words_of(text)
        self.set = frozenset(self.tokens)

    @cached_property
    def joined(self) -> str:
        return f" {' '.join(self.tokens)} "

    def has(self, phrase: tuple[str, ...]) -> bool:
        if len(phrase) == 1:
            return phrase[0] in self.set
        return all(w in self.set for w in phrase) and f" {' '.join(phrase)} " in self.joined


class RouteSource(StrEnum):
    RULE = "rule"
    MODEL = "model"
    FALLBACK = "fallback"


class Order(StrEnum):
    RULES_FIRST = "rules_first"
    MODEL_FIRST = "model_first"


def least_certain(decisions: list[Decision]) -> Decision:
    """The least certain of some decisions (``auto`` for none)."""
    return max(decisions, key=_CERTAINTY.index, default=Decision.AUTO)


@dataclass(frozen=True)
class HeadView:
    """What a rule reads of one head's answer."""

    label: str
    confidence: float
    decision: Decision


@dataclass(frozen=True)
class RouteInput:
    """One classified ticket as the table sees it. ``text``: subject and body, for keywords."""

    heads: Mapping[str, HeadView]
    text: str = ""
    language: str | None = None
    tenant: str = ""
    channel: str | None = None


@dataclass(frozen=True)
class Group:
    """Where tickets go: a queue, and the languages its people speak (empty: any)."""

    name: str
    queue: str
    languages: frozenset[str] = frozenset()
    fallback: str | None = None


@dataclass(frozen=True)
class Band:
    """A head's confidence between ``low`` and ``high``, both included."""

    head: str
    low: float
    high: float


@dataclass(frozen=True)
class Rule:
    """Every condition given must hold; within one, any listed value will do. A keyword is a
    word or a phrase, matched case-insensitively on whole words of the text."""

    id: str
    group: str
    labels: Mapping[str, frozenset[str]] = field(default_factory=dict)
    languages: frozenset[str] | None = None
    tenants: frozenset[str] | None = None
    channels: frozenset[str] | None = None
    keywords: tuple[tuple[str, ...], ...] = ()  # each a phrase: its words in lower case
    bands: tuple[Band, ...] = ()
    decisions: Mapping[str, frozenset[Decision]] = field(default_factory=dict)
    skills: tuple[str, ...] = ()
    queue: str | None = None

    @property
    def heads_read(self) -> tuple[str, ...]:
        """The heads whose answers the rule reads: its route is no surer than they are."""
        read = [*self.labels, *(b.head for b in self.bands), *self.decisions]
        return tuple(dict.fromkeys(read))

    def matches(self, ticket: RouteInput, words: TicketWords | None) -> bool:
        """Whether the ticket meets every condition; ``words``: its text's (None: the table
        has no keyword rules)."""
        heads = ticket.heads
        for head, wanted in self.labels.items():
            answer = heads.get(head)
            if answer is None or not _label_in(answer.label, wanted):
                return False
        if self.languages is not None and ticket.language not in self.languages:
            return False
        if self.tenants is not None and ticket.tenant not in self.tenants:
            return False
        if self.channels is not None and ticket.channel not in self.channels:
            return False
        if self.keywords and (words is None or not any(words.has(k) for k in self.keywords)):
            return False
        for band in self.bands:
            answer = heads.get(band.head)
            if answer is None or not band.low <= answer.confidence <= band.high:
                return False
        for head, allowed in self.decisions.items():
            answer = heads.get(head)
            if answer is None or answer.decision not in allowed:
                return False
        return True


def _label_in(label: str, wanted: frozenset[str]) -> bool:
    """A label, or one of its parents (``hardware`` takes ``hardware/printer``), is wanted."""
    return label in wanted or any(parent in wanted for parent in ancestors(label))


@dataclass(frozen=True)
class AgentPick:
    """The agent suggested for a route, and why (triage.core.routing.agents)."""

    agent_id: str
    name: str | None
    open_tickets: int
    why: str


@dataclass(frozen=True)
class Route:
    """Where a ticket goes, what it needs, who chose it, and how sure that is."""

    group: str
    queue: str
    skills: tuple[str, ...]
    source: RouteSource
    rule_id: str | None
    decision: Decision
    why: str
    # The least-loaded agent of the group with the skills (triage.core.routing.agents), where
    # the helpdesk sent its agents.
    agent: AgentPick | None = None


@dataclass(frozen=True)
class RoutingTable:
    """Rules in order, the groups they name, the fallback, and the learned head's place."""

    rules: tuple[Rule, ...] = ()
    groups: Mapping[str, Group] = field(default_factory=dict)
    fallback: str = DEFAULT_FALLBACK
    order: Order = Order.RULES_FIRST
    group_head: str = DEFAULT_GROUP_HEAD

    def group(self, name: str) -> Group:
        return self.groups.get(name) or Group(name, name)

    @cached_property
    def _index(self) -> RuleIndex:
        return RuleIndex(self.rules)

    def route(self, ticket: RouteInput) -> Route:
        """The ticket's route (see the module's docstring for the order)."""
        proposal = ticket.heads.get(self.group_head)
        if (
            self.order is Order.MODEL_FIRST
            and proposal is not None
            and proposal.decision is Decision.AUTO
        ):
            return self._model_route(ticket, proposal)
        index = self._index
        words = TicketWords(ticket.text) if index.has_keywords else None
        candidates = index.candidates(ticket, words)
        while candidates:
            lowest = candidates & -candidates
            rule = self.rules[lowest.bit_length() - 1]
            if rule.matches(ticket, words):
                return self._rule_route(ticket, rule)
            candidates ^= lowest
        if proposal is not None and proposal.decision is not Decision.REVIEW:
            return self._model_route(ticket, proposal)
        group, note = self._speaking(self.fallback, ticket.language)
        return Route(
            group.name,
            group.queue,
            _skills((), ticket.language),
            RouteSource.FALLBACK,
            None,
            Decision.REVIEW,
            "no rule matched and no group was proposed by the model" + note,
        )

    def _rule_route(self, ticket: RouteInput, rule: Rule) -> Route:
        decisions = [ticket.heads[h].decision for h in rule.heads_read if h in ticket.heads]
        group, note = self._speaking(rule.group, ticket.language)
        unsure = [h for h in rule.heads_read if h in ticket.heads and _unsure(ticket, h)]
        why = f"rule {rule.id!r} matched"
        if unsure:
            why += f" on an unsure {', '.join(unsure)}"
        return Route(
            group.name,
            rule.queue if rule.queue and group.name == rule.group else group.queue,
            _skills(rule.skills, ticket.language),
            RouteSource.RULE,
            rule.id,
            least_certain(decisions),
            why + note,
        )

    def _model_route(self, ticket: RouteInput, proposal: HeadView) -> Route:
        group, note = self._speaking(proposal.label, ticket.language)
        return Route(
            group.name,
            group.queue,
            _skills((), ticket.language),
            RouteSource.MODEL,
            None,
            proposal.decision,
            f"the {self.group_head} head proposed {proposal.label!r} "
            f"({proposal.confidence:.2f}, {proposal.decision.value})" + note,
        )

    def _speaking(self, name: str, language: str | None) -> tuple[Group, str]:
        """``name``'s group, or the first group down its fallback chain that speaks
        ``language`` (the chain is acyclic: the table was checked when loaded)."""
        group = self.group(name)
        if language is None or not group.languages or language in group.languages:
            return group, ""
        candidate = group
        while candidate.fallback is not None:
            candidate = self.group(candidate.fallback)
            if not candidate.languages or language in candidate.languages:
                return candidate, f"; handed from {name!r}, which does not speak {language!r}"
        return group, f"; no group down {name!r}'s fallbacks speaks {language!r}"


class _ValueIndex:
    """For one condition: the rules without it, and the rules each value lets through."""

    def __init__(self) -> None:
        self.free = 0
        self.by_value: dict[str, int] = {}

    def add(self, bit: int, values: Iterable[str] | None) -> None:
        if values is None:
            self.free |= bit
            return
        for value in values:
            self.by_value[value] = self.by_value.get(value, 0) | bit

    def allowing(self, values: Iterable[str | None]) -> int:
        mask = self.free
        for value in values:
            if value is not None:
                mask |= self.by_value.get(value, 0)
        return mask


class RuleIndex:
    """Which rules may match a ticket, as a bit mask (bit i: rule i), from the labels,
    language, tenant, channel and keywords alone; the candidates are then checked in order.
    With 200 rules it spares trying each (benchmarks/routing.py, part cost)."""

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self.all = (1 << len(rules)) - 1
        heads = {head for rule in rules for head in rule.labels}
        self.heads = {head: _ValueIndex() for head in heads}
        self.context = {name: _ValueIndex() for name in ("languages", "tenants", "channels")}
        self.keywords = _ValueIndex()  # by a phrase's first word
        for i, rule in enumerate(rules):
            bit = 1 << i
            for head, index in self.heads.items():
                index.add(bit, rule.labels.get(head))
            for name, index in self.context.items():
                index.add(bit, getattr(rule, name))
            self.keywords.add(bit, [k[0] for k in rule.keywords] if rule.keywords else None)
        self.has_keywords = bool(self.keywords.by_value)

    def candidates(self, ticket: RouteInput, words: TicketWords | None) -> int:
        mask = self.all
        for head, index in self.heads.items():
            answer = ticket.heads.get(head)
            label = None if answer is None else answer.label
            mask &= index.allowing([label, *ancestors(label)] if label else [])
        mask &= self.context["languages"].allowing([ticket.language])
        mask &= self.context["tenants"].allowing([ticket.tenant])
        mask &= self.context["channels"].allowing([ticket.channel])
        if self.has_keywords and mask & ~self.keywords.free:
            present = words.set & self.keywords.by_value.keys() if words is not None else ()
            mask &= self.keywords.allowing(present)
        return mask


def _unsure(ticket: RouteInput, head: str) -> bool:
    return ticket.heads[head].decision is not Decision.AUTO


def _skills(rule_skills: tuple[str, ...], language: str | None) -> tuple[str, ...]:
    """What the ticket needs of the people who take it: the rule's skills and its language."""
    return (*rule_skills, f"language:{language}") if language else rule_skills
