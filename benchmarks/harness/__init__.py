"""What the benchmark scripts share, so that each keeps only its arguments and its scenario.

- ``server``: the service under test: a free loopback port, uvicorn started in its own
  session with the project's environment, readiness, shutdown;
- ``models``: a model to serve (the one given, or one trained here) and the ``triage`` CLI;
- ``processes``: a server's worker processes, their memory and CPU time, from /proc;
- ``machine``: what the figures were measured on (cores, CPU, memory, load, libraries, commit);
- ``stats``: latency percentiles (nearest rank), one definition for every script;
- ``results``: timestamps, the command that reproduces a run, JSON written the same way;
- ``wrk``: running wrk with a Lua script that prints one JSON line;
- ``cli``: argument types shared by the scripts.

The modules import only the standard library at import time (httpx and triage where a
function needs them), so a process whose memory is measured stays as it was.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
SAMPLE_TICKETS = ROOT / "data" / "tickets.csv"
