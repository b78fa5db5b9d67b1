"""Exploration: head settings compared by out-of-fold (validation) and test macro-F1.

For each dataset and each combination of embedding weight, class weighting and C, fits the
head's classifier once on the training part and prints the macro-F1 and accuracy of its
out-of-fold predictions (what `triage train` tunes on) beside the test split's (what it must
never tune on). Embeddings come from the cache that `quality.py` fills.

    .venv/bin/python benchmarks/head_grid.py itsm_assignment_group banking77
"""

from __future__ import annotations

import sys
import time

from quality import BENCHMARKS, CachedEmbedder
from sklearn.metrics import accuracy_score, f1_score

from triage.core.classifier import CalibratedLinearSVC
from triage.core.embeddings import load_embedder
from triage.core.features import feature_frame, lexical_and_semantic_features
from triage.training.train import TrainConfig, split_rows


def main(names: list[str]) -> None:
    embedder = CachedEmbedder(load_embedder("minilm"))
    for name in names:
        bench = BENCHMARKS[name]
        config = TrainConfig(
            text_columns=bench.text_columns,
            labels=bench.labels,
            drop_rare=bench.drop_rare,
            refit=False,  # train_idx / test_idx: the held-out split itself
        )
        split = split_rows(config, bench.data_file(), bench.test_path)
        frame = feature_frame(split.texts, embedder.encode(split.texts))
        y = split.labels[next(iter(bench.labels))]
        y_train, y_test = y[split.train_idx], y[split.test_idx]
        for embedding_weight in (1.0, 2.0):
            features = lexical_and_semantic_features(embedding_weight=embedding_weight)
            train_x = features.fit_transform(frame.iloc[split.train_idx])
            test_x = features.transform(frame.iloc[split.test_idx])
            for class_weight in (None, "balanced"):
                for C in (0.1, 0.3, 1.0):
                    started = time.perf_counter()
                    clf = CalibratedLinearSVC(C=C, class_weight=class_weight).fit(train_x, y_train)
                    oof = clf.classes_[clf.oof_proba_.argmax(axis=1)]
                    predicted = clf.predict(test_x)
                    print(
                        f"{name} emb×{embedding_weight} {class_weight} C={C}: "
                        f"out-of-fold macro-F1 {f1_score(y_train, oof, average='macro'):.4f} "
                        f"acc {accuracy_score(y_train, oof):.4f} | test macro-F1 "
                        f"{f1_score(y_test, predicted, average='macro'):.4f} "
                        f"acc {accuracy_score(y_test, predicted):.4f} "
                        f"({time.perf_counter() - started:.0f} s)",
                        flush=True,
                    )


if __name__ == "__main__":
    main(sys.argv[1:])
