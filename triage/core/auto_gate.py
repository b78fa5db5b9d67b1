"""The auto gate: a ticket the model cannot know enough about is never decided automatically.

A confident head is not enough. A ticket of three filler words, or one from another domain
entirely (a bank-card question sent to an IT helpdesk), can still land on a high
probability; the operating points were measured on tickets like the training data, and say
nothing about these. Checks fitted on the training rows alone (:mod:`triage.training.fit_gate`)
stand before every ``auto`` decision:

- **content**: the number of informative words (:mod:`triage.core.informative`: not a stop or
  filler word of English or Bahasa Indonesia) is at least ``min_informative_words``, never
  less than 1, so a ticket of stop and filler words alone cannot carry a decision. From
  format 2 on, only words the training tickets use count (``vocabulary``: informative words
  of at least two training tickets): words no training ticket has are no evidence either;
- **familiarity**: the cosine similarity of the ticket to its nearest training ticket is at
  least ``min_similarity``;
- **distance** (format 2, per head): the Mahalanobis distance of the ticket to the training
  tickets of the label the head predicts is at most that head's ``max_distance``
  (:mod:`triage.core.gate_distance`).

The first two limits are the ``quantile`` of their statistic over the training tickets,
measured out of fold (a ticket's nearest *other* training ticket, the words of *other*
training tickets), so each turns away about that share of tickets like the training data — a
conformal novelty test at a fixed rate — and much more of what is unlike it. The distance
limit is the smallest whose out-of-fold cost in the head's ``auto`` decisions on the training
tickets stays within a budget. A refused ticket is still answered, as a suggestion, with the
reason in ``auto_blocked``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from triage.core.gate_distance import ClassDistance
from triage.core.informative import informative_words

FILE = "auto_gate.json"
ARRAYS = "auto_gate.npz"  # format 2: the vocabulary and each head's whitening and centroids
FORMAT = 2
READABLE_FORMATS = (1, 2)
# The share of training-like tickets each check may turn away (two checks: at most twice).
DEFAULT_QUANTILE = 0.01


@dataclass(frozen=True)
class AutoGate:
    """Limits below which a ticket is never decided ``auto``; ``fitted_on``: how they were set.

    ``vocabulary``: the words that count as content (None: every informative word, format 1);
    ``distances``: per head, its distance check (none in format 1).
    """

    min_informative_words: int
    min_similarity: float | None
    quantile: float = DEFAULT_QUANTILE
    fitted_on: dict[str, Any] = field(default_factory=dict)
    vocabulary: frozenset[str] | None = None
    distances: Mapping[str, ClassDistance] = field(default_factory=dict)

    @property
    def format(self) -> int:
        return 1 if self.vocabulary is None and not self.distances else FORMAT

    def content_words(self, text: str) -> int:
        """How many distinct informative words of ``text`` count as content."""
        words = set(informative_words(text))
        if self.vocabulary is not None:
            words &= self.vocabulary
        return len(words)

    def reason(self, text: str, nearest_similarity: float | None) -> str | None:
        """Why ``text`` may not be decided automatically by any head, in plain words; None
        if it may (each head's distance check aside: ``head_reasons``)."""
        words = self.content_words(text)
        if words < self.min_informative_words:
            known = "" if self.vocabulary is None else " the training tickets use"
            return (
                f"too little content: {words} informative word{'s' if words != 1 else ''}"
                f"{known}; automatic decisions need {self.min_informative_words}"
            )
        if (
            self.min_similarity is not None
            and nearest_similarity is not None
            and nearest_similarity < self.min_similarity
        ):
            return (
                f"unlike the training tickets: nearest similarity {nearest_similarity:.2f}; "
                f"automatic decisions need {self.min_similarity:.2f}"
            )
        return None

    def reasons(
        self, texts: Sequence[str], nearest_similarity: Sequence[float] | None
    ) -> list[str | None]:
        similarities = nearest_similarity if nearest_similarity is not None else [None] * len(texts)
        return [self.reason(t, s) for t, s in zip(texts, similarities, strict=True)]

    def head_reasons(
        self, head: str, embeddings: np.ndarray, predicted: Sequence[str]
    ) -> list[str | None]:
        """Per ticket, why head ``head`` may not decide it automatically as its ``predicted``
        label: too far from that label's training tickets (all None without a check)."""
        check = self.distances.get(head)
        if check is None:
            return [None] * len(predicted)
        return check.reasons(embeddings, predicted)

    def heads_reasons(
        self, embeddings: np.ndarray, predicted: Mapping[str, Sequence[str]]
    ) -> dict[str, list[str | None]]:
        """``head_reasons`` of every head of ``predicted`` (head -> each ticket's label), with
        one product of the embeddings by every head's whitening side by side instead of one
        per head: the same values to the bit (each column is the same dot product), one
        pass over the rows and one call (a single ticket reads 4 x 1 MB of whitening for 4
        heads either way)."""
        checked = [head for head in predicted if head in self.distances]
        out: dict[str, list[str | None]] = {
            head: [None] * len(labels) for head, labels in predicted.items()
        }
        if not checked:
            return out
        stacked, columns = self._stacked_whitening(tuple(checked))
        whitened = np.asarray(embeddings, dtype=np.float32) @ stacked
        for head in checked:
            out[head] = self.distances[head].whitened_reasons(
                whitened[:, columns[head]], predicted[head]
            )
        return out

    def _stacked_whitening(self, heads: tuple[str, ...]) -> tuple[np.ndarray, dict[str, slice]]:
        """The whitening matrices of ``heads`` side by side (made once per set of heads)."""
        cache: dict[tuple[str, ...], tuple[np.ndarray, dict[str, slice]]] = (
            self.__dict__.setdefault("_stacked", {})
        )
        if heads not in cache:
            widths = [self.distances[head].whitening.shape[1] for head in heads]
            starts = np.cumsum([0, *widths]).tolist()
            columns = {
                h: slice(a, b) for h, a, b in zip(heads, starts[:-1], starts[1:], strict=True)
            }
            matrix = np.hstack([self.distances[head].whitening for head in heads])
            cache[heads] = (np.ascontiguousarray(matrix, dtype=np.float32), columns)
        return cache[heads]

    def to_dict(self) -> dict[str, Any]:
        """The gate's limits and how they were fitted (no arrays): what metrics.json, the
        model card and ``GET /v1/model`` show."""
        data: dict[str, Any] = {
            "min_informative_words": self.min_informative_words,
            "min_similarity": self.min_similarity,
            "quantile": self.quantile,
            "fitted_on": self.fitted_on,
        }
        if self.format >= 2:
            data["vocabulary_words"] = None if self.vocabulary is None else len(self.vocabulary)
            data["max_distance"] = {h: d.max_distance for h, d in self.distances.items()}
            data["distances"] = {h: d.summary() for h, d in self.distances.items()}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AutoGate:
        """The limits of ``to_dict`` (format 1's whole gate; format 2 without its arrays)."""
        similarity = data.get("min_similarity")
        return cls(
            min_informative_words=max(1, int(data["min_informative_words"])),
            min_similarity=None if similarity is None else float(similarity),
            quantile=float(data.get("quantile", DEFAULT_QUANTILE)),
            fitted_on=dict(data.get("fitted_on", {})),
        )


def save_gate(root: Path, gate: AutoGate) -> list[str]:
    """Write ``gate`` into an artifact directory; return the relative paths written."""
    data = {"format": gate.format, "gate": gate.to_dict()}
    (root / FILE).write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    if gate.format == 1:
        return [FILE]
    heads = sorted(gate.distances)
    arrays: dict[str, np.ndarray] = {
        "vocabulary": np.asarray(sorted(gate.vocabulary or ()), dtype=str),
        "heads": np.asarray(heads, dtype=str),
    }
    for i, head in enumerate(heads):
        arrays[f"whitening_{i}"] = gate.distances[head].whitening.astype(np.float32)
        arrays[f"centroids_{i}"] = gate.distances[head].centroids.astype(np.float32)
    with (root / ARRAYS).open("wb") as handle:
        np.savez(handle, allow_pickle=False, **arrays)
    return [FILE, ARRAYS]


def load_gate(root: Path) -> AutoGate:
    """The gate of an artifact directory; ValueError if of a format this triage cannot read."""
    data = json.loads((root / FILE).read_text(encoding="utf-8"))
    if data.get("format") not in READABLE_FORMATS:
        raise ValueError(f"auto gate format {data.get('format')!r}, expected one of 1, 2")
    gate = AutoGate.from_dict(data["gate"])
    if data["format"] == 1:
        return gate
    summaries = data["gate"].get("distances", {})
    with np.load(root / ARRAYS, allow_pickle=False) as arrays:
        vocabulary = frozenset(str(w) for w in arrays["vocabulary"])
        distances = {
            str(head): ClassDistance(
                labels=tuple(summaries[str(head)]["labels"]),
                centroids=np.asarray(arrays[f"centroids_{i}"], dtype=np.float32),
                whitening=np.asarray(arrays[f"whitening_{i}"], dtype=np.float32),
                max_distance=float(summaries[str(head)]["max_distance"]),
                fitted_on=dict(summaries[str(head)].get("fitted_on", {})),
            )
            for i, head in enumerate(arrays["heads"])
        }
    return AutoGate(
        gate.min_informative_words,
        gate.min_similarity,
        gate.quantile,
        gate.fitted_on,
        vocabulary,
        distances,
    )
