"""The auto gate: a ticket the model cannot know enough about is never decided automatically.

A confident head is not enough. A ticket of three filler words, or one from another domain
entirely (a bank-card question sent to an IT helpdesk), can still land on a high
probability; the operating points were measured on tickets like the training data, and say
nothing about these. Two checks, both fitted on the training rows alone
(:mod:`triage.training.fit_gate`), stand before every ``auto`` decision:

- **content**: the number of informative words (:mod:`triage.core.informative`: not a stop or
  filler word of English or Bahasa Indonesia) is at least ``min_informative_words``, never
  less than 1, so a ticket of stop and filler words alone cannot carry a decision;
- **familiarity**: the cosine similarity of the ticket to its nearest training ticket is at
  least ``min_similarity``.

Each limit is the ``quantile`` of the same statistic over the training tickets, measured
out of fold (a ticket's nearest *other* training ticket), so each check turns away about
that share of tickets like the training data — a conformal novelty test at a fixed rate —
and much more of what is unlike it. A refused ticket is still answered, as a suggestion,
with the reason in ``auto_blocked``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from triage.core.informative import informative_count

FILE = "auto_gate.json"
FORMAT = 1
# The share of training-like tickets each check may turn away (two checks: at most twice).
DEFAULT_QUANTILE = 0.01


@dataclass(frozen=True)
class AutoGate:
    """Limits below which a ticket is never decided ``auto``; ``fitted_on``: how they were set."""

    min_informative_words: int
    min_similarity: float | None
    quantile: float = DEFAULT_QUANTILE
    fitted_on: dict[str, Any] = field(default_factory=dict)

    def reason(self, text: str, nearest_similarity: float | None) -> str | None:
        """Why ``text`` may not be decided automatically, in plain words; None if it may."""
        words = informative_count(text)
        if words < self.min_informative_words:
            return (
                f"too little content: {words} informative word{'s' if words != 1 else ''}; "
                f"automatic decisions need {self.min_informative_words}"
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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AutoGate:
        similarity = data.get("min_similarity")
        return cls(
            min_informative_words=max(1, int(data["min_informative_words"])),
            min_similarity=None if similarity is None else float(similarity),
            quantile=float(data.get("quantile", DEFAULT_QUANTILE)),
            fitted_on=dict(data.get("fitted_on", {})),
        )


def save_gate(root: Path, gate: AutoGate) -> str:
    """Write ``gate`` into an artifact directory; return its relative path (for the manifest)."""
    data = {"format": FORMAT, "gate": gate.to_dict()}
    (root / FILE).write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    return FILE


def load_gate(root: Path) -> AutoGate:
    """The gate of an artifact directory; ValueError if of another format."""
    data = json.loads((root / FILE).read_text(encoding="utf-8"))
    if data.get("format") != FORMAT:
        raise ValueError(f"auto gate format {data.get('format')!r}, expected {FORMAT}")
    return AutoGate.from_dict(data["gate"])
