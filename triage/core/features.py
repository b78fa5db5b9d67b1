"""Feature frames: the text of each ticket next to its sentence embedding.

Heads are scikit-learn pipelines over a pandas frame with one ``text`` column and
``emb_0 … emb_{d-1}`` columns, so a ticket is embedded once and every head reuses it,
and the pickled heads never contain the (large, separately loaded) embedding model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # imported where used: serving compiled heads needs neither
    import pandas as pd
    from sklearn.compose import ColumnTransformer

TEXT_COLUMN = "text"
EMBEDDING_PREFIX = "emb_"


def feature_frame(texts: Sequence[str], embeddings: np.ndarray) -> pd.DataFrame:
    """The frame every head consumes: one row per ticket."""
    import pandas as pd

    if embeddings.ndim != 2 or embeddings.shape[0] != len(texts):
        raise ValueError(f"{len(texts)} texts but embeddings of shape {embeddings.shape}")
    columns = [f"{EMBEDDING_PREFIX}{i}" for i in range(embeddings.shape[1])]
    frame = pd.DataFrame(embeddings, columns=columns)
    frame.insert(0, TEXT_COLUMN, list(texts))
    return frame


def lexical_and_semantic_features(
    *,
    word_ngrams: tuple[int, int] = (1, 2),
    char_ngrams: tuple[int, int] = (2, 5),
    max_char_features: int = 300_000,
    embedding_weight: float = 1.0,
) -> ColumnTransformer:
    """Word and character TF-IDF beside the (weighted) sentence embedding.

    Each block is L2-normalised, so ``embedding_weight`` sets the embedding's share.
    Character n-grams carry typos, code-switched Indonesian/English and product codes
    that word tokens and an English-only embedder both miss.
    """
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.feature_extraction.text import TfidfVectorizer

    return ColumnTransformer(
        [
            (
                "words",
                TfidfVectorizer(ngram_range=word_ngrams, sublinear_tf=True, min_df=1),
                TEXT_COLUMN,
            ),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=char_ngrams,
                    sublinear_tf=True,
                    min_df=2,
                    max_features=max_char_features,
                ),
                TEXT_COLUMN,
            ),
            ("embedding", "passthrough", make_column_selector(pattern=f"^{EMBEDDING_PREFIX}")),
        ],
        transformer_weights={"words": 1.0, "chars": 1.0, "embedding": embedding_weight},
        sparse_threshold=1.0,
    )
