"""A routing table from its data, checked against the served model before it is served.

Refused, with an error naming the rule: a head or label the model does not know, a language
it does not detect, a condition that can never hold (an empty list, an empty confidence
band), a rule that an earlier one always takes first, a duplicate id, and a cycle of group
fallbacks. Nothing is served unless the whole table passes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from triage.core.decisions import Decision
from triage.core.errors import RoutingTableError
from triage.core.routing.table import (
    DEFAULT_FALLBACK,
    DEFAULT_GROUP_HEAD,
    Band,
    Group,
    Order,
    RoutingTable,
    Rule,
    words_of,
)

_TOP = {"rules", "groups", "fallback", "order", "group_head"}
_RULE = {"id", "when", "group", "queue", "skills"}
_CONTEXT = {"language", "tenant", "channel", "keywords", "confidence", "decision"}


def build_table(
    data: Any, heads: Mapping[str, Collection[str]], languages: Collection[str]
) -> RoutingTable:
    """A table from its data; ``heads``: the served model's labels per head; ``languages``:
    the codes the service detects."""
    if data is None:
        data = {}
    top = _mapping(data, "the routing table")
    _no_unknown(top, _TOP, "the routing table")
    groups = _groups(top.get("groups") or {})
    fallback = _text(top.get("fallback", DEFAULT_FALLBACK), "fallback")
    try:
        order = Order(top.get("order", Order.RULES_FIRST))
    except ValueError:
        raise RoutingTableError(
            f"order must be one of {', '.join(o.value for o in Order)}"
        ) from None
    rules_data = top.get("rules") or []
    if not isinstance(rules_data, list):
        raise RoutingTableError("rules must be a list")
    rules: list[Rule] = []
    for position, item in enumerate(rules_data, 1):
        rule = _rule(item, position, heads, languages)
        if any(r.id == rule.id for r in rules):
            raise RoutingTableError(f"rule {rule.id!r}: the id is used twice", details=_at(rule))
        for earlier in rules:
            if _covers(earlier, rule):
                raise RoutingTableError(
                    f"rule {rule.id!r} can never match: rule {earlier.id!r} above it takes "
                    "every ticket it would",
                    details=_at(rule),
                )
        rules.append(rule)
    table = RoutingTable(
        tuple(rules),
        groups,
        fallback,
        order,
        _text(top.get("group_head", DEFAULT_GROUP_HEAD), "group_head"),
    )
    _check_fallbacks(table)
    return table


def _at(rule: Rule) -> dict[str, str]:
    return {"rule": rule.id}


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise RoutingTableError(f"{what} must be a mapping, not {type(value).__name__}")
    return value


def _no_unknown(data: Mapping[str, Any], known: set[str], what: str) -> None:
    unknown = sorted(str(k) for k in data if k not in known)
    if unknown:
        raise RoutingTableError(
            f"{what}: unknown key(s) {', '.join(unknown)}; expected {', '.join(sorted(known))}"
        )


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool) or not str(value):
        raise RoutingTableError(f"{what} must be a non-empty text")
    return str(value)


def _texts(value: Any, what: str) -> tuple[str, ...]:
    """One text or a list of them; an empty list is refused (it could never match)."""
    values = value if isinstance(value, list) else [value]
    if not values:
        raise RoutingTableError(f"{what} is an empty list: the rule can never match")
    return tuple(_text(v, what) for v in values)


def _groups(data: Any) -> dict[str, Group]:
    groups = {}
    for name, spec in _mapping(data, "groups").items():
        spec = _mapping(spec or {}, f"group {name!r}")
        _no_unknown(spec, {"queue", "languages", "fallback"}, f"group {name!r}")
        fallback = spec.get("fallback")
        groups[str(name)] = Group(
            str(name),
            _text(spec.get("queue", name), f"group {name!r}: queue"),
            frozenset(_texts(spec["languages"], f"group {name!r}: languages"))
            if "languages" in spec
            else frozenset(),
            None if fallback is None else _text(fallback, f"group {name!r}: fallback"),
        )
    return groups


def _rule(
    item: Any, position: int, heads: Mapping[str, Collection[str]], languages: Collection[str]
) -> Rule:
    spec = _mapping(item, f"rule {position}")
    rule_id = _text(spec.get("id", f"#{position}"), f"rule {position}: id")
    name = f"rule {rule_id!r}"
    _no_unknown(spec, _RULE, name)
    if "group" not in spec:
        raise RoutingTableError(f"{name}: names no group to route to", details={"rule": rule_id})
    when = _mapping(spec.get("when") or {}, f"{name}: when")
    try:
        return _conditions(rule_id, spec, when, heads, languages)
    except RoutingTableError as exc:
        if exc.message.startswith(name):
            raise
        raise RoutingTableError(f"{name}: {exc.message}", details={"rule": rule_id}) from None


def _conditions(
    rule_id: str,
    spec: Mapping[str, Any],
    when: Mapping[str, Any],
    heads: Mapping[str, Collection[str]],
    languages: Collection[str],
) -> Rule:
    unknown = sorted(str(k) for k in when if k not in _CONTEXT and k not in heads)
    if unknown:
        raise RoutingTableError(
            f"unknown condition(s) {', '.join(unknown)}: the served model's heads are "
            f"{', '.join(heads)}; the others are {', '.join(sorted(_CONTEXT))}"
        )
    labels = {
        head: _known(head, _texts(when[head], head), heads[head]) for head in heads if head in when
    }
    langs = None
    if "language" in when:
        langs = _known("language", _texts(when["language"], "language"), languages)
    return Rule(
        id=rule_id,
        group=_text(spec["group"], "group"),
        labels=labels,
        languages=langs,
        tenants=frozenset(_texts(when["tenant"], "tenant")) if "tenant" in when else None,
        channels=frozenset(_texts(when["channel"], "channel")) if "channel" in when else None,
        keywords=_phrases(when["keywords"]) if "keywords" in when else (),
        bands=_bands(when.get("confidence"), heads),
        decisions=_decisions(when.get("decision"), heads),
        skills=_texts(spec["skills"], "skills") if "skills" in spec else (),
        queue=_text(spec["queue"], "queue") if "queue" in spec else None,
    )


def _phrases(value: Any) -> tuple[tuple[str, ...], ...]:
    phrases = []
    for keyword in _texts(value, "keywords"):
        words = tuple(words_of(keyword))
        if not words:
            raise RoutingTableError(f"keyword {keyword!r} has no word in it: it can never match")
        phrases.append(words)
    return tuple(phrases)


def _known(what: str, values: Sequence[str], known: Collection[str]) -> frozenset[str]:
    """Values the model can answer: a label, or a parent of hierarchical labels."""
    parents = {label.rsplit("/", i)[0] for label in known for i in range(label.count("/") + 1)}
    missing = [v for v in values if v not in parents]
    if missing:
        raise RoutingTableError(
            f"{what} {', '.join(map(repr, missing))} is not a label the served model knows "
            f"(it knows {', '.join(sorted(known))})"
        )
    return frozenset(values)


def _bands(data: Any, heads: Mapping[str, Collection[str]]) -> tuple[Band, ...]:
    bands = []
    for head, spec in _mapping(data or {}, "confidence").items():
        if head not in heads:
            raise RoutingTableError(f"confidence of an unknown head {head!r}")
        spec = _mapping(spec, f"confidence of {head}")
        _no_unknown(spec, {"min", "max"}, f"confidence of {head}")
        try:
            low, high = float(spec.get("min", 0.0)), float(spec.get("max", 1.0))
        except (TypeError, ValueError):
            raise RoutingTableError(f"confidence of {head}: min and max are numbers") from None
        if not 0.0 <= low <= high <= 1.0:
            raise RoutingTableError(
                f"confidence of {head} between {low:g} and {high:g} can never hold: "
                "0 <= min <= max <= 1"
            )
        bands.append(Band(str(head), low, high))
    return tuple(bands)


def _decisions(data: Any, heads: Mapping[str, Collection[str]]) -> dict[str, frozenset[Decision]]:
    decisions = {}
    for head, spec in _mapping(data or {}, "decision").items():
        if head not in heads:
            raise RoutingTableError(f"decision of an unknown head {head!r}")
        values = _texts(spec, f"decision of {head}")
        wrong = [v for v in values if v not in {d.value for d in Decision}]
        if wrong:
            raise RoutingTableError(
                f"decision of {head}: {', '.join(map(repr, wrong))} is not auto, suggest or review"
            )
        decisions[str(head)] = frozenset(Decision(v) for v in values)
    return decisions


def _covers(earlier: Rule, later: Rule) -> bool:
    """Whether every ticket ``later`` matches is matched by ``earlier`` first."""
    for head, wanted in earlier.labels.items():
        if head not in later.labels or not later.labels[head] <= wanted:
            return False
    for mine, theirs in (
        (earlier.languages, later.languages),
        (earlier.tenants, later.tenants),
        (earlier.channels, later.channels),
    ):
        if mine is not None and (theirs is None or not theirs <= mine):
            return False
    if earlier.keywords and not (
        later.keywords and all(any(_within(k, t) for k in earlier.keywords) for t in later.keywords)
    ):
        return False
    for band in earlier.bands:
        if not any(
            b.head == band.head and band.low <= b.low and b.high <= band.high for b in later.bands
        ):
            return False
    for head, allowed in earlier.decisions.items():
        if head not in later.decisions or not later.decisions[head] <= allowed:
            return False
    return True


def _within(phrase: tuple[str, ...], longer: tuple[str, ...]) -> bool:
    """Whether every text with ``longer`` in it has ``phrase`` too."""
    return f" {' '.join(phrase)} " in f" {' '.join(longer)} "


def _check_fallbacks(table: RoutingTable) -> None:
    """Every fallback names a group, and no chain of fallbacks comes back on itself."""
    for group in table.groups.values():
        if group.fallback is not None and group.fallback not in table.groups:
            raise RoutingTableError(
                f"group {group.name!r}: its fallback {group.fallback!r} is not a declared group"
            )
        seen = [group.name]
        current = group
        while current.fallback is not None:
            if current.fallback in seen:
                cycle = " -> ".join([*seen[seen.index(current.fallback) :], current.fallback])
                users = [r.id for r in table.rules if r.group in seen]
                named = f" (used by rule {', '.join(map(repr, users))})" if users else ""
                raise RoutingTableError(
                    f"a cycle of fallbacks: {cycle}{named}",
                    details={"cycle": seen, "rules": users},
                )
            seen.append(current.fallback)
            current = table.groups[current.fallback]
