"""The routing table: rule order, decisions no surer than the heads read, language as a
skill, and the tables refused before they are served."""

from __future__ import annotations

import random

import pytest

from triage.core.decisions import Decision
from triage.core.errors import RoutingTableError
from triage.core.routing import (
    HeadView,
    RouteInput,
    RouteSource,
    RoutingTable,
    build_table,
    read_text,
)
from triage.core.routing.table import TicketWords

HEADS = {
    "category": ["network_vpn", "printers", "security", "hardware/laptop", "hardware/monitor"],
    "tier": ["L1", "L2", "L3"],
    "priority": ["low", "medium", "high", "critical"],
    "group": ["net-ops", "desk-side", "secops"],
}
LANGUAGES = ["en", "id"]

TABLE = """
fallback: service-desk
groups:
  net-ops: {queue: network, languages: [en], fallback: net-ops-id}
  net-ops-id: {queue: network-id, languages: [en, id]}
  service-desk: {queue: triage-l1}
rules:
  - id: critical-security
    when: {category: security, priority: [high, critical]}
    group: secops
    skills: [incident-response]
  - id: vpn
    when: {category: network_vpn}
    group: net-ops
  - id: vpn-anyconnect-keyword
    when: {keywords: [AnyConnect]}
    group: net-ops
    queue: vpn-client
  - id: laptops
    when: {category: hardware, tier: L1}
    group: desk-side
  - id: unsure-category
    when: {confidence: {category: {max: 0.4}}}
    group: service-desk
"""


def ticket(
    *,
    category: tuple[str, Decision] = ("printers", Decision.AUTO),
    tier: tuple[str, Decision] = ("L1", Decision.AUTO),
    priority: tuple[str, Decision] = ("low", Decision.AUTO),
    group: tuple[str, Decision] | None = None,
    confidence: float = 0.9,
    text: str = "",
    language: str = "en",
) -> RouteInput:
    heads = {
        "category": HeadView(category[0], confidence, category[1]),
        "tier": HeadView(tier[0], 0.9, tier[1]),
        "priority": HeadView(priority[0], 0.9, priority[1]),
    }
    if group is not None:
        heads["group"] = HeadView(group[0], 0.8, group[1])
    return RouteInput(heads=heads, text=text, language=language)


@pytest.fixture(scope="module")
def table() -> RoutingTable:
    return build_table(read_text(TABLE), HEADS, LANGUAGES)


def test_the_first_matching_rule_routes_the_ticket(table: RoutingTable) -> None:
    # security + critical matches the first rule only; security + low matches none.
    first = table.route(
        ticket(category=("security", Decision.AUTO), priority=("critical", Decision.AUTO))
    )
    assert (first.group, first.rule_id, first.source) == (
        "secops",
        "critical-security",
        RouteSource.RULE,
    )
    assert first.skills == ("incident-response", "language:en")
    # A VPN ticket that also names AnyConnect: 'vpn' comes before the keyword rule.
    both = table.route(ticket(category=("network_vpn", Decision.AUTO), text="anyconnect fails"))
    assert (both.rule_id, both.queue) == ("vpn", "network")
    keyword = table.route(ticket(text="AnyConnect hangs at login"))
    assert (keyword.rule_id, keyword.queue) == ("vpn-anyconnect-keyword", "vpn-client")
    # A parent label takes its children.
    laptop = table.route(ticket(category=("hardware/laptop", Decision.AUTO)))
    assert laptop.rule_id == "laptops"


def test_a_rule_on_an_unsure_head_gives_an_unsure_route(table: RoutingTable) -> None:
    sure = table.route(ticket(category=("hardware/laptop", Decision.AUTO)))
    assert sure.decision is Decision.AUTO
    unsure_tier = table.route(
        ticket(category=("hardware/laptop", Decision.AUTO), tier=("L1", Decision.SUGGEST))
    )
    assert unsure_tier.rule_id == "laptops"
    assert unsure_tier.decision is Decision.SUGGEST
    assert "unsure tier" in unsure_tier.why
    review = table.route(ticket(category=("hardware/laptop", Decision.REVIEW)))
    assert review.decision is Decision.REVIEW
    # A head the rule does not read does not lower its route: priority is unsure here.
    vpn = table.route(
        ticket(category=("network_vpn", Decision.AUTO), priority=("low", Decision.REVIEW))
    )
    assert vpn.decision is Decision.AUTO
    # A keyword rule reads no head: as sure as its match.
    assert (
        table.route(ticket(text="anyconnect", tier=("L1", Decision.REVIEW))).decision
        is Decision.AUTO
    )


def test_the_group_head_proposes_rules_override_and_the_fallback_takes_the_rest(
    table: RoutingTable,
) -> None:
    proposed = table.route(ticket(group=("desk-side", Decision.SUGGEST)))
    assert (proposed.source, proposed.group, proposed.decision) == (
        RouteSource.MODEL,
        "desk-side",
        Decision.SUGGEST,
    )
    overridden = table.route(
        ticket(category=("network_vpn", Decision.AUTO), group=("desk-side", Decision.AUTO))
    )
    assert (overridden.source, overridden.group) == (RouteSource.RULE, "net-ops")
    rest = table.route(ticket(group=("desk-side", Decision.REVIEW)))
    assert (rest.source, rest.group, rest.queue, rest.decision) == (
        RouteSource.FALLBACK,
        "service-desk",
        "triage-l1",
        Decision.REVIEW,
    )
    model_first = build_table({**read_text(TABLE), "order": "model_first"}, HEADS, LANGUAGES)
    first = model_first.route(
        ticket(category=("network_vpn", Decision.AUTO), group=("desk-side", Decision.AUTO))
    )
    assert (first.source, first.group) == (RouteSource.MODEL, "desk-side")


def test_an_indonesian_ticket_goes_to_a_group_that_speaks_it(table: RoutingTable) -> None:
    english = table.route(ticket(category=("network_vpn", Decision.AUTO), language="en"))
    indonesian = table.route(ticket(category=("network_vpn", Decision.AUTO), language="id"))
    assert english.group == "net-ops"
    assert (indonesian.group, indonesian.queue, indonesian.rule_id) == (
        "net-ops-id",
        "network-id",
        "vpn",
    )
    assert "language:id" in indonesian.skills
    assert "does not speak 'id'" in indonesian.why


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"when": {"category": "printer"}}, "rule 'new': category 'printer' is not a label"),
        ({"when": {"colour": "red"}}, "rule 'new': unknown condition(s) colour"),
        ({"when": {"language": "fr"}}, "rule 'new': language 'fr' is not a label"),
        ({"when": {"tier": []}}, "rule 'new': tier is an empty list: the rule can never match"),
        (
            {"when": {"confidence": {"tier": {"min": 0.8, "max": 0.3}}}},
            "rule 'new': confidence of tier between 0.8 and 0.3 can never hold",
        ),
        ({"when": {"decision": {"tier": "maybe"}}}, "rule 'new': decision of tier: 'maybe'"),
        (
            {"when": {"category": "network_vpn", "tier": "L3"}},
            "rule 'new' can never match: rule 'vpn' above it takes every ticket it would",
        ),
        (
            {"when": {"keywords": ["anyconnect client"]}},
            "rule 'new' can never match: rule 'vpn-anyconnect-keyword' above it",
        ),
        ({"id": "vpn", "when": {"tier": "L3"}}, "rule 'vpn': the id is used twice"),
        ({"group": None, "when": {"tier": "L3"}}, "rule 'new': group must be a non-empty text"),
    ],
)
def test_a_bad_rule_is_refused_naming_it(change: dict[str, object], message: str) -> None:
    data = read_text(TABLE)
    data["rules"].append({"id": "new", "group": "desk-side", **change})
    with pytest.raises(RoutingTableError) as refused:
        build_table(data, HEADS, LANGUAGES)
    assert message in refused.value.message


def test_a_cycle_of_fallbacks_is_refused_naming_the_rules_that_use_it() -> None:
    data = read_text(TABLE)
    data["groups"]["net-ops-id"]["fallback"] = "net-ops"
    with pytest.raises(RoutingTableError) as refused:
        build_table(data, HEADS, LANGUAGES)
    assert "a cycle of fallbacks: net-ops -> net-ops-id -> net-ops" in refused.value.message
    assert "'vpn'" in refused.value.message


@pytest.mark.parametrize(
    ("text", "json_only", "where"),
    [
        ("rules:\n  - id: a\n    when: {category: [printers}\n", False, "line 3, column"),
        ('{"rules": [}', True, "line 1, column 12"),
    ],
)
def test_text_that_is_not_yaml_or_json_names_the_position(
    text: str, json_only: bool, where: str
) -> None:
    with pytest.raises(RoutingTableError) as refused:
        read_text(text, json_only=json_only)
    assert where in refused.value.message
    assert refused.value.details["line"] is not None


def test_the_rule_index_routes_as_trying_every_rule_in_order_would(table: RoutingTable) -> None:
    rng = random.Random(7)
    words = ["anyconnect", "vpn", "printer", "laptop", "client", "toner", "login"]
    decisions = list(Decision)
    for _ in range(500):
        ticket_in = ticket(
            category=(rng.choice(HEADS["category"]), rng.choice(decisions)),
            tier=(rng.choice(HEADS["tier"]), rng.choice(decisions)),
            priority=(rng.choice(HEADS["priority"]), rng.choice(decisions)),
            confidence=rng.random(),
            text=" ".join(rng.choices(words, k=rng.randint(0, 4))),
            language=rng.choice(LANGUAGES),
        )
        expected = next(
            (r.id for r in table.rules if r.matches(ticket_in, TicketWords(ticket_in.text))), None
        )
        assert table.route(ticket_in).rule_id == expected
