"""Language-neutral vectors for incident detection: each language's mean moved onto the
common mean.

A multilingual body places every text of a language a little to one side: an Indonesian and
an English ticket about one outage are less alike than two English ones, so a surge reported
in both languages splits in two halves that may each stay too small to open an incident.
Subtracting each language's mean embedding removes most of that offset (Libovický et al.,
2020, "On the language neutrality of pre-trained multilingual representations"). Here the
common mean of all the tickets is added back, so the cosines keep their scale (the thresholds
mean what they meant) and a tenant writing in one language only sees its vectors unchanged.

The means are running sums over the window's history, kept as tickets come and go; a
language seen only a few times is shrunk towards the common mean (``PRIOR`` tickets' worth),
so its first tickets are barely moved.
"""

from __future__ import annotations

import numpy as np

PRIOR = 64  # tickets of the common mean a language's own mean is blended with
UNKNOWN = frozenset({None, "und"})  # no language known: the vector is left as it is


class LanguageMeans:
    """Running sums of the tickets' vectors per language, and the shift that neutralises one."""

    def __init__(self, dim: int) -> None:
        self._sums: dict[str, np.ndarray] = {}
        self._counts: dict[str, int] = {}
        self._total = np.zeros(dim, dtype=np.float64)
        self._count = 0

    def add(self, language: str | None, vector: np.ndarray) -> None:
        self._update(language, vector, 1)

    def remove(self, language: str | None, vector: np.ndarray) -> None:
        self._update(language, vector, -1)

    def neutral(self, language: str | None, vector: np.ndarray) -> np.ndarray:
        """``vector`` less its language's mean, plus the common mean, at unit length."""
        if language is None or language in UNKNOWN or self._count == 0:
            return vector
        common = self._total / self._count
        count = self._counts.get(language, 0)
        if count == 0:
            return vector
        # The common mean less the language's, blended with it: (sum + PRIOR * common) /
        # (count + PRIOR).
        shift = (count * common - self._sums[language]) / (count + PRIOR)
        moved = vector + shift
        norm = float(np.linalg.norm(moved))
        return vector if norm == 0.0 else (moved / norm).astype(np.float32)

    def _update(self, language: str | None, vector: np.ndarray, sign: int) -> None:
        self._total += sign * vector
        self._count += sign
        if language is None or language in UNKNOWN:
            return
        if language not in self._sums:
            self._sums[language] = np.zeros_like(self._total)
            self._counts[language] = 0
        self._sums[language] += sign * vector
        self._counts[language] += sign
