"""py3langid's feature counts three ways, equal and timed: its own walk, the walk that
``triage.core.language_walk`` records, and a NumPy table look-up (not adopted).

py3langid (0.4 here) walks a text's UTF-8 bytes through a deterministic automaton and at every
byte counts the feature its state outputs: one per state. Reading the n-grams out of the
automaton (breadth first from the start state) shows what that is: 100,053 byte n-grams of 2
to 6 bytes, and at each byte the longest of them that ends there (not every n-gram that ends
there). ``NgramTable.from_automaton`` checks that over every state and byte (each move goes to
the longest suffix that is a state, each state outputs its longest n-gram suffix; else it
raises). The table then gives the same counts with NumPy: every 2- to 6-byte window as a number
(its bytes behind a leading 1), ``np.searchsorted`` against the n-grams' sorted numbers, the
longest found per byte, and ``np.unique`` for counts in order of first occurrence.

Exact, and ~1.2 MB instead of the 39 MB transition table, but on tickets of a few hundred bytes
its two dozen NumPy passes over five windows a byte cost more CPU than the Python walk (the
figures this prints), so the service keeps the walk and walks a ticket once instead.

    PYTHONPATH=. .venv/bin/python -m benchmarks.language_counts [--datasets]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness import RESULTS, ROOT, SAMPLE_TICKETS
from benchmarks.harness.machine import loadavg
from benchmarks.harness.results import command, now, write_json

OUTPUT = RESULTS / "language_counts.json"

MAX_LENGTH = 6  # a window's number, with its leading 1, stays below 2**56
_CHECK_CHUNK = 4096  # states whose 256 transitions are checked at once


class NgramTable:
    """The features' byte strings as sorted numbers, and the feature each one counts."""

    def __init__(self, keys: np.ndarray, features: np.ndarray, separator: int) -> None:
        self.keys = keys  # int64, sorted: int.from_bytes(b"\x01" + ngram, "big")
        self.features = features  # intp: each key's feature (row of py3langid's weights)
        self.separator = separator  # a byte in no n-gram: texts joined by it count apart
        self.sizes = [  # the n-grams' lengths: 2**(8 n) <= key < 2**(8 n + 1)
            n for n in range(1, MAX_LENGTH + 1) if ((keys >> (8 * n)) == 1).any()
        ]

    def counts(self, texts: Sequence[bytes]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per text: (features, counts), features in the order they first occur."""
        joined = np.frombuffer(bytes([self.separator]).join(texts), dtype=np.uint8)
        longest = np.full(len(joined), -1, dtype=np.intp)  # the feature ending at each byte
        key = joined.astype(np.int64) | 256  # every 1-byte window, with its leading 1
        top = len(self.keys) - 1
        for length in range(1, max(self.sizes, default=0) + 1):
            if length > 1:
                key = (key[:-1] << 8) | joined[length - 1 :]
            if length not in self.sizes:
                continue
            at = np.minimum(np.searchsorted(self.keys, key), top)
            found = self.keys[at] == key
            longest[length - 1 :][found] = self.features[at[found]]  # longer ones win
        ends = np.cumsum([len(t) + 1 for t in texts], dtype=np.intp)
        hits = np.flatnonzero(longest >= 0)
        text_of = np.searchsorted(ends, hits, side="right")
        span = len(self.features) + 1
        numbered = text_of * span + longest[hits]
        unique, first, counts = np.unique(numbered, return_index=True, return_counts=True)
        order = np.argsort(first)  # first occurrence, text by text, as a Counter keeps them
        unique, counts = unique[order], counts[order]
        bounds = np.searchsorted(unique // span, np.arange(len(texts) + 1))
        return [(unique[a:b] % span, counts[a:b]) for a, b in itertools.pairwise(bounds)]

    @classmethod
    def from_automaton(cls, nextmove: Any, row: Any, output: Sequence[int]) -> NgramTable:
        """The table of py3langid's automaton (``tk_nextmove``, ``tk_row``, ``tk_output``);
        ``ValueError`` unless the automaton counts exactly the longest n-gram ending at
        each byte."""
        moves = np.asarray(nextmove).reshape(-1, 256)
        rows = np.asarray(row, dtype=np.intp)
        out = np.asarray(output, dtype=np.intp)
        if len(rows) != len(out) or out[0] >= 0:
            raise ValueError("one output per state, none at the start")
        key, depth = _state_strings(moves, rows)
        reached = np.flatnonzero(depth >= 0)
        order = reached[np.argsort(key[reached])]
        sorted_keys = key[order]

        def state_of(wanted: np.ndarray) -> np.ndarray:
            at = np.minimum(np.searchsorted(sorted_keys, wanted), len(order) - 1)
            return np.where(sorted_keys[at] == wanted, order[at], -1)

        fail = _fail_links(key, depth, reached, state_of)
        _check_moves(moves, rows, key, depth, reached, fail)
        own = _check_outputs(out, depth, reached, fail)
        strings = key[own]
        used = np.zeros(256, dtype=bool)
        for k in range(MAX_LENGTH):
            shifted = strings >> (8 * k)
            used[(shifted & 255)[shifted >= 256]] = True
        free = np.flatnonzero(~used)
        if not len(free):
            raise ValueError("every byte occurs in an n-gram: no separator")
        by_key = np.argsort(strings)
        return cls(strings[by_key], out[own][by_key], int(free[0]))


def _state_strings(moves: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each state's string (as its key) and depth, breadth first: a state first reached at
    depth d + 1 is the child of the depth-d state that moves to it. -1: never reached."""
    depth = np.full(len(rows), -1, dtype=np.intp)
    key = np.zeros(len(rows), dtype=np.int64)
    depth[0], key[0] = 0, 1
    frontier = np.zeros(1, dtype=np.intp)
    level = 0
    while len(frontier):
        targets = moves[rows[frontier]].ravel()
        fresh = np.flatnonzero(depth[targets] < 0)
        if len(fresh) and level == MAX_LENGTH:
            raise ValueError(f"automaton deeper than {MAX_LENGTH} bytes")
        states, first = np.unique(targets[fresh], return_index=True)
        where = fresh[first]
        depth[states] = level + 1
        key[states] = (key[frontier[where // 256]] << 8) | (where % 256)
        frontier, level = states, level + 1
    return key, depth


def _fail_links(key: np.ndarray, depth: np.ndarray, reached: np.ndarray, state_of: Any) -> Any:
    """Each state's longest proper suffix that is a state (the root for none)."""
    fail = np.full(len(key), -1, dtype=np.intp)
    fail[0] = 0
    for length in range(int(depth.max()) - 1, -1, -1):
        todo = reached[(fail[reached] < 0) & (depth[reached] > length)]
        if not len(todo):
            continue
        suffix = (key[todo] & ((1 << (8 * length)) - 1)) | (1 << (8 * length))
        found = state_of(suffix)
        fail[todo] = found  # length 0 is the root, always found
    return fail


def _check_moves(
    moves: np.ndarray,
    rows: np.ndarray,
    key: np.ndarray,
    depth: np.ndarray,
    reached: np.ndarray,
    fail: np.ndarray,
) -> None:
    """Every move of state s on byte b goes to the string s+b where it is a state, else
    where s's failure state goes on b (the root: to the root). With the states' strings
    closed under prefixes, that is, by induction on depth, the longest suffix of the bytes
    read that is a state: Aho-Corasick."""
    byte = np.arange(256)
    for start in range(0, len(reached), _CHECK_CHUNK):
        states = reached[start : start + _CHECK_CHUNK]
        target = moves[rows[states]]
        child = key[target] == (key[states, None] << 8) | byte
        shorter = moves[rows[fail[states]]]
        shorter[states == 0] = 0
        if not (child | (target == shorter)).all():
            raise ValueError("the automaton is not a longest-suffix automaton")


def _check_outputs(
    out: np.ndarray, depth: np.ndarray, reached: np.ndarray, fail: np.ndarray
) -> np.ndarray:
    """The states that are n-grams (the shallowest state with each output); checks that
    every other state outputs its failure state's output, i.e., by induction, every state
    outputs its longest suffix that is an n-gram. Returns the n-gram states."""
    emitting = reached[out[reached] >= 0]
    by_depth = emitting[np.lexsort((depth[emitting], out[emitting]))]
    features = out[by_depth]
    heads = np.r_[True, features[1:] != features[:-1]]
    own = by_depth[heads]
    expected = out[fail]
    expected[own] = out[own]
    expected[0] = -1
    if not (out[reached] == expected[reached]).all():
        raise ValueError("a state's output is not its longest n-gram suffix")
    return own


def _texts(datasets: bool) -> list[str]:
    with SAMPLE_TICKETS.open(newline="", encoding="utf-8") as handle:
        texts = [f"{r['subject']}\n{r['body']}" for r in csv.DictReader(handle)]
    if datasets:  # Indonesian questions and English/German incidents, read in place
        shared = ROOT.parent / "shared" / "datasets"
        with (shared / "id_isp_customer_questions" / "labels_arvindaffa.csv").open() as handle:
            texts += [r["question_list"] for r in csv.DictReader(handle)][:1500]
        with (shared / "itsm_assignment_groups" / "input_data.csv").open() as handle:
            rows = list(csv.DictReader(handle))[:1500]
            texts += [f"{r['Short description']}\n{r['Description']}" for r in rows]
    return texts


def _cpu_us(count: Callable[[bytes], Any], data: Sequence[bytes], rounds: int = 5) -> float:
    """CPU microseconds per text of the calling thread, best of ``rounds``."""
    best = float("inf")
    for _ in range(rounds):
        begin = time.thread_time()
        for d in data:
            count(d)
        best = min(best, (time.thread_time() - begin) / len(data))
    return round(best * 1e6, 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", action="store_true", help="also ../shared/datasets texts")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    from py3langid.langid import visit_counts  # type: ignore[import-untyped]

    from triage.core.language_identifier import load_identifier
    from triage.core.language_walk import ByteWalkIdentifier

    identifier = load_identifier(("en", "id"))[0]
    walker = ByteWalkIdentifier(identifier)
    begin = time.process_time()
    table = NgramTable.from_automaton(
        identifier.tk_nextmove, identifier.tk_row, identifier.tk_output
    )
    built = time.process_time() - begin
    texts = _texts(args.datasets)
    data = [walker.encode(t) for t in texts]
    rows = identifier._rowbase

    def py3langid(d: bytes) -> list[tuple[int, int]]:
        counts = visit_counts(identifier.tk_nextmove, rows, identifier.tk_output, d)
        return list((counts or {}).items())

    def walked(d: bytes) -> list[tuple[int, int]]:
        moves, state = identifier.tk_nextmove, 0
        states = [state := moves[rows[state] + byte] for byte in d]
        counts = Counter(map(identifier.tk_output.__getitem__, states))
        counts.pop(-1, None)
        return list(counts.items())

    def numpy_table(d: bytes) -> list[tuple[int, int]]:
        ((features, counts),) = table.counts([d])
        return list(zip(features.tolist(), counts.tolist(), strict=True))

    unequal = sum(py3langid(d) != walked(d) or py3langid(d) != numpy_table(d) for d in data)
    short = [d[:60] for d in data]
    results = {
        "measured_at": now(),
        "command": command("language_counts"),
        "loadavg_start": loadavg(),
        "texts": len(texts),
        "mean_bytes": round(sum(map(len, data)) / len(data), 1),
        "texts_whose_counts_differ": unequal,
        "ngrams": len(table.keys),
        "ngram_lengths": table.sizes,
        "table_mb": round((table.keys.nbytes + table.features.nbytes) / 2**20, 2),
        "transition_table_mb": round(
            len(identifier.tk_nextmove) * identifier.tk_nextmove.itemsize / 2**20, 1
        ),
        "table_build_and_check_cpu_s": round(built, 2),
        "cpu_us_per_text": {
            name: {"whole": _cpu_us(f, data), "first_60_bytes": _cpu_us(f, short)}
            for name, f in (
                ("py3langid walk", py3langid),
                ("recorded walk", walked),
                ("numpy table", numpy_table),
            )
        },
    }
    results["loadavg_end"] = loadavg()
    write_json(args.output, results)
    print(results)


if __name__ == "__main__":
    main()
