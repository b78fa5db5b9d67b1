"""The replay stream of ``benchmarks/incidents.py``: real background tickets at a varying
rate over simulated days, with bursts of tickets about one problem injected into it.

Background: the Kaggle IT tickets, the ITSM incidents, the project's sample tickets and the
Indonesian ISP questions. Bursts: one Banking77 intent, one SeaMonkey duplicate group, or one
scenario of the paraphrases written for this benchmark (``benchmarks/data/``; English,
Indonesian or both), of 3 to 50 tickets over 5 to 90 minutes.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from triage.core.embeddings import Embedder
from triage.core.text import ticket_text

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT.parent / "shared" / "datasets"
PARAPHRASES = Path(__file__).with_name("data") / "incident_paraphrases.csv"
CACHE = Path(__file__).with_name(".cache")
DAY = 86_400.0
BACKGROUND_PER_DAY = 480.0  # ~40 an hour at the weekday peak, ~4 at night

_OPENERS = ["", "", "Hi, ", "Hello team, ", "Urgent: ", "Halo, ", "Mohon bantuan, ", "Pagi, "]
_CLOSERS = ["", "", " Thanks.", " Please help.", " Terima kasih.", " Tolong dicek.", " ASAP"]


@dataclass(frozen=True)
class StreamTicket:
    at: float  # seconds from the stream's start
    text: str
    burst: int  # -1: background
    language: str


@dataclass(frozen=True)
class Burst:
    id: int
    source: str
    size: int
    start: float
    duration: float
    language: str


def _texts(frame: pd.DataFrame, subject: str, body: str | None) -> list[str]:
    rows = []
    for record in frame.to_dict("records"):
        parts = [str(record[subject] or "")]
        if body is not None and isinstance(record[body], str):
            parts.append(record[body][:1500])
        if text := ticket_text(parts):
            rows.append(text)
    return rows


def background_pool() -> list[tuple[str, str]]:
    """(text, language) of the real background tickets (deduplicated)."""
    kaggle = pd.read_csv(
        DATASETS / "it_service_tickets_kaggle/all_tickets_processed_improved_v3.csv"
    )
    itsm = pd.read_csv(DATASETS / "itsm_assignment_groups/input_data.csv")
    sample = pd.read_csv(ROOT / "data/tickets.csv")
    isp = pd.read_csv(DATASETS / "id_isp_customer_questions/question_list.csv")
    pool = [(t, "en") for t in _texts(kaggle.sample(6000, random_state=0), "Document", None)]
    pool += [(t, "en") for t in _texts(itsm, "Short description", "Description")]
    pool += [
        (t, lang)
        for t, lang in zip(_texts(sample, "subject", "body"), sample["language"], strict=True)
    ]
    questions = isp.iloc[:, 0].astype(str).str.strip('"').drop_duplicates()
    pool += [(t, "id") for t in questions if len(t) > 8]
    seen: set[str] = set()
    return [(t, lang) for t, lang in pool if not (t in seen or seen.add(t))]


def burst_pools() -> dict[str, list[list[tuple[str, str]]]]:
    """Per source, groups of (text, language) that describe one problem each."""
    banking = pd.read_csv(DATASETS / "banking77/train.csv")
    intents = [[(t, "en") for t in g["text"]] for _, g in banking.groupby("category")]
    bugs = pd.read_csv(DATASETS / "bug_duplicates_seamonkey/SeaMonkey_bugs.csv")
    text_of = {
        int(r["Issue id"]): ticket_text([str(r["Summary"]), str(r["Description"])[:1500]])
        for r in bugs.to_dict("records")
    }
    groups = _duplicate_groups(DATASETS / "bug_duplicates_seamonkey/SeaMonkey_bugs-combined.csv")
    seamonkey = [[(text_of[i], "en") for i in g if i in text_of] for g in groups]
    scenarios: dict[str, list[tuple[str, str]]] = defaultdict(list)
    with PARAPHRASES.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            scenarios[row["scenario"]].append((row["text"], row["language"]))
    return {
        "banking77": intents,
        "seamonkey": [g for g in seamonkey if len(g) >= 2],
        "paraphrases": list(scenarios.values()),
    }


def _duplicate_groups(path: Path) -> list[set[int]]:
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for row in pd.read_csv(path).to_dict("records"):
        for other in str(row["Duplicate id"]).split(","):
            if other.strip().isdigit():
                parent[find(int(row["Issue id"]))] = find(int(other))
    groups: dict[int, set[int]] = defaultdict(set)
    for x in list(parent):
        groups[find(x)].add(x)
    return list(groups.values())


def _rate(t: float) -> float:
    """Background tickets per second at ``t``: a working-day bump, quieter weekends."""
    hour = (t % DAY) / 3600
    weekend = int(t // DAY) % 7 in (5, 6)
    bump = math.exp(-(((hour - 12.5) / 3.5) ** 2))
    return BACKGROUND_PER_DAY / DAY * (0.2 + 2.6 * bump) * (0.35 if weekend else 1.0)


def simulate(
    days: int, seed: int, bursts_per_day: float = 6.0
) -> tuple[list[StreamTicket], list[Burst]]:
    """A stream of ``days`` simulated days; bursts per day on average, mostly in the day."""
    rng = np.random.default_rng(seed)
    background = background_pool()
    pools = burst_pools()
    order = rng.permutation(len(background))
    tickets: list[StreamTicket] = []
    peak = max(_rate(d * DAY + 12.5 * 3600) for d in range(7))
    t, used = 0.0, 0
    while True:  # a Poisson process thinned to the varying rate
        t += rng.exponential(1 / peak)
        if t >= days * DAY:
            break
        if rng.random() < _rate(t) / peak:
            text, language = background[order[used % len(order)]]
            used += 1
            tickets.append(StreamTicket(t, text, -1, language))
    bursts = []
    for index in range(rng.poisson(bursts_per_day * days)):
        burst, members = _burst(index, rng, pools, days)
        bursts.append(burst)
        tickets.extend(members)
    tickets.sort(key=lambda ticket: ticket.at)
    return tickets, bursts


def _burst(
    index: int, rng: np.random.Generator, pools: dict[str, list[list[tuple[str, str]]]], days: int
) -> tuple[Burst, list[StreamTicket]]:
    source = str(rng.choice(["banking77", "paraphrases", "seamonkey"], p=[0.45, 0.4, 0.15]))
    group = pools[source][int(rng.integers(len(pools[source])))]
    if source == "seamonkey":
        size = len(group)
    else:
        size = round(math.exp(rng.uniform(math.log(3), math.log(50))))
        if source == "banking77":  # distinct tickets: at most the intent's examples
            size = min(size, len(group))
    language = "en"
    if source == "paraphrases":
        language = str(rng.choice(["en", "id", "mixed"]))
        if language != "mixed":
            group = [(t, lang) for t, lang in group if lang == language]
    day = int(rng.integers(days))
    start = (
        day * DAY + rng.uniform(7, 19) * 3600 if rng.random() < 0.85 else rng.uniform(0, days * DAY)
    )
    duration = float(rng.uniform(5, 90) * 60)
    # Front-loaded: most of a surge comes early, a tail follows.
    offsets = np.sort(rng.exponential(duration / 3, size).clip(0, duration))
    if source == "paraphrases":
        picks = rng.integers(len(group), size=size)
    else:
        picks = rng.permutation(len(group))[:size] if source == "banking77" else np.arange(size)
    members = []
    for pick, offset in zip(picks, offsets, strict=True):
        text, lang = group[int(pick)]
        if source == "paraphrases":
            text = _vary(text, rng)
        members.append(StreamTicket(start + float(offset), text, index, lang))
    return Burst(index, source, size, start, duration, language), members


def _vary(text: str, rng: np.random.Generator) -> str:
    """The same complaint in another person's words around it (a greeting, a sign-off)."""
    opener = _OPENERS[int(rng.integers(len(_OPENERS)))]
    closer = _CLOSERS[int(rng.integers(len(_CLOSERS)))]
    return f"{opener}{text}{closer}"


def embed(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Unit vectors of ``texts``, kept in benchmarks/.cache by the embedder and the texts."""
    key = hashlib.sha256(json.dumps(embedder.identity, sort_keys=True, default=str).encode())
    for text in texts:
        key.update(text.encode() + b"\0")
    path = CACHE / f"incidents-{key.hexdigest()[:20]}.npy"
    if path.exists():
        return np.asarray(np.load(path))
    vectors = np.asarray(embedder.encode(texts, batch_size=64), dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors
