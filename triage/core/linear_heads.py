"""The fitted heads as plain NumPy: the same probabilities without importing scikit-learn.

A shipped head is linear: TF-IDF over words and over characters, the sentence embedding, a
linear SVM, a temperature. Serving needs only the vocabularies, the IDF weights, the
coefficients and the temperature — not scikit-learn, SciPy and pandas, which cost a serving
process about 150 MB and 0.75 s of start-up and spend more time validating a one-row frame
than computing it. Training compiles the heads (``triage.core.head_compiler``), checks that
both forms give the same probabilities on its own tickets, and stores them beside the pickles;
the service loads this form when it is there.

The analyzers mirror scikit-learn's ``_word_ngrams`` and ``_char_wb_ngrams`` (BSD-3-Clause)
for the parameters the compiler accepts; any other head stays on the scikit-learn path.
Vectorizers fitted on the same texts with the same parameters are kept once and computed
once per request for all heads.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 1
ARRAYS = "heads/linear.npz"
META = "heads/linear.json"
EMBEDDING = -1  # block id of the sentence embedding
_WHITE_SPACES = re.compile(r"\s\s+")
_WORD_CACHE_SIZE = 50_000  # words whose char n-gram indices are kept (a few MB)


@dataclass
class TextBlock:
    """One fitted TF-IDF vectorizer: analyzer, vocabulary and IDF weights."""

    analyzer: str  # "word" or "char_wb"
    ngram_range: tuple[int, int]
    token_pattern: str
    lowercase: bool
    sublinear_tf: bool
    norm: str | None
    terms: list[str]
    idf: np.ndarray

    def __post_init__(self) -> None:
        self.vocabulary = {term: i for i, term in enumerate(self.terms)}
        self._tokens: Callable[[str], list[str]] = re.compile(self.token_pattern).findall
        # char_wb n-grams never cross a word, so each word's feature indices are computed
        # once and reused: ticket words repeat a lot, and this is most of the heads' time.
        self._word_features: dict[str, tuple[int, ...]] = {}

    def analyze(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        low, high = self.ngram_range
        if self.analyzer == "word":
            tokens = self._tokens(text)
            if high == 1:
                return tokens
            grams = list(tokens) if low == 1 else []
            for n in range(max(low, 2), min(high, len(tokens)) + 1):
                grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
            return grams
        grams = []
        for word in _WHITE_SPACES.sub(" ", text).split():
            grams.extend(self._char_grams(word))
        return grams

    def _char_grams(self, word: str) -> list[str]:
        low, high = self.ngram_range
        word = f" {word} "
        size = len(word)
        grams: list[str] = []
        for n in range(low, high + 1):
            grams.extend(word[i : i + n] for i in range(max(size - n, 0) + 1))
            if size <= n:  # a short word is counted once, at its shortest n-gram
                break
        return grams

    def _feature_indices(self, text: str) -> list[int]:
        """Vocabulary indices of the text's n-grams, repeated as often as they occur."""
        get = self.vocabulary.get
        if self.analyzer == "word":
            return [i for i in map(get, self.analyze(text)) if i is not None]
        if self.lowercase:
            text = text.lower()
        cache = self._word_features
        found: list[int] = []
        for word in _WHITE_SPACES.sub(" ", text).split():
            indices = cache.get(word)
            if indices is None:
                if len(cache) >= _WORD_CACHE_SIZE:
                    cache.clear()
                grams = self._char_grams(word)
                indices = cache[word] = tuple(i for i in map(get, grams) if i is not None)
            found.extend(indices)
        return found

    def transform_one(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The ticket's non-zero features: (column indices, TF-IDF values)."""
        counts = Counter(self._feature_indices(text))
        if not counts:
            return np.empty(0, dtype=np.intp), np.empty(0)
        indices = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        values = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        if self.sublinear_tf:
            values = np.log(values) + 1.0
        values *= self.idf[indices]
        if self.norm == "l2":
            values /= math.sqrt(float(values @ values))
        elif self.norm == "l1":
            values /= float(np.abs(values).sum())
        return indices, values

    def same_as(self, other: TextBlock) -> bool:
        return (
            self.analyzer == other.analyzer
            and self.ngram_range == other.ngram_range
            and self.token_pattern == other.token_pattern
            and self.lowercase == other.lowercase
            and self.sublinear_tf == other.sublinear_tf
            and self.norm == other.norm
            and self.terms == other.terms
            and np.array_equal(self.idf, other.idf)
        )


@dataclass
class LinearHead:
    """One head: per feature block its weight and coefficients (features × classes)."""

    classes: list[str]
    temperature: float
    intercept: np.ndarray
    blocks: list[tuple[int, float, np.ndarray]]  # (block id or EMBEDDING, weight, coef)

    @property
    def embedding_dim(self) -> int | None:
        return next((c.shape[0] for b, _, c in self.blocks if b == EMBEDDING), None)


class LinearHeads:
    """Every head of a model, sharing identical TF-IDF blocks."""

    def __init__(self, text_blocks: Sequence[TextBlock], heads: Mapping[str, LinearHead]) -> None:
        self.text_blocks = list(text_blocks)
        self.heads = dict(heads)
        # Every head's columns side by side, and per (block, weight) the coefficients of the
        # heads that use it side by side: one gather and one product per block and ticket,
        # not one per head (heads of one model share their blocks, as trained).
        sizes = [len(h.classes) for h in self.heads.values()]
        starts = np.cumsum([0, *sizes])
        columns = zip(self.heads, starts[:-1], starts[1:], strict=True)
        self._columns = {name: slice(a, b) for name, a, b in columns}
        self._intercepts = np.concatenate([h.intercept for h in self.heads.values()])
        # The heads' own coefficients then become views of the stacked ones (the same values,
        # kept once: ~10 MB less for the default model's four heads).
        users: dict[tuple[int, float], list[tuple[str, int, np.ndarray]]] = {}
        for name, head in self.heads.items():
            for j, (block, weight, coef) in enumerate(head.blocks):
                users.setdefault((block, weight), []).append((name, j, coef))
        blocks = {name: list(head.blocks) for name, head in self.heads.items()}
        self._stacked: list[tuple[int, float, np.ndarray, slice | np.ndarray]] = []
        for (block, weight), used in users.items():
            stacked = np.hstack([coef for _, _, coef in used])
            start = 0
            for name, j, coef in used:
                width = coef.shape[1]
                blocks[name][j] = (block, weight, stacked[:, start : start + width])
                start += width
            placed = _positions([self._columns[name] for name, _, _ in used])
            self._stacked.append((block, weight, stacked, placed))
        self.heads = {
            name: dataclasses.replace(head, blocks=blocks[name])
            for name, head in self.heads.items()
        }

    def labels(self, head: str) -> list[str]:
        return self.heads[head].classes

    def predict_proba(self, texts: Sequence[str], embeddings: np.ndarray) -> dict[str, np.ndarray]:
        """Probabilities per head, rows in the order of ``texts``, columns in ``labels``."""
        if embeddings.ndim != 2 or embeddings.shape[0] != len(texts):
            raise ValueError(f"{len(texts)} texts but embeddings of shape {embeddings.shape}")
        features = [[block.transform_one(text) for text in texts] for block in self.text_blocks]
        embeddings = np.asarray(embeddings)
        scores = np.tile(self._intercepts, (len(texts), 1))
        # Row by row, so a ticket scores the same to the last bit alone or in a batch
        # (a matrix product over the batch may round differently).
        for block, weight, coef, columns in self._stacked:
            for row in range(len(texts)):
                if block == EMBEDDING:
                    # Weighted in the embedding's own dtype, as ColumnTransformer does.
                    scores[row, columns] += (embeddings[row] * weight).astype(np.float64) @ coef
                else:
                    indices, values = features[block][row]
                    if len(indices):
                        scores[row, columns] += (values * weight) @ coef[indices]
        out = {}
        for name, head in self.heads.items():
            scaled = scores[:, self._columns[name]] / head.temperature
            scaled -= scaled.max(axis=1, keepdims=True)
            np.exp(scaled, out=scaled)
            out[name] = scaled / scaled.sum(axis=1, keepdims=True)
        return out

    def save(self, root: Path) -> list[str]:
        """Write the two files under the artifact directory ``root``; return their paths."""
        arrays: dict[str, np.ndarray] = {}
        meta: dict[str, Any] = {"format": FORMAT, "text_blocks": [], "heads": {}}
        for i, block in enumerate(self.text_blocks):
            arrays[f"idf.{i}"] = block.idf
            meta["text_blocks"].append(
                {
                    "analyzer": block.analyzer,
                    "ngram_range": list(block.ngram_range),
                    "token_pattern": block.token_pattern,
                    "lowercase": block.lowercase,
                    "sublinear_tf": block.sublinear_tf,
                    "norm": block.norm,
                    "terms": block.terms,
                }
            )
        for name, head in self.heads.items():
            arrays[f"{name}.intercept"] = head.intercept
            refs = []
            for j, (block_id, weight, coef) in enumerate(head.blocks):
                arrays[f"{name}.coef.{j}"] = coef
                refs.append({"block": block_id, "weight": weight})
            meta["heads"][name] = {
                "classes": head.classes,
                "temperature": head.temperature,
                "blocks": refs,
            }
        (root / ARRAYS).parent.mkdir(parents=True, exist_ok=True)
        with open(root / ARRAYS, "wb") as handle:
            np.savez_compressed(handle, **arrays)  # type: ignore[arg-type]
        (root / META).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        return [ARRAYS, META]

    @classmethod
    def load(cls, root: Path) -> LinearHeads:
        meta = json.loads((root / META).read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"linear heads format {meta.get('format')!r}, expected {FORMAT}")
        with np.load(root / ARRAYS, allow_pickle=False) as arrays:
            blocks = [
                TextBlock(
                    analyzer=b["analyzer"],
                    ngram_range=(int(b["ngram_range"][0]), int(b["ngram_range"][1])),
                    token_pattern=b["token_pattern"],
                    lowercase=bool(b["lowercase"]),
                    sublinear_tf=bool(b["sublinear_tf"]),
                    norm=b["norm"],
                    terms=list(b["terms"]),
                    idf=arrays[f"idf.{i}"],
                )
                for i, b in enumerate(meta["text_blocks"])
            ]
            heads = {
                name: LinearHead(
                    classes=[str(c) for c in h["classes"]],
                    temperature=float(h["temperature"]),
                    intercept=arrays[f"{name}.intercept"],
                    blocks=[
                        (int(ref["block"]), float(ref["weight"]), arrays[f"{name}.coef.{j}"])
                        for j, ref in enumerate(h["blocks"])
                    ],
                )
                for name, h in meta["heads"].items()
            }
        return cls(blocks, heads)


def _positions(parts: list[slice]) -> slice | np.ndarray:
    """The columns of ``parts`` together: one slice where they follow each other."""
    if all(a.stop == b.start for a, b in itertools.pairwise(parts)):
        return slice(parts[0].start, parts[-1].stop)
    return np.concatenate([np.arange(p.start, p.stop) for p in parts])
