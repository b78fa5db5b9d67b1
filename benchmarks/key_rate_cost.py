"""What counting a rate-limited key's requests in the database costs per request.

    PYTHONPATH=. .venv/bin/python benchmarks/key_rate_cost.py [--postgres URL]

Times KeyRateStore.take (one GCRA update in its own transaction) 500 times on a fresh SQLite
file and on PostgreSQL (the local server of the test machine by default), after 50 warm-up
calls, and prints p50 and p99 with the load average. Only keys with a ``rate_per_minute`` pay it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from triage.store.database import Database
from triage.store.key_rates import KeyRateStore

ROUNDS = 500


def measure(url: str) -> tuple[float, float]:
    with Database(url) as database:
        database.upgrade()
        store = KeyRateStore(database)
        for _ in range(50):
            store.take("warm-up", 10**6)
        times = []
        for _ in range(ROUNDS):
            start = time.perf_counter()
            store.take("timed", 10**6)
            times.append(time.perf_counter() - start)
    times.sort()
    return times[ROUNDS // 2] * 1e3, times[int(ROUNDS * 0.99)] * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        urls = {"sqlite": f"sqlite:///{Path(folder) / 'rates.db'}", "postgresql": args.postgres}
        for name, url in urls.items():
            p50, p99 = measure(url)
            print(f"{name}: p50 {p50:.2f} ms, p99 {p99:.2f} ms a request")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
