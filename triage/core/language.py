"""The language a ticket is written in, and whether it mixes languages.

``py3langid`` (BSD-3-Clause; its naive-Bayes model of 97 languages ships inside the package;
imports only NumPy) scores the text. The candidates are restricted to the languages the
helpdesk expects (``TRIAGE_LANGUAGES``, by default English and Bahasa Indonesia): among all
97, short Indonesian messages are often taken for Malay or Javanese. Measured in
``benchmarks/multilingual.py``.

With a cache directory the restricted model is kept there and shared by the worker processes
(``triage.core.language_identifier``). A text's bytes are walked through py3langid's automaton
once; its sentences reuse that walk (``triage.core.language_walk``).

A ticket is *mixed* when at least ``MIXED_SHARE`` of its letters sit in sentences of another
language than the whole text's (an Indonesian ticket quoting an English error message, an
English ticket with an Indonesian paragraph). Sentences under three words are not judged.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from triage.core.language_identifier import load_identifier
from triage.core.language_walk import ByteWalkIdentifier

DEFAULT_LANGUAGES = ("en", "id")
MIXED_SHARE = 0.2
UNDETERMINED = "und"
_MIN_WORDS = 3
_SENTENCES = re.compile(r"(?<=[.!?;:])\s+|\n+")
_LETTER = re.compile(r"[^\W\d_]")
_NOT_ASCII_LETTERS = bytes(b for b in range(128) if not chr(b).isalpha())


@dataclass(frozen=True)
class LanguageGuess:
    """ISO 639-1 code (``und`` for text without letters), its probability, mixed or not."""

    code: str
    confidence: float
    mixed: bool


class LanguageDetector:
    """Detects the language of texts among ``languages`` (ISO 639-1 codes py3langid knows)."""

    def __init__(
        self, languages: Sequence[str] = DEFAULT_LANGUAGES, *, cache_dir: Path | None = None
    ) -> None:
        self.languages = tuple(dict.fromkeys(languages))
        if not self.languages:
            raise ValueError("the language detector needs at least one language")
        identifier, self.shared = load_identifier(self.languages, cache_dir)
        self._identifier = ByteWalkIdentifier(identifier)

    def _classify(self, text: str) -> tuple[str, float]:
        return self._identifier.classify(text)

    def detect(self, text: str) -> LanguageGuess:
        """The language of ``text`` as a whole, and whether a fifth of it is in another."""
        if _LETTER.search(text) is None:
            return LanguageGuess(UNDETERMINED, 0.0, False)
        walked = self._identifier.walk(text)
        code, confidence = self._identifier.classify_walked(walked)
        sentences = [s for s in _SENTENCES.split(text) if len(s.split()) >= _MIN_WORDS]
        if sentences == [text]:  # one sentence: judged above already
            return LanguageGuess(code, round(confidence, 4), False)
        sized = sorted(((_letters(s), s) for s in sentences), key=lambda p: -p[0])
        judged = sum(size for size, _ in sized)
        needed = MIXED_SHARE * judged
        other, left = 0, judged
        # Largest sentences first, until the answer can no longer change: enough letters
        # already in another language, or too few left to reach the share.
        for size, sentence in sized:
            if other >= needed or other + left < needed:
                break
            left -= size
            if self._identifier.language_of_part(sentence, walked) != code:
                other += size
        mixed = judged > 0 and other >= needed
        return LanguageGuess(code, round(confidence, 4), mixed)

    def detect_many(self, texts: Sequence[str]) -> list[LanguageGuess]:
        return [self.detect(text) for text in texts]


def _letters(text: str) -> int:
    """How many letters ``text`` has (``_LETTER``'s matches; in ASCII: A-Z and a-z)."""
    if text.isascii():
        return len(text.encode("ascii").translate(None, _NOT_ASCII_LETTERS))
    return len(_LETTER.findall(text))


_LOCK = threading.Lock()


_DETECTORS: dict[tuple[str, ...], LanguageDetector] = {}


def language_detector(
    languages: Sequence[str] = DEFAULT_LANGUAGES, *, cache_dir: Path | None = None
) -> LanguageDetector:
    """One detector per language set in a process (loading the model takes about half a
    second). ``cache_dir``: where the restricted model may be kept and shared between
    processes; the call that loads the detector decides.
    """
    key = tuple(dict.fromkeys(languages))
    with _LOCK:  # two first requests at once must not both load it
        detector = _DETECTORS.get(key)
        if detector is None:
            detector = _DETECTORS[key] = LanguageDetector(key, cache_dir=cache_dir)
        return detector
