"""benchmarks/load_mixed.py: its open-loop schedule and statistics, on tiny in-process runs."""

from __future__ import annotations

import asyncio
import importlib
import os
import time
from types import ModuleType
from typing import Any

import httpx
import pytest

from benchmarks.harness.processes import rss_mb


@pytest.fixture(scope="module")
def load_mixed() -> ModuleType:
    return importlib.import_module("benchmarks.load_mixed")


def _bodies(item: Any) -> tuple[str, bytes]:
    path = {"classify": "/v1/classify", "similar": "/v1/similar", "feedback": "/v1/feedback"}
    return path[item.endpoint], b'{"subject": "printer jams"}'


def _run(load_mixed: ModuleType, schedule: list[Any], handler: Any) -> list[Any]:
    async def go() -> list[Any]:
        transport = httpx.MockTransport(handler)
        async with httpx.AsyncClient(transport=transport, base_url="http://load") as client:
            outcomes: list[Any] = await load_mixed.drive(client, schedule, _bodies, timeout=5)
            return outcomes

    return asyncio.run(go())


def test_plan_has_the_rate_and_the_exact_mix(load_mixed: ModuleType) -> None:
    mix = {"classify": 60.0, "similar": 25.0, "feedback": 15.0}
    schedule = load_mixed.plan(200, 1.5, mix, tickets=7, seed=3)

    assert len(schedule) == 300
    assert [p.at for p in schedule[:3]] == [0.0, 0.005, 0.01]
    assert schedule[-1].at == pytest.approx(299 / 200)
    counts = {name: sum(p.endpoint == name for p in schedule) for name in mix}
    assert counts == {"classify": 180, "similar": 75, "feedback": 45}
    assert {p.ticket for p in schedule} <= set(range(7))
    assert schedule == load_mixed.plan(200, 1.5, mix, tickets=7, seed=3)
    # Not one block of each kind: the kinds are interleaved.
    assert len({p.endpoint for p in schedule[:20]}) == 3


def test_every_failure_is_counted_per_endpoint(load_mixed: ModuleType) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/feedback":
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/v1/similar":
            return httpx.Response(503, json={"error": {"code": "not_ready"}})
        await asyncio.sleep(0.01)
        return httpx.Response(200, json={"predictions": {}})

    mix = {"classify": 50.0, "similar": 30.0, "feedback": 20.0}
    schedule = load_mixed.plan(200, 0.5, mix, tickets=5, seed=0)
    outcomes = _run(load_mixed, schedule, handler)
    summary = load_mixed.summarize(outcomes, rate=200, duration=0.5, slo_ms=1000)

    overall = summary["overall"]
    assert overall["requests"] == 100
    assert (overall["ok"], overall["non_2xx"], overall["socket_errors"]) == (50, 30, 20)
    assert overall["statuses"] == {"200": 50, "503": 30, "socket": 20}
    endpoints = summary["endpoints"]
    assert endpoints["similar"]["non_2xx"] == 30
    assert endpoints["similar"]["error_samples"][0].startswith("503 ")
    assert endpoints["feedback"]["socket_errors"] == 20
    assert endpoints["feedback"]["error_samples"][0].startswith("ConnectError")
    assert endpoints["classify"]["latency_ms"]["p50"] >= 10
    assert summary["sustained"] is False  # errors, whatever the latency


def test_latency_runs_from_the_scheduled_time(load_mixed: ModuleType) -> None:
    """A 300 ms stall delays the requests due during it: their wait counts (no omission)."""
    stalled = False

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal stalled
        if not stalled:
            stalled = True
            time.sleep(0.3)  # blocks the generator's loop, as a stalled machine would
        return httpx.Response(200, json={})

    schedule = load_mixed.plan(100, 0.5, {"classify": 1.0}, tickets=1, seed=0)
    outcomes = _run(load_mixed, schedule, handler)
    summary = load_mixed.summarize(outcomes, rate=100, duration=0.5, slo_ms=100)

    assert len(outcomes) == 50
    late = [o for o in outcomes if 0 < o.scheduled < 0.25]
    assert all(o.done >= 0.29 for o in late)
    assert summary["overall"]["latency_ms"]["p90"] >= 200
    assert summary["overall"]["service_ms"]["p90"] < 100  # what a closed loop would report
    assert summary["max_send_lag_ms"] >= 250
    assert summary["sustained"] is False  # p99 over the 100 ms SLO
    assert summary["latency_by_10s"][0]["p99"] >= 250


def test_sustained_needs_no_errors_the_rate_and_the_slo(load_mixed: ModuleType) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201 if request.url.path == "/v1/feedback" else 200, json={})

    schedule = load_mixed.plan(100, 0.3, {"classify": 2.0, "feedback": 1.0}, tickets=3, seed=1)
    summary = load_mixed.summarize(
        _run(load_mixed, schedule, handler), rate=100, duration=0.3, slo_ms=1000
    )

    assert summary["overall"]["ok"] == 30
    assert summary["achieved_rps"] == pytest.approx(100, rel=0.1)
    assert summary["sustained"] is True


def test_percentiles_are_nearest_rank(load_mixed: ModuleType) -> None:
    values = [float(v) for v in range(100, 0, -1)]
    assert load_mixed.percentiles(values) == {
        "p50": 50.0,
        "p90": 90.0,
        "p99": 99.0,
        "max": 100.0,
        "mean": 50.5,
    }
    assert load_mixed.percentiles([7.0])["p99"] == 7.0


def test_memory_trend_gives_the_slope_per_minute(load_mixed: ModuleType) -> None:
    growing = [(float(t), 400.0 + 0.5 * t) for t in range(61)]
    trend = load_mixed.memory_trend(growing)
    assert trend == {
        "first": 400.0,
        "last": 430.0,
        "max": 430.0,
        "mean": 415.0,
        "slope_mb_per_min": 30.0,
    }

    flat = [(float(t), 400.0 + (t % 2)) for t in range(61)]
    assert abs(load_mixed.memory_trend(flat)["slope_mb_per_min"]) < 0.1
    assert load_mixed.memory_trend([])["slope_mb_per_min"] is None


def test_this_process_is_read_from_proc(load_mixed: ModuleType) -> None:
    sampler = load_mixed.Sampler(os.getpid())
    assert sampler.processes()[os.getpid()] == "master"
    assert rss_mb(os.getpid()) > 10
    assert sampler.cpu()[os.getpid()] > 0


def test_markdown_reports_every_endpoint_and_the_memory(load_mixed: ModuleType) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={})

    mix = {"classify": 60.0, "similar": 25.0, "feedback": 15.0}
    schedule = load_mixed.plan(100, 0.2, mix, tickets=3, seed=0)
    run = load_mixed.summarize(
        _run(load_mixed, schedule, handler), rate=100, duration=0.2, slo_ms=1000
    )
    run |= {
        "memory_mb": {
            "worker 11": {**load_mixed.memory_trend([(0.0, 500.0), (60.0, 501.0)])},
            "total": {**load_mixed.memory_trend([(0.0, 1100.0), (60.0, 1101.0)])},
        },
        "server_cpu_percent": {"master 10": 0.5, "worker 11": 80.0},
        "generator_cpu_percent": 9.0,
        "loadavg_before": [1.0, 1.0, 1.0],
        "loadavg_after": [1.5, 1.0, 1.0],
    }
    result = {
        "date": "2026-01-01T00:00:00+00:00",
        "machine": {"cores": 2},
        "setup": {
            "model_version": "v1",
            "embedder": "hashing",
            "workers": 1,
            "threads_per_worker": 2,
            "database": "SQLite",
            "indexed": {"tickets": 3},
        },
        "runs": [run],
        "highest_sustained_rps": 100.0,
    }
    text = load_mixed.markdown(result)

    for path in ("/v1/classify", "/v1/similar", "/v1/feedback"):
        assert f"`POST {path}`" in text
    assert "| 100 req/s | **all** | 20 | 0 | 0 |" in text
    assert "500 → 501 (501), +1.00" in text
    assert "Highest sustained rate tried: 100 req/s." in text
