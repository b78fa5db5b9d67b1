"""py3langid's answer for a text and for the sentences in it, walking its bytes once.

py3langid walks a text's UTF-8 bytes through a byte automaton, counts the feature each state
outputs, and scores the counts with naive Bayes. Deciding whether a ticket mixes languages
classifies the whole text and then its sentences, which walked most bytes twice. Here the
whole text's walk keeps its state at every byte; a sentence found in the text's bytes is
walked afresh only until its state meets the whole walk's at the same byte (a few bytes:
the automaton remembers at most the last n-gram), and from there the whole walk's outputs
are the sentence's own, since the automaton is deterministic. The counts are the ones
py3langid's walk gives, in the same order, and are scored as py3langid scores them
(``LanguageIdentifier`` with ``norm_probs=True``), so the answers are equal to the bit.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np


class WalkedText:
    """A text's bytes, the automaton's state after each byte, and each state's output."""

    __slots__ = ("data", "outputs", "states")

    def __init__(self, data: bytes, states: list[int], outputs: list[int]) -> None:
        self.data = data
        self.states = states
        self.outputs = outputs


class ByteWalkIdentifier:
    """Classifies as py3langid's ``identifier`` (restricted, probabilities normalised)."""

    def __init__(self, identifier: Any) -> None:
        self.identifier = identifier
        self.classes = [str(c) for c in identifier.nb_classes]
        # Rows gathered from a C-ordered copy: the same values, gathered faster.
        self._weights = np.ascontiguousarray(identifier.nb_ptc)
        self._priors = identifier.nb_pc
        self._moves = identifier.tk_nextmove
        # Each state's row offset in the transition table: py3langid keeps them (its walk's).
        rows = getattr(identifier, "_rowbase", None)
        self._rows = rows if rows is not None else [r << 8 for r in identifier.tk_row]
        self._outputs = identifier.tk_output
        first: dict[str, int] = {}
        self._aliases = [  # (first, duplicate) columns of one label, as py3langid folds them
            (first.setdefault(c, i), i) for i, c in enumerate(self.classes) if c in first
        ]

    @staticmethod
    def encode(text: str) -> bytes:
        """The bytes py3langid reads: an all-capital text lowered, NFC, UTF-8."""
        if text.isupper():
            text = text.lower()
        return unicodedata.normalize("NFC", text).encode("utf8", errors="surrogatepass")

    def walk(self, text: str) -> WalkedText:
        data = self.encode(text)
        moves, rows, state = self._moves, self._rows, 0
        states = [state := moves[rows[state] + byte] for byte in data]
        return WalkedText(data, states, list(map(self._outputs.__getitem__, states)))

    def classify(self, text: str) -> tuple[str, float]:
        """(language, probability), as py3langid's ``classify``."""
        return self.classify_walked(self.walk(text))

    def classify_walked(self, walked: WalkedText) -> tuple[str, float]:
        return self._score(walked.outputs, len(walked.data))

    def language_of_part(self, part: str, whole: WalkedText) -> str:
        """``classify(part)[0]`` for a part of the text ``whole`` was walked from."""
        data = self.encode(part)
        at = whole.data.find(data)
        if at < 0:  # not the same bytes there (an all-capital sentence, say): walk it
            return self._score(self.walk(part).outputs, len(data), confidence=False)[0]
        moves, rows, outputs, states = self._moves, self._rows, self._outputs, whole.states
        state, theirs, walked = 0, states[at - 1] if at else 0, 0
        head = []
        while state != theirs and walked < len(data):
            state = moves[rows[state] + data[walked]]
            head.append(outputs[state])
            theirs = states[at + walked]
            walked += 1
        outputs = head + whole.outputs[at + walked : at + len(data)]
        return self._score(outputs, len(data), confidence=False)[0]

    def _score(
        self, outputs: Sequence[int], size: int, *, confidence: bool = True
    ) -> tuple[str, float]:
        """py3langid's ``_raw_score``, ``_decide`` and ``classify`` on the states' outputs
        (-1: none) of a text of ``size`` bytes. Without ``confidence`` (NaN then), a clear
        winner is named without normalising: see ``_clear_winner``."""
        visits = Counter(outputs)
        visits.pop(-1, None)  # the features' order of first occurrence is kept
        if visits:
            features = np.fromiter(visits.keys(), dtype=np.intp, count=len(visits))
            counts = np.fromiter(visits.values(), dtype=np.float32, count=len(visits))
            scores = np.log1p(counts) @ self._weights[features] + self._priors
        else:
            scores = np.full(len(self.classes), 0.0, dtype=np.float32)
        scores *= 1.0 / math.sqrt(size or 1)
        if not confidence and not self._aliases:
            winner = _clear_winner(scores.tolist())
            if winner is not None:
                return self.classes[winner], math.nan
        np.exp(scores - scores.max(), out=scores)
        scores /= scores.sum()
        for i, j in self._aliases:
            scores[i] += scores[j]
            scores[j] = 0.0
        best = int(scores.argmax())
        return self.classes[best], float(scores[best])


# Scores this far apart stay apart, in the same order, through py3langid's float32
# normalisation: exp(-1e-4) is 1e-4 below 1.0, over a thousand float32 steps, and the shared
# division keeps that order. Closer scores take the whole normalisation, as py3langid does.
_CLEAR_MARGIN = 1e-4


def _clear_winner(scores: list[float]) -> int | None:
    """The index of the highest score when every other is ``_CLEAR_MARGIN`` below it."""
    best = max(range(len(scores)), key=scores.__getitem__)
    rest = [s for i, s in enumerate(scores) if i != best]
    return best if not rest or scores[best] - max(rest) > _CLEAR_MARGIN else None
