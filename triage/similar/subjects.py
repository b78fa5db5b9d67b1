"""Subject vectors: a ticket's subject embedded on its own, beside the ticket's vector.

Stored for a ticket with a subject and a body (``triage.core.text.subject_text``); any other
ticket, and any query without both, stands for its subject with its one vector. Why, and how
the subject ranking is fused: :mod:`triage.similar.hybrid`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from triage.core.text import normalise_field

FloatArray = npt.NDArray[np.float32]
Embed = Callable[[Sequence[str]], FloatArray]


def embed_with_subjects(
    embed: Embed, texts: list[str], subjects: list[str | None], positions: list[int]
) -> tuple[dict[int, FloatArray], dict[int, FloatArray]]:
    """Vectors of the texts, and of the subjects that are not None, by position; one call
    of the embedder for both."""
    if not positions:
        return {}, {}
    with_subject = [n for n, text in enumerate(subjects) if text is not None]
    vectors = embed(texts + [subjects[n] or "" for n in with_subject])
    by_subject = {positions[n]: vectors[len(texts) + m] for m, n in enumerate(with_subject)}
    return {i: vectors[n] for n, i in enumerate(positions)}, by_subject


def query_subject_vector(
    embed: Embed, vector: FloatArray, text: str, subject: str | None
) -> FloatArray:
    """A query's subject vector: its subject's own when it has a body as well (its text is
    more than its subject), else its vector."""
    own = normalise_field(subject)
    if not own or own == text:
        return vector
    return np.asarray(embed([own])[0], dtype=np.float32)
