"""The online detector alone: when a group opens, grows, closes, and what it is named by."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.core.test_int8_vectors import adversarial_pair
from triage.core.incident_detector import (
    MAX_GROUP,
    ActiveIncident,
    Assessment,
    IncidentConfig,
    IncidentDetector,
    bounded_time,
)
from triage.core.incident_language import LanguageMeans
from triage.core.incident_terms import ticket_terms
from triage.core.incident_window import (
    LEVEL_NEIGHBOURS,
    NO_INCIDENT,
    TicketWindow,
    WindowTicket,
)

DIM = 64
MINUTE = 60.0
# Random 64-dim vectors stand for unrelated tickets: their cosines spread by 1/8 around 0, far
# more than a real body's background does, so a pair must stand further above its level.
CONFIG = IncidentConfig(margin=0.3)


def _unit(vector: np.ndarray) -> np.ndarray:
    return (vector / np.linalg.norm(vector)).astype(np.float32)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def _near(base: np.ndarray, rng: np.random.Generator, noise: float = 0.15) -> np.ndarray:
    return _unit(base + noise * rng.normal(size=DIM) / np.sqrt(DIM))


def _ticket(name: str, at: float, vector: np.ndarray, **fields: object) -> WindowTicket:
    return WindowTicket(name, at, vector, **fields)  # type: ignore[arg-type]


def _background(
    detector: IncidentDetector, rng: np.random.Generator, start: float, n: int, step: float
) -> None:
    for i in range(n):
        detector.observe(_ticket(f"bg{start}-{i}", start + i * step, _unit(rng.normal(size=DIM))))


def test_the_fifth_similar_ticket_within_the_window_opens_an_incident(
    rng: np.random.Generator,
) -> None:
    detector = IncidentDetector(CONFIG, DIM)
    _background(detector, rng, 0, 30, MINUTE)
    vpn = _unit(rng.normal(size=DIM))
    kinds = [
        detector.observe(_ticket(f"vpn{i}", 40 * MINUTE + i * 3 * MINUTE, _near(vpn, rng))).kind
        for i in range(5)
    ]
    assert kinds == ["none", "none", "none", "none", "opened"]
    opened = detector.observe(_ticket("vpn5", 60 * MINUTE, _near(vpn, rng)))
    assert opened.kind == "joined"


def test_four_tickets_or_five_spread_beyond_the_window_open_nothing(
    rng: np.random.Generator,
) -> None:
    detector = IncidentDetector(CONFIG, DIM)
    vpn = _unit(rng.normal(size=DIM))
    spread = [
        detector.observe(_ticket(f"v{i}", i * 20 * MINUTE, _near(vpn, rng))) for i in range(5)
    ]
    assert all(found.kind == "none" for found in spread)


def test_a_topic_that_always_arrives_at_this_rate_is_background(rng: np.random.Generator) -> None:
    """Password resets come in all day: five in an hour is their usual rate, not a surge."""
    detector = IncidentDetector(CONFIG, DIM)
    reset = _unit(rng.normal(size=DIM))
    found = [
        detector.observe(_ticket(f"r{i}", i * 11 * MINUTE, _near(reset, rng))).kind
        for i in range(24 * 60 // 11)
    ]
    # Until an hour of history exists the size alone decides; after that, never again.
    assert "opened" not in found[2 * 60 // 11 + 6 :]


def test_an_incident_closes_after_the_quiet_period_and_a_new_surge_opens_another(
    rng: np.random.Generator,
) -> None:
    detector = IncidentDetector(CONFIG, DIM)
    vpn = _unit(rng.normal(size=DIM))
    first = [detector.observe(_ticket(f"a{i}", i * MINUTE, _near(vpn, rng))) for i in range(5)]
    incident = first[-1].incident_id
    assert incident in detector.active
    late = 4 * MINUTE + CONFIG.quiet + MINUTE
    detector.observe(_ticket("other", late, _unit(rng.normal(size=DIM))))
    assert incident not in detector.active
    # The closed incident's members are not free: five new ones are needed to open again.
    again = [
        detector.observe(_ticket(f"b{i}", late + i * MINUTE, _near(vpn, rng))) for i in range(5)
    ]
    assert [f.kind for f in again] == ["none"] * 4 + ["opened"]
    assert again[-1].incident_id != incident


def test_out_of_order_arrivals_count_at_their_own_time(rng: np.random.Generator) -> None:
    detector = IncidentDetector(CONFIG, DIM)
    vpn = _unit(rng.normal(size=DIM))
    times = [50, 10, 40, 20, 30]  # minutes, arriving in this order
    kinds = [detector.observe(_ticket(f"v{t}", t * MINUTE, _near(vpn, rng))).kind for t in times]
    assert kinds[-1] == "opened"
    members = detector.active[1]
    assert (members.first_seen, members.last_seen) == (10 * MINUTE, 50 * MINUTE)


def test_a_loose_ticket_is_left_out_of_a_tight_group(rng: np.random.Generator) -> None:
    config = IncidentConfig(tightness=0.7, margin=0.3)
    detector = IncidentDetector(config, DIM)
    vpn = _unit(rng.normal(size=DIM))
    other = _unit(rng.normal(size=DIM))
    # Similar to the trigger (0.7+) but to none of the others: a bridge between two topics.
    bridge = _unit(vpn + 0.2 * other)
    detector.observe(_ticket("bridge", 0, _unit(0.75 * bridge + 0.66 * other)))
    found = [
        detector.observe(_ticket(f"v{i}", (i + 1) * MINUTE, _near(vpn, rng))) for i in range(5)
    ]
    assert found[-1].kind == "opened"
    assert "bridge" not in found[-1].members


def test_bounded_time_caps_clock_skew_and_very_late_tickets() -> None:
    now = 1_000_000.0
    assert bounded_time(None, now, CONFIG) == now
    assert bounded_time(now - 120, now, CONFIG) == now - 120
    assert bounded_time(now + 3600, now, CONFIG) == now + CONFIG.max_skew
    assert bounded_time(now - 10 * CONFIG.history, now, CONFIG) == now - CONFIG.history
    assert bounded_time(float("nan"), now, CONFIG) == now


def test_summary_names_terms_per_language_category_tier_and_a_central_parent(
    rng: np.random.Generator,
) -> None:
    detector = IncidentDetector(CONFIG, DIM)
    _background(detector, rng, 0, 20, MINUTE)
    vpn = _unit(rng.normal(size=DIM))
    texts = [
        ("en", "VPN gateway unreachable since this morning"),
        ("en", "cannot connect to the VPN gateway from home"),
        ("id", "VPN tidak bisa tersambung, gateway error"),
        ("id", "koneksi VPN putus terus, gateway timeout"),
        ("en", "VPN gateway timeout for the remote team"),
    ]
    members = [
        _ticket(
            f"t{i}",
            30 * MINUTE + i * MINUTE,
            vpn if i == 2 else _near(vpn, rng, 0.3),
            category="network",
            tier="L2" if i else "L1",
            language=language,
            terms=ticket_terms(text),
        )
        for i, (language, text) in enumerate(texts)
    ]
    summary = detector.summary(members)
    assert summary.members == ("t0", "t1", "t2", "t3", "t4")
    assert summary.terms["en"][:2] == ["gateway", "vpn"]
    assert set(summary.terms["id"]) >= {"gateway", "vpn"}
    assert "tidak" not in summary.terms["id"]
    assert "the" not in summary.terms["en"]
    assert (summary.category, summary.tier) == ("network", "L2")
    assert summary.parent_ticket_id == "t2"  # the member the others are closest to
    assert summary.growth_per_10min == 5


def test_members_embedded_by_an_earlier_model_do_not_break_the_summary(
    rng: np.random.Generator,
) -> None:
    detector = IncidentDetector(CONFIG, DIM)
    old = [_ticket(f"old{i}", i * MINUTE, _unit(rng.normal(size=16))) for i in range(2)]
    vpn = _unit(rng.normal(size=DIM))
    new = [_ticket(f"new{i}", (5 + i) * MINUTE, _near(vpn, rng)) for i in range(3)]
    summary = detector.summary([*old, *new])
    assert len(summary.members) == 5
    assert summary.parent_ticket_id in {"new0", "new1", "new2"}


def test_a_second_surge_overlapping_the_first_opens_its_own_incident(
    rng: np.random.Generator,
) -> None:
    """A printer ticket is alike to the one printer-ish member of the VPN incident, but not to
    half its members: it does not join it, and the printer surge opens its own."""
    detector = IncidentDetector(CONFIG, DIM)
    vpn, printer = _unit(rng.normal(size=DIM)), _unit(rng.normal(size=DIM))
    bridge = _unit(vpn + printer)  # both topics at once (cosine ~0.7 to each)
    first = [detector.observe(_ticket(f"v{i}", i * MINUTE, _near(vpn, rng))) for i in range(5)]
    assert first[-1].kind == "opened"
    assert detector.observe(_ticket("bridge", 5 * MINUTE, bridge)).kind == "joined"
    second = [
        detector.observe(_ticket(f"p{i}", (6 + i) * MINUTE, _near(printer, rng))) for i in range(5)
    ]
    assert [f.kind for f in second] == ["none"] * 4 + ["opened"]
    assert second[-1].incident_id != first[-1].incident_id


def test_a_tickets_level_is_its_mean_cosine_to_its_nearest_tickets_before_its_window(
    rng: np.random.Generator,
) -> None:
    window = TicketWindow(DIM, history=CONFIG.history, span=CONFIG.window)
    # more than the neighbours a level is the mean of, so the nearest of them must be picked
    earlier = [_unit(rng.normal(size=DIM)) for _ in range(LEVEL_NEIGHBOURS + 10)]
    for i, vector in enumerate(earlier):
        window.add(_ticket(f"e{i}", i * MINUTE, vector))
    recent = _near(earlier[0], rng)
    for i in range(20):  # within the new ticket's window: not part of its level
        window.add(_ticket(f"r{i}", 100 * MINUTE + i, _near(recent, rng)))
    window.add(_ticket("new", 120 * MINUTE, recent))
    expected = np.sort(np.stack(earlier) @ recent)[-LEVEL_NEIGHBOURS:].mean()
    assert window.level[window.row("new")] == pytest.approx(expected, abs=1e-5)


def test_a_level_is_exact_where_the_int8_estimates_would_reorder_the_nearest() -> None:
    """A level reads the int8 copy first: with 100 cosines 1e-4 apart, the estimates (off by
    up to ~0.01) rank other tickets among the nearest, yet the level is the exact mean."""
    rng = np.random.default_rng(11)
    dim = 512
    query = _unit(rng.normal(size=dim))
    window = TicketWindow(dim, history=CONFIG.history, span=CONFIG.window)
    for i, cosine in enumerate(rng.permutation(0.3 + 1e-4 * np.arange(100))):
        other = rng.normal(size=dim)
        other -= (other @ query) * query
        vector = cosine * query + np.sqrt(1 - cosine**2) * other / np.linalg.norm(other)
        window.add(_ticket(f"e{i}", i * MINUTE, vector.astype(np.float32)))
    window.add(_ticket("new", 200 * MINUTE, query))
    row = window.row("new")
    assert row is not None
    exact = window.similarities(row, 0, 100)
    estimate, _ = window.codes.bounds(row, 0, 100)
    nearest = np.argsort(exact)[-LEVEL_NEIGHBOURS:]
    assert set(np.argsort(estimate)[-LEVEL_NEIGHBOURS:]) != set(nearest)
    assert window.level[row] == pytest.approx(exact[nearest].mean(), abs=1e-6)


def _background_by_the_rule(detector: IncidentDetector, row: int, group: list[int]) -> bool:
    """The background rule read over the whole history at once (what the detector reads a
    block at a time, stopping early)."""
    window, c = detector.window, detector.config
    n = len(window)
    times, at = window.at[:n], float(window.at[row])
    earlier = (times < at - c.window) & (times >= at - c.history)
    sims = window.vectors[:n] @ window.vectors[row]
    alike = (sims >= c.tightness) | (sims - (window.level[:n] + window.level[row]) / 2 >= c.margin)
    categories = [window.tickets[r].category for r in group]
    category = max(set(categories), key=categories.count)
    usual = sum(
        1 for r in np.flatnonzero(earlier & alike) if window.tickets[r].category == category
    )
    recent = int((np.abs(times - at) <= c.window).sum())
    return len(group) >= c.rate_ratio * (usual * recent / max(int(earlier.sum()), 1))


def _tight_group_by_the_rule(detector: IncidentDetector, members: list[int]) -> list[int]:
    """Drop the member of least mean score (one alike to none first) until all reach the
    margin, summing afresh each round."""
    c, window = detector.config, detector.window
    vectors, levels = window.vectors[members], window.level[members]
    sims = vectors @ vectors.T
    scores = sims - (levels[:, None] + levels[None, :]) / 2
    scores = np.where(sims >= c.tightness, np.maximum(scores, c.margin), scores)
    np.fill_diagonal(scores, 0.0)
    alive = list(range(len(members)))
    while len(alive) >= c.min_size:
        sub = scores[np.ix_(alive, alive)].astype(np.float64)
        mean = sub.sum(axis=1) / (len(alive) - 1)
        mean[(sub >= c.margin).sum(axis=1) < 1] = -np.inf
        worst = int(np.argmin(mean))
        if mean[worst] >= c.margin:
            return [members[i] for i in alive]
        if alive[worst] == 0:
            return []
        del alive[worst]
    return []


def test_the_shortcuts_decide_as_the_rules_read_in_full(rng: np.random.Generator) -> None:
    """The background is read a block at a time and the tight group pruned with running sums
    (for speed): both decide exactly as the rules applied to everything at once."""
    config = IncidentConfig(margin=0.3, history=6 * 3600.0, window=1800.0)
    detector = IncidentDetector(config, DIM)
    topics = [_unit(rng.normal(size=DIM)) for _ in range(6)]
    # 5 h of history, a third of it recurring topics, then a busy last half hour.
    for i in range(3000):
        at = i * 6.0
        vector = _near(topics[i % 6], rng, 0.6) if i % 3 == 0 else _unit(rng.normal(size=DIM))
        detector.observe(_ticket(f"h{i}", at, vector, category=f"c{i % 2}"))
    decided = {True: 0, False: 0}
    groups = 0
    for i in range(300):
        at = 18000.0 + i * 6.0
        topic = topics[i % 6] if i % 2 else topics[0]
        detector.window.add(_ticket(f"n{i}", at, _near(topic, rng, 0.4), category=f"c{i % 2}"))
        window = detector.window
        row = window.row(f"n{i}")
        assert row is not None
        lo = window.first_row_after(at - config.window)
        sims = window.vectors[lo : len(window)] @ window.vectors[row]
        candidates = lo + np.argsort(-sims)[1:40]
        members = [row, *(int(r) for r in candidates)]
        group = detector._tight_group(row, candidates)
        assert group == _tight_group_by_the_rule(detector, members)
        groups += bool(group)
        group = group or members[:8]
        categories = [window.tickets[r].category for r in group]
        category = max(set(categories), key=categories.count)
        found = detector._above_background(row, group, category, lo, sims)
        assert found == _background_by_the_rule(detector, row, group)
        decided[found] += 1
    assert min(decided.values()) > 0  # both answers were put to the test
    assert groups > 0


def test_a_topic_seen_only_early_in_the_history_is_still_its_background(
    rng: np.random.Generator,
) -> None:
    """The background is read newest first, a block at a time: tickets alike to a surge that
    lie only in the oldest block still count (and without them the surge opens)."""
    config = IncidentConfig(margin=0.3, history=6 * 3600.0, window=1800.0)
    topic = _unit(rng.normal(size=DIM))

    def surge_after(early_alike: int) -> str:
        detector = IncidentDetector(config, DIM)
        for i in range(3000):
            alike = i < early_alike  # the oldest rows of the history only
            vector = _near(topic, rng) if alike else _unit(rng.normal(size=DIM))
            detector.observe(_ticket(f"h{i}", i * 6.0, vector))
        kinds = [
            detector.observe(_ticket(f"s{i}", 18000.0 + i * 60.0, _near(topic, rng))).kind
            for i in range(6)
        ]
        return "opened" if "opened" in kinds else "none"

    assert surge_after(0) == "opened"
    assert surge_after(60) == "none"


def _candidates_by_the_rule(detector: IncidentDetector, row: int) -> tuple[int | None, list[int]]:
    """The scan's rules read over every row of the window at once: the live incident the
    ticket joins, and the loose candidates of a new group (most similar first)."""
    window, c = detector.window, detector.config
    n, at = len(window), float(window.at[row])
    sims = window.vectors[:n] @ window.vectors[row]
    within = np.abs(window.at[:n] - at) <= c.window
    within[row] = False
    excess = sims - (window.level[:n] + window.level[row]) / 2
    near = within & ((sims >= c.tightness) | (excess >= c.margin))
    incidents = window.incident[:n]
    members = within & (incidents != NO_INCIDENT)
    for other in sorted(np.flatnonzero(near & members), key=lambda r: (-sims[r], r)):
        incident = detector.active.get(int(incidents[other]))
        if incident is None or not incident.joinable(at, c):
            continue
        ours = incidents == incident.id
        if (near & ours & members).sum() >= c.join_share * (ours & members).sum():
            return incident.id, []
    loose = within & ((sims >= c.tightness) | (excess >= c.margin - c.candidate_slack))
    free = np.flatnonzero(loose & (incidents == NO_INCIDENT))
    return None, sorted((int(r) for r in free), key=lambda r: (-sims[r], r))[:MAX_GROUP]


def test_the_scan_decides_as_its_rules_read_over_the_whole_window(
    rng: np.random.Generator,
) -> None:
    """The scan applies its rules only to the rows past a first bar on the cosines (for
    speed): it joins and picks candidates exactly as the rules read over every row."""
    config = IncidentConfig(margin=0.3, window=1800.0, history=6 * 3600.0)
    detector = IncidentDetector(config, DIM)
    topics = [_unit(rng.normal(size=DIM)) for _ in range(4)]
    picked: list[list[int]] = []
    original = detector._tight_group

    def tight_group(row: int, candidates: np.ndarray) -> list[int]:
        picked.append([int(r) for r in candidates])
        return original(row, candidates)

    detector._tight_group = tight_group  # type: ignore[method-assign]
    kinds = []
    for i in range(1500):
        # Surges of four topics over a random background, a few arriving out of order.
        topic = topics[(i // 150) % 4] if i % 3 else None
        vector = _unit(rng.normal(size=DIM)) if topic is None else _near(topic, rng, 0.9)
        at = i * 20.0 - (300.0 if i % 17 == 0 else 0.0)
        detector.close_quiet(max(detector.window.newest, at))
        detector.add(_ticket(f"t{i}", at, vector))
        row = detector.window.row(f"t{i}")
        assert row is not None
        joins, candidates = _candidates_by_the_rule(detector, row)
        picked.clear()
        found = detector._assess(f"t{i}")
        kinds.append(found.kind)
        if joins is not None:
            assert (found.kind, found.incident_id) == ("joined", joins)
            detector.attach(joins, [f"t{i}"])
            continue
        assert found.kind != "joined"
        if len(candidates) + 1 >= config.min_size:
            assert picked == [candidates]
        if found.kind == "opened":
            incident_id = len(kinds)
            detector.active[incident_id] = ActiveIncident(incident_id, at, at)
            detector.attach(incident_id, found.members)
    assert kinds.count("opened") >= 3
    assert kinds.count("joined") >= 50


def test_a_level_is_the_mean_of_as_many_neighbours_as_configured(
    rng: np.random.Generator,
) -> None:
    config = IncidentConfig(margin=0.3, level_neighbours=3)
    detector = IncidentDetector(config, DIM)
    earlier = [_unit(rng.normal(size=DIM)) for _ in range(30)]
    for i, vector in enumerate(earlier):
        detector.add(_ticket(f"e{i}", i * MINUTE, vector))
    new = _near(earlier[0], rng)
    detector.add(_ticket("new", 200 * MINUTE, new))
    expected = np.sort(np.stack(earlier) @ new)[-3:].mean()
    assert detector.window.level[detector.window.row("new")] == pytest.approx(expected, abs=1e-5)


def test_the_cosines_of_a_level_are_reused_only_for_their_own_ticket_and_rows(
    rng: np.random.Generator,
) -> None:
    window = TicketWindow(DIM, history=CONFIG.history, span=CONFIG.window)
    for i in range(40):
        window.add(_ticket(f"e{i}", i * MINUTE, _unit(rng.normal(size=DIM))))
    window.add(_ticket("a", 200 * MINUTE, _unit(rng.normal(size=DIM))))
    window.add(_ticket("b", 200 * MINUTE, _unit(rng.normal(size=DIM))))
    rows = [window.row("a"), window.row("b")]
    bars = np.full(42, 0.05, dtype=np.float32)  # about half the rows reach it
    for row in rows:
        assert row is not None
        for start, end in ((0, 40), (0, 20), (10, 42)):  # b's level: rows 0 to 40
            exact = window.similarities(row, start, end)
            sims = window.cosines_reaching(row, start, end, bars[start:end])
            reaching = exact >= bars[start:end]
            assert np.array_equal(sims >= bars[start:end], reaching)
            # computed from the rows gathered: the last float32 bit may differ
            assert np.allclose(sims[reaching], exact[reaching], rtol=0, atol=1e-6)


def _two_language_surge(neutral: bool) -> list[str]:
    """What eight reports of one outage do, alternately in Indonesian and English, after five
    hours of background; each language's tickets sit to one side (an offset per language)."""
    rng = np.random.default_rng(3)
    offsets = {"en": _unit(rng.normal(size=DIM)), "id": _unit(rng.normal(size=DIM))}
    detector = IncidentDetector(IncidentConfig(margin=0.3, language_neutral=neutral), DIM)

    def observe(name: str, at: float, topic: np.ndarray, language: str, noise: float) -> str:
        vector = topic + 1.2 * offsets[language] + noise * rng.normal(size=DIM) / np.sqrt(DIM)
        return detector.observe(_ticket(name, at, _unit(vector), language=language)).kind

    for i in range(300):
        observe(f"bg{i}", i * MINUTE, _unit(rng.normal(size=DIM)), ("id", "en")[i % 2], 1.0)
    outage = _unit(rng.normal(size=DIM))
    return [
        observe(f"s{i}", (300 + 2 * i) * MINUTE, outage, ("id", "en")[i % 2], 0.5) for i in range(8)
    ]


def test_language_neutral_vectors_make_a_surge_in_two_languages_one_incident() -> None:
    """Four English and four Indonesian reports of one problem are two halves under five,
    unless each language's offset is taken out."""
    assert "opened" not in _two_language_surge(neutral=False)
    assert "opened" in _two_language_surge(neutral=True)


def test_a_tenant_writing_in_one_language_keeps_its_vectors() -> None:
    rng = np.random.default_rng(5)
    plain = TicketWindow(DIM, history=CONFIG.history, span=CONFIG.window)
    neutral = TicketWindow(DIM, history=CONFIG.history, span=CONFIG.window, language_neutral=True)
    for i in range(100):
        ticket = _ticket(f"t{i}", i * MINUTE, _unit(rng.normal(size=DIM)), language="en")
        plain.add(ticket)
        neutral.add(ticket)
    np.testing.assert_allclose(neutral.vectors[:100], plain.vectors[:100], atol=1e-6)


def test_language_means_forget_the_tickets_the_window_drops() -> None:
    rng = np.random.default_rng(9)
    window = TicketWindow(DIM, history=3600.0, span=600.0, language_neutral=True)
    offsets = {"en": _unit(rng.normal(size=DIM)), "id": _unit(rng.normal(size=DIM))}
    for i in range(600):  # the offsets change halfway: only the recent ones should count
        language = ("en", "id")[i % 2]
        offset = offsets[language] if i < 300 else -offsets[language]
        window.add(
            _ticket(f"t{i}", i * 30.0, _unit(rng.normal(size=DIM) + 3 * offset), language=language)
        )
    kept = LanguageMeans(DIM)
    for ticket in window.tickets:
        kept.add(ticket.language, ticket.vector)
    probe = _unit(rng.normal(size=DIM))
    assert window.language_means is not None
    np.testing.assert_allclose(
        window.language_means.neutral("id", probe), kept.neutral("id", probe), atol=1e-5
    )


def test_a_cosine_the_int8_scan_underestimates_below_the_bar_still_joins() -> None:
    """The window is scanned in int8 first: a member whose estimate falls short of the bar,
    but whose cosine reaches it, is still computed exactly and joined (not if the bound were
    dropped or made any smaller: the estimate falls short by 97% of it)."""
    member, new = adversarial_pair(DIM, np.random.default_rng(5), flip=0.2)
    window = TicketWindow(DIM, history=CONFIG.history, span=CONFIG.window)
    window.add(_ticket("m", 0.0, member))
    window.add(_ticket("t", MINUTE, new))
    estimate, slack = window.codes.bounds(1, 0, 1)
    exact = float(window.similarities(1, 0, 1)[0])
    tightness = exact - 1e-5  # a pair this alike is alike whatever its level
    assert estimate[0] + 0.9 * slack[0] < tightness  # what the int8 copy alone reads
    detector = IncidentDetector(replace(CONFIG, tightness=tightness), DIM)
    detector.observe(_ticket("m", 0.0, member))
    detector.active[1] = ActiveIncident(1, 0.0, 0.0)
    detector.attach(1, ["m"])
    assert detector.observe(_ticket("t", MINUTE, new)) == Assessment("joined", 1)


def test_the_cosines_reaching_a_bar_are_the_exact_ones_and_the_rest_lie_below_it(
    rng: np.random.Generator,
) -> None:
    window = TicketWindow(DIM, history=CONFIG.history, span=CONFIG.window)
    topic = _unit(rng.normal(size=DIM))
    for i in range(300):
        vector = _near(topic, rng, 1.5) if i % 2 else _unit(rng.normal(size=DIM))
        window.add(_ticket(f"t{i}", i * 1.0, vector))
    row, n = 299, len(window)
    exact = window.vectors[:n] @ window.vectors[row]
    bars = rng.uniform(-0.2, 0.6, size=n).astype(np.float32)
    sims = window.cosines_reaching(row, 0, n, bars)
    reaching = exact >= bars
    assert 20 < reaching.sum() < n - 20
    assert np.array_equal(sims >= bars, reaching)
    assert np.allclose(sims[reaching], exact[reaching], rtol=0, atol=1e-6)
    assert np.all(sims[~reaching] >= exact[~reaching] - 1e-6)  # an upper bound
