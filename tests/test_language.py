"""Language detection: which language a ticket is in, and whether it mixes two."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from triage.core.language import (
    _LETTER,
    _SENTENCES,
    MIXED_SHARE,
    LanguageDetector,
    language_detector,
)


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return language_detector(("en", "id"))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Outlook minta password terus sejak pagi", "id"),
        ("Internet mati nih", "id"),
        ("wifi lt 7 ga muncul, laptop lain bisa connect", "id"),
        ("Printer on 3rd floor jams", "en"),
        ("The VPN disconnects every few minutes when I work from home.", "en"),
    ],
)
def test_detects_english_and_indonesian(detector: LanguageDetector, text: str, code: str) -> None:
    guess = detector.detect(text)
    assert guess.code == code
    assert 0.5 <= guess.confidence <= 1.0
    assert not guess.mixed


@pytest.mark.parametrize("text", ["Bagaimana cara menukar kata sandi", "kenapa tagihan saya naik"])
def test_short_indonesian_is_not_taken_for_malay(detector: LanguageDetector, text: str) -> None:
    # Among all 97 of its languages py3langid says 'ms' for these; the helpdesk sees en and id.
    assert detector.detect(text).code == "id"


def test_an_indonesian_ticket_quoting_an_english_error_is_mixed(
    detector: LanguageDetector,
) -> None:
    text = (
        "Pagi ini waktu login laptop muncul pesan error.\n"
        "The User Profile Service failed the sign-in. User profile cannot be loaded.\n"
        "Kemarin sore laptop mati mendadak karena baterai habis."
    )
    guess = detector.detect(text)
    assert guess.code == "id"
    assert guess.mixed


def test_text_without_letters_is_undetermined(detector: LanguageDetector) -> None:
    guess = detector.detect("12345 -- 0800")
    assert (guess.code, guess.confidence, guess.mixed) == ("und", 0.0, False)


def test_an_unknown_language_code_is_refused() -> None:
    with pytest.raises(ValueError, match="xx"):
        LanguageDetector(("en", "xx"))


SHARED_TEXTS = [
    "Printer on the third floor jams on every job, please help",
    "Tidak bisa login ke email kantor sejak pagi. Mohon bantuannya segera.",
    "Outlook minta password terus. The error says: Your credentials are invalid, try again.",
    "",
    "12345 !!!",
]


def test_the_cached_model_gives_the_same_answers(tmp_path: Path) -> None:
    in_memory = LanguageDetector()
    assert not in_memory.shared
    first = LanguageDetector(cache_dir=tmp_path / "cache")  # writes the cache
    second = LanguageDetector(cache_dir=tmp_path / "cache")  # reads it: another worker
    assert first.shared
    assert second.shared
    assert isinstance(second._identifier.identifier.tk_nextmove, memoryview)  # a file mapping
    expected = [in_memory.detect(t) for t in SHARED_TEXTS]
    assert [first.detect(t) for t in SHARED_TEXTS] == expected
    assert [second.detect(t) for t in SHARED_TEXTS] == expected
    assert len(list((tmp_path / "cache").iterdir())) == 1


def test_a_damaged_cache_is_rebuilt(tmp_path: Path) -> None:
    LanguageDetector(cache_dir=tmp_path)
    (folder,) = tmp_path.iterdir()
    table = folder / "transitions.bin"
    data = bytearray(table.read_bytes())
    data[len(data) // 2] ^= 0xFF
    table.write_bytes(bytes(data))
    again = LanguageDetector(cache_dir=tmp_path)
    assert again.shared
    assert [again.detect(t) for t in SHARED_TEXTS] == [
        LanguageDetector().detect(t) for t in SHARED_TEXTS
    ]
    assert (folder / "transitions.bin").read_bytes() != bytes(data)


def test_a_cache_another_worker_published_while_this_one_loaded_is_mapped_not_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from triage.core import language_identifier

    restricted = language_identifier._restricted
    published: list[Path] = []

    def another_worker_publishes_meanwhile(languages: list[str]) -> object:
        if not published:  # the other worker (loading with the real function) writes the cache
            monkeypatch.setattr(language_identifier, "_restricted", restricted)
            LanguageDetector(languages, cache_dir=tmp_path)
            published.extend(tmp_path.iterdir())
            (published[0] / "theirs").touch()  # gone if the folder is written over
        return restricted(languages)

    # Both find an empty cache; this one is still loading when the other publishes.
    monkeypatch.setattr(language_identifier, "_restricted", another_worker_publishes_meanwhile)
    detector = LanguageDetector(cache_dir=tmp_path)
    monkeypatch.undo()
    assert detector.shared
    assert isinstance(detector._identifier.identifier.tk_nextmove, memoryview)
    assert list(tmp_path.iterdir()) == published
    assert (published[0] / "theirs").exists()  # their folder, kept


def test_an_unwritable_cache_keeps_the_model_in_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    detector = LanguageDetector(cache_dir=blocker / "cache")
    assert not detector.shared
    assert detector.detect(SHARED_TEXTS[1]).code == "id"


def test_unknown_languages_are_refused_with_or_without_a_cache(tmp_path: Path) -> None:
    for cache in (None, tmp_path):
        with pytest.raises(ValueError, match="xx"):
            LanguageDetector(("en", "xx"), cache_dir=cache)


def test_one_detector_per_language_set_in_a_process(tmp_path: Path) -> None:
    languages = ("id", "en", "ms")
    first = language_detector(languages, cache_dir=tmp_path / "a")
    assert language_detector(languages, cache_dir=tmp_path / "b") is first
    assert language_detector(languages) is first
    assert not (tmp_path / "b").exists()  # loaded once, by the first call


def _mixed_judging_every_sentence(detector: LanguageDetector, text: str) -> bool:
    """The rule as written: every sentence of three words or more classified."""
    code = detector.detect(text).code
    sentences = [s for s in _SENTENCES.split(text) if len(s.split()) >= 3]
    other = judged = 0
    for sentence in sentences:
        size = len(_LETTER.findall(sentence))
        judged += size
        if detector._classify(sentence)[0] != code:
            other += size
    return judged > 0 and other >= MIXED_SHARE * judged


def test_stopping_once_the_mix_is_decided_gives_the_rules_answer(
    detector: LanguageDetector, sample_frame: pd.DataFrame
) -> None:
    """``detect`` stops classifying sentences once the answer cannot change; on tickets and
    on mixes of every share around the threshold it must answer as judging them all."""
    pairs = zip(sample_frame["subject"], sample_frame["body"], strict=True)
    texts = [f"{subject}\n{body}" for subject, body in pairs][:300]
    english = "The printer on the third floor jams on every job. "
    indonesian = "Printer di lantai tiga macet terus setiap kali mencetak. "
    for n_en in range(0, 9):
        for n_id in range(0, 9):
            texts.append(english * n_en + indonesian * n_id)
            texts.append(indonesian * n_id + "Short. " + english * n_en)
    answers = [detector.detect(t).mixed for t in texts]
    assert answers == [_mixed_judging_every_sentence(detector, t) for t in texts]
    assert any(answers)
    assert not all(answers)
