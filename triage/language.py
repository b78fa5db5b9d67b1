"""The language a ticket is written in, and whether it mixes languages.

``py3langid`` (BSD-3-Clause; its naive-Bayes model of 97 languages ships inside the package;
imports only NumPy) scores the text. The candidates are restricted to the languages the
helpdesk expects (``TRIAGE_LANGUAGES``, by default English and Bahasa Indonesia): among all
97, short Indonesian messages are often taken for Malay or Javanese. Measured in
``benchmarks/multilingual.py``.

A ticket is *mixed* when at least ``MIXED_SHARE`` of its letters sit in sentences of another
language than the whole text's (an Indonesian ticket quoting an English error message, an
English ticket with an Indonesian paragraph). Sentences under three words are not judged.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

DEFAULT_LANGUAGES = ("en", "id")
MIXED_SHARE = 0.2
UNDETERMINED = "und"
_MIN_WORDS = 3
_SENTENCES = re.compile(r"(?<=[.!?;:])\s+|\n+")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class LanguageGuess:
    """ISO 639-1 code (``und`` for text without letters), its probability, mixed or not."""

    code: str
    confidence: float
    mixed: bool


class LanguageDetector:
    """Detects the language of texts among ``languages`` (ISO 639-1 codes py3langid knows)."""

    def __init__(self, languages: Sequence[str] = DEFAULT_LANGUAGES) -> None:
        from py3langid.langid import (  # type: ignore[import-untyped]
            MODEL_FILE,
            LanguageIdentifier,
        )

        self.languages = tuple(dict.fromkeys(languages))
        if not self.languages:
            raise ValueError("the language detector needs at least one language")
        self._identifier: Any = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        unknown = sorted(set(self.languages) - set(self._identifier.labels))
        if unknown:
            raise ValueError(f"unknown language code(s) for the detector: {', '.join(unknown)}")
        self._identifier.set_languages(list(self.languages))
        # py3langid keeps the 97-language weights to restore later; this detector never
        # does, and dropping them frees about 27 MB in every worker process.
        identifier = self._identifier
        identifier._full_model = (identifier.nb_ptc, identifier.nb_pc, identifier.nb_classes)

    def _classify(self, text: str) -> tuple[str, float]:
        code, confidence = self._identifier.classify(text)
        return str(code), float(confidence)

    def detect(self, text: str) -> LanguageGuess:
        """The language of ``text`` as a whole, and whether a fifth of it is in another."""
        letters = len(_LETTER.findall(text))
        if letters == 0:
            return LanguageGuess(UNDETERMINED, 0.0, False)
        code, confidence = self._classify(text)
        other = judged = 0
        for sentence in _SENTENCES.split(text):
            if len(sentence.split()) < _MIN_WORDS:
                continue
            size = len(_LETTER.findall(sentence))
            judged += size
            if self._classify(sentence)[0] != code:
                other += size
        mixed = judged > 0 and other >= MIXED_SHARE * judged
        return LanguageGuess(code, round(confidence, 4), mixed)

    def detect_many(self, texts: Sequence[str]) -> list[LanguageGuess]:
        return [self.detect(text) for text in texts]


_LOCK = threading.Lock()


@lru_cache(maxsize=4)
def _cached(languages: tuple[str, ...]) -> LanguageDetector:
    return LanguageDetector(languages)


def language_detector(languages: Sequence[str] = DEFAULT_LANGUAGES) -> LanguageDetector:
    """One shared detector per language set (loading the model takes about a second)."""
    with _LOCK:  # two first requests at once must not both load it
        return _cached(tuple(languages))
