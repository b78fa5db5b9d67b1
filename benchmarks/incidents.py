"""Incident detection replayed on real text, against alerting on any duplicate pair.

Streams of simulated days (``benchmarks/incident_stream.py``) go through the shipped detector
(``triage/core/incident_detector.py``) ticket by ticket, with the default embedder's vectors.
Reported: recall of the bursts with at least 5 tickets within 30 minutes, false alarms per
simulated day (an incident whose members when it opened are mostly background), median
detection delay after the burst's 5th ticket (in tickets and minutes), purity of the members.
The baseline alerts whenever a ticket is at or above the duplicate threshold (0.9) with one
seen within the window.

How the defaults are chosen (written down, and committed alone, before any run of it):

1. Tuning streams only: seeds 100-109 (``TUNING_SEEDS``, 10 streams of 7 simulated days, the
   report's length, so the first day's few night hours weigh the same). ``--tune`` runs
   ``GRID`` at the code's other defaults; ``--refine`` runs ``REFINE`` at the grid's choice.
2. At each stage: among the settings whose false alarms on the tuning streams are at most
   ``FALSE_ALARM_CAP`` = 0.75 a day, the highest recall; ties -> the fewer false alarms, then
   the first in grid order. If no setting is under the cap (fallback): the fewest false alarms,
   ties -> the highest recall. The code's defaults are then set to the refinement's choice.
3. The cap leaves 0.25 a day of headroom below the target of 1, for the rise out of fold. The
   last choice (rule "<= 1 a day" on seeds 100-102) had 0.81 on its tuning streams and 1.15
   on seeds 0-2: +0.34, where the setting before it had moved -0.05 (0.53 -> 0.48). That is
   noise (a Poisson count over 21 days at ~1 a day has a standard deviation of ~0.22, a
   difference of two such ~0.31) plus the selection's bias towards settings whose tuning
   count came out low. With 70 tuning and 70 report days the difference's deviation at
   0.75-1 a day is ~0.16, so 0.25 of headroom is ~1.6 of them.
4. The report: seeds 200-209 (``REPORT_SEEDS``, never used before this procedure), run once
   at the chosen defaults, reported whatever they say; the defaults are not tuned again after
   it. Seeds 0-2 (``SEEN_SEEDS``) were reported on before and helped judge the last choice, so
   they are shown only as a second row, labelled seen.

Speed: CPU time of one detection with 10,000 tickets in the window (and a day of history
behind them), on seed 0's vectors.

    .venv/bin/python -m benchmarks.incidents --tune --refine  # the choice -> results/...
    .venv/bin/python -m benchmarks.incidents  # the report, at defaults that are the choice

The report streams are run only when the code's defaults are the choice ``--refine`` stored
for ``TUNING_SEEDS``; otherwise the script stops after saying so.
    .venv/bin/python -m benchmarks.incidents --speed-against <git ref> [--rounds 3]

``--speed-against`` measures only the speed, of the detector at ``<git ref>`` and of the one in
this tree, alternately in fresh processes (same vectors, same load), into ``speed_against``
(with ``--distinct``: drawn from every stream's distinct vectors, into
``speed_against_distinct``; with ``--service``: the use case around detection, its SQLite
transaction a ticket (:func:`service_speed`), into ``service_speed_against``).

    .venv/bin/python -m benchmarks.incidents --decisions-against <git ref>

``--decisions-against`` replays every stream (tuning, report and seen seeds) with the detector
at ``<git ref>`` and with this tree's, in fresh processes, and compares every assessment (kind,
incident, members) and the pooled figures, into ``decisions_against``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from benchmarks.harness import RESULTS, ROOT
from benchmarks.harness.results import command, read_json, stamp, write_json
from benchmarks.incident_stream import DAY, Burst, StreamTicket, embed, simulate
from triage.core.blas_threads import one_blas_thread
from triage.core.embeddings import DEFAULT_EMBEDDER, load_embedder
from triage.core.incident_detector import Assessment, IncidentConfig, IncidentDetector
from triage.core.incident_window import WindowTicket
from triage.core.language import language_detector

OUTPUT = RESULTS / "incidents.json"
DAYS = 7
REPORT_SEEDS = tuple(range(200, 210))  # fresh: first run with the defaults chosen below
SEEN_SEEDS = (0, 1, 2)  # reported on before: a second row, not a judge of the choice
TUNING_SEEDS = tuple(range(100, 110))
FALSE_ALARM_CAP = 0.75  # a day, on the tuning streams: 0.25 of headroom below the target
DUPLICATE_THRESHOLD = 0.9  # TRIAGE_DUPLICATE_THRESHOLD's default
# The neighbourhood of the last choice within a wider search on seeds 100-102 (tightness
# 0.45-0.6, margin -0.05-0.1, rate ratio 3-8, join share 0-0.5), one step wider towards
# fewer false alarms (tightness 0.6, margin 0.1, rate ratio 5).
GRID = {
    "tightness": (0.5, 0.55, 0.6),
    "margin": (0.05, 0.075, 0.1),
    "rate_ratio": (3.0, 4.0, 5.0),
    "join_share": (0.0, 0.5),
}
# ``--refine``, after the grid, at its choice: how many background neighbours a level is the
# mean of with the margin it is read with, and language-neutral vectors
# (triage/core/incident_language.py) or not. Same tuning streams, same rule. (An earlier
# refinement, of the rate ratio 2-3 and the candidates' slack 0.15-0.2, moved no recall on
# seeds 100-102: README, "Incidents".)
REFINE = {
    "level_neighbours": (10, 20, 30, 40),
    "margin": (0.025, 0.05, 0.075, 0.1, 0.125),
    "language_neutral": (False, True),
}


@dataclass(frozen=True)
class Stream:
    seed: int
    tickets: list[StreamTicket]
    bursts: list[Burst]
    vectors: np.ndarray
    languages: list[str]  # as triage detects them (the service hands detection these)


def eligible(stream: Stream) -> dict[int, float]:
    """Bursts with at least 5 tickets within 30 minutes: id -> time of their 5th ticket."""
    times: dict[int, list[float]] = defaultdict(list)
    for ticket in stream.tickets:
        if ticket.burst >= 0:
            times[ticket.burst].append(ticket.at)
    found = {}
    for burst, ats in times.items():
        if any(ats[i + 4] - ats[i] <= 1800 for i in range(len(ats) - 4)):
            found[burst] = ats[4]
    return found


def _majority(labels: list[int]) -> int:
    return Counter(labels).most_common(1)[0][0]


def replay(stream: Stream, config: IncidentConfig) -> list[Assessment]:
    """What the detector does with each ticket of ``stream``, in order."""
    detector = IncidentDetector(config, stream.vectors.shape[1])
    return [
        detector.observe(
            WindowTicket(str(position), ticket.at, stream.vectors[position], language=language)
        )
        for position, (ticket, language) in enumerate(
            zip(stream.tickets, stream.languages, strict=True)
        )
    ]


def run_detector(stream: Stream, config: IncidentConfig) -> dict[str, Any]:
    return score_replay(stream, replay(stream, config))


def score_replay(stream: Stream, assessments: list[Assessment]) -> dict[str, Any]:
    members: dict[int, list[int]] = defaultdict(list)
    opened: dict[int, int] = {}  # incident -> position of the ticket that opened it
    for position, found in enumerate(assessments):
        if found.kind == "opened" and found.incident_id is not None:
            opened[found.incident_id] = position
            members[found.incident_id] = [int(m) for m in found.members]
        elif found.kind == "joined" and found.incident_id is not None:
            members[found.incident_id].append(position)
    labels = {i: [stream.tickets[p].burst for p in ps] for i, ps in members.items()}
    at_open = {i: [stream.tickets[p].burst for p in members[i] if p <= opened[i]] for i in opened}
    return _score(stream, {i: _majority(at_open[i]) for i in opened}, opened, labels)


def run_baseline(stream: Stream, config: IncidentConfig) -> dict[str, Any]:
    """An alert for every ticket with a duplicate (>= 0.9) seen within the window."""
    opened: dict[int, int] = {}
    labels: dict[int, list[int]] = {}
    majority: dict[int, int] = {}
    times = np.array([t.at for t in stream.tickets])
    start = 0
    for position, ticket in enumerate(stream.tickets):
        while times[start] < ticket.at - config.window:
            start += 1
        if position == start:
            continue
        sims = stream.vectors[start:position] @ stream.vectors[position]
        best = int(np.argmax(sims))
        if sims[best] >= DUPLICATE_THRESHOLD:
            pair = [stream.tickets[start + best].burst, ticket.burst]
            alert = len(opened)
            opened[alert], labels[alert] = position, pair
            majority[alert] = (
                ticket.burst if ticket.burst in pair and ticket.burst >= 0 else max(pair)
            )
    return _score(stream, majority, opened, labels)


def _score(
    stream: Stream,
    majority: dict[int, int],
    opened: dict[int, int],
    labels: dict[int, list[int]],
) -> dict[str, Any]:
    fifth = eligible(stream)
    first_alarm: dict[int, int] = {}
    for incident, burst in sorted(majority.items(), key=lambda item: opened[item[0]]):
        if burst >= 0 and burst not in first_alarm:
            first_alarm[burst] = opened[incident]
    delays_tickets, delays_minutes = [], []
    for burst, fifth_at in fifth.items():
        if burst in first_alarm:
            position = first_alarm[burst]
            seen = sum(1 for t in stream.tickets[: position + 1] if t.burst == burst)
            delays_tickets.append(max(0, seen - 5))
            delays_minutes.append(max(0.0, (stream.tickets[position].at - fifth_at) / 60))
    false_alarms = sum(1 for burst in majority.values() if burst < 0)
    purities = [Counter(ls).most_common(1)[0][1] / len(ls) for ls in labels.values() if ls]
    days = (stream.tickets[-1].at - stream.tickets[0].at) / DAY
    detected = sum(1 for burst in fifth if burst in first_alarm)
    kinds = {b.id: f"{b.source} ({b.language})" for b in stream.bursts}
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for burst in fifth:
        by_kind[kinds[burst]][0] += 1
        by_kind[kinds[burst]][1] += burst in first_alarm
    return {
        "eligible_bursts": len(fifth),
        "detected": detected,
        "alarms": len(majority),
        "false_alarms": false_alarms,
        "days": days,
        "delays_tickets": delays_tickets,
        "delays_minutes": delays_minutes,
        "purities": purities,
        "sizes": [len(ls) for ls in labels.values()],
        "by_kind": dict(by_kind),
    }


def pooled(runs: list[dict[str, Any]]) -> dict[str, Any]:
    eligible_bursts = sum(r["eligible_bursts"] for r in runs)
    days = sum(r["days"] for r in runs)
    delays_t = [d for r in runs for d in r["delays_tickets"]]
    delays_m = [d for r in runs for d in r["delays_minutes"]]
    purities = [p for r in runs for p in r["purities"]]
    sizes = [s for r in runs for s in r["sizes"]]
    kinds: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for run in runs:
        for kind, (n, found) in run["by_kind"].items():
            kinds[kind][0] += n
            kinds[kind][1] += found
    return {
        "recall": round(sum(r["detected"] for r in runs) / max(eligible_bursts, 1), 3),
        "eligible_bursts": eligible_bursts,
        "false_alarms_per_day": round(sum(r["false_alarms"] for r in runs) / days, 2),
        "alarms_per_day": round(sum(r["alarms"] for r in runs) / days, 2),
        "median_delay_tickets": statistics.median(delays_t) if delays_t else None,
        "median_delay_minutes": round(statistics.median(delays_m), 1) if delays_m else None,
        "purity_mean": round(statistics.fmean(purities), 3) if purities else None,
        "purity_weighted": round(
            sum(p * s for p, s in zip(purities, sizes, strict=True)) / max(sum(sizes), 1), 3
        ),
        "simulated_days": round(days, 1),
        "recall_by_kind": {kind: f"{found}/{n}" for kind, (n, found) in sorted(kinds.items())},
    }


def load_streams(seeds: tuple[int, ...]) -> list[Stream]:
    raw = {seed: simulate(DAYS, seed) for seed in seeds}
    texts = sorted({t.text for tickets, _ in raw.values() for t in tickets})
    print(f"embedding {len(texts):,} texts with {DEFAULT_EMBEDDER} ...", flush=True)
    vectors = embed(load_embedder(DEFAULT_EMBEDDER), texts)
    guesses = language_detector().detect_many(texts)
    detected = {text: guess.code for text, guess in zip(texts, guesses, strict=True)}
    row = {text: i for i, text in enumerate(texts)}
    return [
        Stream(
            seed,
            tickets,
            bursts,
            vectors[[row[t.text] for t in tickets]],
            [detected[t.text] for t in tickets],
        )
        for seed, (tickets, bursts) in raw.items()
    ]


def choose(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The module docstring's rule: under the false-alarm cap, the highest recall, then the
    fewer false alarms, then grid order; none under it: the fewest false alarms, then recall."""
    allowed = [r for r in rows if r["false_alarms_per_day"] <= FALSE_ALARM_CAP]
    if allowed:
        return max(allowed, key=lambda r: (r["recall"], -r["false_alarms_per_day"]))
    return max(rows, key=lambda r: (-r["false_alarms_per_day"], r["recall"]))


def tune(streams: list[Stream]) -> dict[str, Any]:
    rows = []
    for values in itertools.product(*GRID.values()):
        setting = dict(zip(GRID, values, strict=True))
        result = pooled([run_detector(s, replace(IncidentConfig(), **setting)) for s in streams])
        rows.append({**setting, **result})
        print(rows[-1], flush=True)
    best = choose(rows)
    return {"grid": rows, "chosen": {name: best[name] for name in GRID}}


def refine(streams: list[Stream], chosen: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for values in itertools.product(*REFINE.values()):
        setting = {**chosen, **dict(zip(REFINE, values, strict=True))}
        result = pooled([run_detector(s, replace(IncidentConfig(), **setting)) for s in streams])
        rows.append({**setting, **result})
        print(rows[-1], flush=True)
    best = choose(rows)
    names = list(dict.fromkeys([*chosen, *REFINE]))
    return {"grid": rows, "chosen": {name: best[name] for name in names}}


def speed(vectors: np.ndarray, config: IncidentConfig) -> dict[str, Any]:
    """CPU ms of one detection with 10,000 tickets in the window and a day of history."""
    rng = np.random.default_rng(0)
    detector = IncidentDetector(config, vectors.shape[1])
    history = 20_000
    rows = rng.integers(len(vectors), size=history + 1000)
    times = np.concatenate(
        [
            np.linspace(0, config.history - config.window, history - 10_000),
            np.linspace(config.history - config.window, config.history, 10_000),
        ]
    )
    words = ("vpn", "email", "printer", "login", "portal", "wifi")
    for i in range(history):
        detector.observe(WindowTicket(f"h{i}", float(times[i]), vectors[rows[i]], terms=words))
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(1000):
        at = config.history + i * 0.01
        detector.observe(WindowTicket(f"n{i}", at, vectors[rows[history + i]], terms=words))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - started
    window = detector.window.vectors[len(detector.window) - 10_000 : len(detector.window)]
    scan = time.process_time()
    for i in range(1000):
        window @ vectors[rows[history + i]]
    scan_ms = time.process_time() - scan  # one bare scan of 10,000 vectors, BLAS's threads
    with one_blas_thread():  # as detection runs it: the floor of an exact scan
        scan = time.process_time()
        for i in range(1000):
            window @ vectors[rows[history + i]]
        scan_one_ms = time.process_time() - scan
    in_window = int(
        (detector.window.at[: len(detector.window)] >= config.history - config.window).sum()
    )
    return {
        "tickets_in_window": in_window,
        "tickets_in_history": len(detector.window),
        "cpu_ms_per_ticket": round(cpu, 3),
        "wall_ms_per_ticket": round(wall, 3),
        "bare_scan_cpu_ms": round(scan_ms, 3),
        "bare_scan_one_thread_cpu_ms": round(scan_one_ms, 3),
        "dim": int(vectors.shape[1]),
    }


_SPEED = (
    "import json, sys, numpy as np\n"
    "from benchmarks.incidents import speed\n"
    "from triage.core.incident_detector import IncidentConfig\n"
    "print(json.dumps(speed(np.load(sys.argv[1]), IncidentConfig())))\n"
)
# The same for the use case around detection (--service): its SQLite transaction a ticket.
_SERVICE_SPEED = (
    "import json, sys, numpy as np\n"
    "from benchmarks.incidents import service_speed\n"
    "from triage.core.incident_detector import IncidentConfig\n"
    "print(json.dumps(service_speed(np.load(sys.argv[1]), IncidentConfig())))\n"
)


def _trees(ref: str, folder: str) -> dict[str, str]:
    """Where to run ``python -c`` for the detector at git ``ref`` (its ``triage`` extracted
    into ``folder``) and for this tree's: ``python -c`` puts its working directory first on
    the path, this tree's benchmarks behind it on PYTHONPATH."""
    archive = subprocess.run(
        ["git", "archive", ref, "triage"], cwd=ROOT, check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)
    return {"before": folder, "after": str(ROOT)}


def distinct_vectors() -> np.ndarray:
    """Every distinct vector of the tuning, report and seen streams (~26,000): :func:`speed`'s
    21,000 tickets drawn from seed 0's 3,256 repeat each ~6 times, many near-duplicates a
    window of 10,000 then groups and joins."""
    streams = [s for seeds in SEED_GROUPS.values() for s in load_streams(seeds)]
    return np.unique(np.concatenate([s.vectors for s in streams]), axis=0)


def speed_against(
    ref: str, vectors: np.ndarray, rounds: int, *, service: bool = False
) -> dict[str, Any]:
    """:func:`speed` of the detector at git ``ref`` and of this tree's, alternately, each in a
    fresh process (the other's ``triage`` package never imported), with the load before each;
    ``service``: :func:`service_speed` of the use case (lock, statements, detection) instead."""
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "vectors.npy")
        np.save(path, vectors)
        trees = _trees(ref, folder)
        for _ in range(rounds):
            for label, tree in trees.items():
                load = os.getloadavg()[0]
                done = subprocess.run(
                    [sys.executable, "-c", _SERVICE_SPEED if service else _SPEED, path],
                    cwd=tree,
                    env={**os.environ, "PYTHONPATH": str(ROOT)},
                    check=True,
                    capture_output=True,
                    text=True,
                )
                runs[label].append({**json.loads(done.stdout), "load_average_1min": load})
                print(label, runs[label][-1], flush=True)

    def median(label: str, key: str) -> float:
        return round(statistics.median(r[key] for r in runs[label]), 3)

    return {
        "command": command("incidents"),
        **stamp(),
        "ref": ref,
        "rounds": rounds,
        "runs": runs,
        "median_cpu_ms_per_ticket": {k: median(k, "cpu_ms_per_ticket") for k in runs},
        **(
            {}
            if service
            else {
                "median_bare_scan_one_thread_cpu_ms": {
                    k: median(k, "bare_scan_one_thread_cpu_ms") for k in runs
                }
            }
        ),
    }


_DECISIONS = (
    "import json, sys\n"
    "from benchmarks.incidents import decisions\n"
    "with open(sys.argv[1], 'w') as out:\n"
    "    json.dump(decisions(), out)\n"
)
SEED_GROUPS = {"tuning": TUNING_SEEDS, "report": REPORT_SEEDS, "seen": SEEN_SEEDS}


def decisions() -> dict[str, Any]:
    """Every assessment of every stream (tuning, report and seen seeds) at the defaults, and
    each group's pooled figures."""
    config = IncidentConfig()
    found: dict[str, Any] = {}
    for group, seeds in SEED_GROUPS.items():
        runs = []
        for stream in load_streams(seeds):
            assessments = replay(stream, config)
            runs.append(score_replay(stream, assessments))
            found[str(stream.seed)] = [
                [a.kind, a.incident_id, list(a.members)] for a in assessments
            ]
        found[group] = pooled(runs)
    return found


def decisions_against(ref: str) -> dict[str, Any]:
    """:func:`decisions` of the detector at git ``ref`` and of this tree's, each in a fresh
    process: the assessments that differ (none, if the detector decides as before)."""
    with tempfile.TemporaryDirectory() as folder:
        found = {}
        for label, tree in _trees(ref, folder).items():
            path = os.path.join(folder, f"{label}.json")
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            subprocess.run([sys.executable, "-c", _DECISIONS, path], cwd=tree, env=env, check=True)
            with open(path) as file:
                found[label] = json.load(file)
    before, after = found["before"], found["after"]
    streams = [key for key in before if key not in SEED_GROUPS]
    differing = {
        seed: [i for i, (b, a) in enumerate(zip(before[seed], after[seed], strict=True)) if b != a]
        for seed in streams
    }
    return {
        "command": command("incidents"),
        **stamp(),
        "ref": ref,
        "seeds": SEED_GROUPS,
        "assessments": sum(len(before[seed]) for seed in streams),
        "incidents_opened": sum(a[0] == "opened" for seed in streams for a in after[seed]),
        "tickets_joined": sum(a[0] == "joined" for seed in streams for a in after[seed]),
        "differing_assessments": {seed: rows[:10] for seed, rows in differing.items() if rows},
        "identical": before == after,
        "pooled": {
            group: {"before": before[group], "after": after[group]} for group in SEED_GROUPS
        },
    }


def service_speed(vectors: np.ndarray, config: IncidentConfig, n: int = 2000) -> dict[str, Any]:
    """What the use case adds per ticket with the state in a SQLite file: the lock, the
    insert, the replay, the detection and the summary's update (``n`` tickets, 1 a second)."""
    import tempfile
    from datetime import UTC, datetime, timedelta
    from pathlib import Path

    from triage.service.incidents import IncidentTracker, ObservedTicket
    from triage.store.database import Database
    from triage.store.incidents import IncidentStore

    start = datetime(2026, 12, 7, tzinfo=UTC)
    clock = {"now": start}
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{Path(folder) / 'triage.db'}")
        database.upgrade()
        tracker = IncidentTracker(IncidentStore(database), config, clock=lambda: clock["now"])
        cpu, wall = [], []
        for i in range(n):
            clock["now"] = start + timedelta(seconds=i)
            ticket = ObservedTicket(f"t{i}", vectors[i % len(vectors)], "vpn down", at=clock["now"])
            started, spent = time.perf_counter(), time.process_time()
            tracker.observe(ticket)
            cpu.append(time.process_time() - spent)
            wall.append(time.perf_counter() - started)
        database.dispose()
    last = slice(n // 2, n)
    return {
        "tickets": n,
        "cpu_ms_per_ticket": round(1000 * statistics.fmean(cpu[last]), 2),
        "wall_ms_p50": round(1000 * statistics.median(wall[last]), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune", action="store_true", help="run the tuning grid first")
    parser.add_argument("--refine", action="store_true", help="refine the tuned choice first")
    parser.add_argument("--speed-against", metavar="REF", help="only the speed, against a ref")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --speed-against")
    parser.add_argument(
        "--distinct",
        action="store_true",
        help="--speed-against draws from every stream's distinct vectors, not seed 0's 3,256",
    )
    parser.add_argument(
        "--service",
        action="store_true",
        help="--speed-against times the use case (its SQLite transaction a ticket) instead",
    )
    parser.add_argument(
        "--decisions-against", metavar="REF", help="only every stream's decisions, against a ref"
    )
    args = parser.parse_args()
    results = read_json(OUTPUT)
    if args.decisions_against:
        results["decisions_against"] = decisions_against(args.decisions_against)
        write_json(OUTPUT, results)
        print({k: v for k, v in results["decisions_against"].items() if k != "pooled"})
        return
    if args.speed_against:
        key = "speed_against_distinct" if args.distinct else "speed_against"
        key = "service_speed_against" if args.service else key
        vectors = distinct_vectors() if args.distinct else load_streams(SEEN_SEEDS[:1])[0].vectors
        results[key] = speed_against(args.speed_against, vectors, args.rounds, service=args.service)
        write_json(OUTPUT, results)
        print(results[key]["median_cpu_ms_per_ticket"])
        return
    if args.tune:
        streams = load_streams(TUNING_SEEDS)
        results["tuning"] = {"command": command("incidents"), "seeds": TUNING_SEEDS}
        results["tuning"].update(tune(streams))
        write_json(OUTPUT, results)
        print("tuned", results["tuning"]["chosen"], flush=True)
    if args.refine:
        chosen = results["tuning"]["chosen"]
        refined = refine(load_streams(TUNING_SEEDS), chosen)
        results["refinement"] = {"command": command("incidents"), "seeds": TUNING_SEEDS, **refined}
        write_json(OUTPUT, results)
        print("refined", results["refinement"]["chosen"], flush=True)
    config = IncidentConfig()
    choice = results.get("refinement", {})
    chosen = choice.get("chosen", {})
    if list(choice.get("seeds", ())) != list(TUNING_SEEDS) or chosen != {
        name: getattr(config, name) for name in chosen
    }:
        # The report streams judge only the procedure's choice, run once: not a setting
        # on the way to it.
        print("not reported: the defaults are not --refine's choice on", TUNING_SEEDS, chosen)
        return
    report(results, config)


def report(results: dict[str, Any], config: IncidentConfig) -> None:
    streams = load_streams(REPORT_SEEDS)
    seen = load_streams(SEEN_SEEDS)
    results.update(
        {
            "command": command("incidents"),
            **stamp(),
            "embedder": DEFAULT_EMBEDDER,
            "procedure": {
                "tuning_seeds": TUNING_SEEDS,
                "false_alarm_cap_per_day": FALSE_ALARM_CAP,
                "report_seeds": REPORT_SEEDS,
            },
            "seeds": REPORT_SEEDS,
            "days_per_stream": DAYS,
            "config": asdict(config),
            "defaults_are_tuned_choice": True,
            "detector": pooled([run_detector(s, config) for s in streams]),
            "baseline_duplicate_pair": pooled([run_baseline(s, config) for s in streams]),
            "bursts": Counter(b.source for s in streams for b in s.bursts),
            "seen": {
                "seeds": SEEN_SEEDS,
                "note": "reported on before this choice: not out of fold for it",
                "detector": pooled([run_detector(s, config) for s in seen]),
                "baseline_duplicate_pair": pooled([run_baseline(s, config) for s in seen]),
            },
            "speed": speed(seen[0].vectors, config),
            "service_speed_sqlite": service_speed(seen[0].vectors, config),
            "load_average": list(os.getloadavg()),
        }
    )
    write_json(OUTPUT, results)
    for name in ("detector", "baseline_duplicate_pair"):
        print(name, results[name])
    print("seen", results["seen"])
    print("speed", results["speed"], results["service_speed_sqlite"])


if __name__ == "__main__":
    main()
