"""The one-walk language detector answers exactly as py3langid's own ``classify`` does, for
whole texts and for their sentences, and ``detect`` as it did before it reused the walk."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py3langid.langid import visit_counts  # type: ignore[import-untyped]

from tests.conftest import shared_dataset
from triage.core.language import (
    _LETTER,
    _MIN_WORDS,
    _SENTENCES,
    MIXED_SHARE,
    UNDETERMINED,
    LanguageDetector,
    LanguageGuess,
    _letters,
)
from triage.core.language_identifier import load_identifier
from triage.core.language_walk import ByteWalkIdentifier, _clear_winner


@pytest.fixture(scope="module")
def reference() -> Any:
    """py3langid's own identifier, restricted to English and Indonesian."""
    return load_identifier(("en", "id"))[0]


@pytest.fixture(scope="module")
def walker(reference: Any) -> ByteWalkIdentifier:
    return ByteWalkIdentifier(reference)


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector(("en", "id"))


def _reference_detect(reference: Any, text: str) -> LanguageGuess:
    """``LanguageDetector.detect`` as it stood before the walk was reused (654b712): every
    classification by py3langid, sentences walked on their own."""
    if not _LETTER.findall(text):
        return LanguageGuess(UNDETERMINED, 0.0, False)
    code, confidence = reference.classify(text)
    sentences = [s for s in _SENTENCES.split(text) if len(s.split()) >= _MIN_WORDS]
    if sentences == [text]:
        return LanguageGuess(code, round(confidence, 4), False)
    sized = sorted(((len(_LETTER.findall(s)), s) for s in sentences), key=lambda p: -p[0])
    judged = sum(size for size, _ in sized)
    needed = MIXED_SHARE * judged
    other, left = 0, judged
    for size, sentence in sized:
        if other >= needed or other + left < needed:
            break
        left -= size
        if reference.classify(sentence)[0] != code:
            other += size
    return LanguageGuess(code, round(confidence, 4), judged > 0 and other >= needed)


def _py3langid_counts(reference: Any, data: bytes) -> list[tuple[int, int]]:
    rows = reference._rowbase  # its automaton's row offsets, as its classify walks them
    return list(
        (visit_counts(reference.tk_nextmove, rows, reference.tk_output, data) or {}).items()
    )


def _walk_counts(walker: ByteWalkIdentifier, text: str) -> list[tuple[int, int]]:
    counts = Counter(walker.walk(text).outputs)
    counts.pop(-1, None)
    return list(counts.items())


def _parts(text: str) -> list[str]:
    return [*_SENTENCES.split(text), *text.split(), text[len(text) // 3 :]]


def test_the_walk_counts_py3langids_features_in_its_order(
    walker: ByteWalkIdentifier, reference: Any, sample_frame: pd.DataFrame
) -> None:
    for text in sample_frame["subject"] + "\n" + sample_frame["body"]:
        assert _walk_counts(walker, text) == _py3langid_counts(reference, walker.encode(text))


def test_every_sample_ticket_and_its_parts_answer_as_py3langid(
    walker: ByteWalkIdentifier, reference: Any, sample_frame: pd.DataFrame
) -> None:
    for text in sample_frame["subject"] + "\n" + sample_frame["body"]:
        assert walker.classify(text) == reference.classify(text)  # code and float, bit for bit
        walked = walker.walk(text)
        for part in _parts(text):
            assert walker.language_of_part(part, walked) == reference.classify(part)[0]


def test_a_part_whose_bytes_differ_from_the_texts_is_walked_on_its_own(
    walker: ByteWalkIdentifier, reference: Any
) -> None:
    text = "Server di lantai dua mati. ERROR: THE DISK IS FULL AGAIN. Mohon dicek."
    shouting = "ERROR: THE DISK IS FULL AGAIN."  # lowered alone, not within the text
    walked = walker.walk(text)
    assert walker.encode(shouting) not in walked.data
    assert walker.language_of_part(shouting, walked) == reference.classify(shouting)[0]


unicode_text = st.text(st.characters(blacklist_categories=()), max_size=300)  # surrogates too


@settings(max_examples=300, deadline=None)
@given(text=unicode_text, cut=st.integers(0, 300), length=st.integers(0, 300))
def test_any_unicode_text_and_part_answers_as_py3langid(
    walker: ByteWalkIdentifier, reference: Any, text: str, cut: int, length: int
) -> None:
    assert _walk_counts(walker, text) == _py3langid_counts(reference, walker.encode(text))
    assert walker.classify(text) == reference.classify(text)
    walked = walker.walk(text)
    for part in [text[cut : cut + length], *_parts(text)]:
        assert walker.language_of_part(part, walked) == reference.classify(part)[0]


words = st.sampled_from(
    [
        "the",
        "printer",
        "jams",
        "on",
        "every",
        "job",
        "printer",
        "di",
        "lantai",
        "tiga",
        "macet",
        "terus",
        "setiap",
        "kali",
        "mencetak",
        "ERROR",
        "DISK",
        "FULL",
        "tidak",
        "bisa",
        "login",
    ]
)
separators = st.sampled_from([" ", " ", " ", ". ", "! ", "\n", "\n\n", ": ", "; "])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(words, separators), max_size=60))
def test_detect_answers_as_before_on_mixed_word_salad(
    detector: LanguageDetector, reference: Any, pieces: list[tuple[str, str]]
) -> None:
    text = "".join(word + sep for word, sep in pieces)
    assert detector.detect(text) == _reference_detect(reference, text)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(unicode_text, words, separators), max_size=12).map("".join),
)
def test_detect_answers_as_before_on_any_unicode_text(
    detector: LanguageDetector, reference: Any, text: str
) -> None:
    assert detector.detect(text) == _reference_detect(reference, text)


@given(st.text(st.characters(blacklist_categories=()), max_size=80))
def test_letters_are_the_letter_patterns_matches(text: str) -> None:
    assert _letters(text) == len(_LETTER.findall(text))
    assert _letters(text.encode("ascii", "ignore").decode()) == len(
        _LETTER.findall(text.encode("ascii", "ignore").decode())
    )


def _dataset_texts() -> list[str]:
    """A few thousand real texts: Indonesian, English, English with some German."""
    indonesian = pd.read_csv(shared_dataset("id_isp_customer_questions/labels_arvindaffa.csv"))
    itsm = pd.read_csv(shared_dataset("itsm_assignment_groups/input_data.csv")).fillna("")
    banking = pd.read_csv(shared_dataset("banking77/test.csv"))
    tobi = pd.read_csv(shared_dataset("tobi_bueck_tickets_en/tickets_en_v5_parts1-6.csv"))
    tobi = tobi.fillna("").head(600)
    texts = list(indonesian["question_list"].astype(str).head(1500))
    texts += list((itsm["Short description"] + "\n" + itsm["Description"]).head(1200))
    texts += list(banking["text"].head(500))
    texts += list(tobi["subject"] + "\n" + tobi["body"])
    # Mixes: an Indonesian question followed by an English ticket and back.
    texts += [f"{a}. {b}" for a, b in zip(texts[:400], texts[1500:1900], strict=True)]
    texts += [f"{b}\n{a}?" for a, b in zip(texts[400:800], texts[2700:3100], strict=True)]
    return texts


@pytest.mark.slow
def test_dataset_texts_are_detected_as_before(detector: LanguageDetector, reference: Any) -> None:
    texts = _dataset_texts()
    guesses = [detector.detect(t) for t in texts]
    assert guesses == [_reference_detect(reference, t) for t in texts]
    assert {"en", "id"} <= {g.code for g in guesses}
    assert sum(g.mixed for g in guesses) >= 50
    walker = detector._identifier
    for text in texts:
        assert walker.classify(text) == reference.classify(text)
        assert _walk_counts(walker, text) == _py3langid_counts(reference, walker.encode(text))


def test_only_a_clear_winner_skips_the_normalisation() -> None:
    assert _clear_winner([-40.0, -41.0]) == 0
    assert _clear_winner([-41.0, -40.0, -45.0]) == 1
    assert _clear_winner([-40.0, -40.00001]) is None  # left to py3langid's own arithmetic
    assert _clear_winner([-40.0, -40.0]) is None
    assert _clear_winner([-3.0]) == 0
