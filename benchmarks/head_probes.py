"""Probes for the next steps of the quality issue (not shipped yet), on the MiniLM body:
frozen, or fine-tuned first (``--finetune``, as ``triage train --finetune``).

For one dataset of ``quality.py`` (same split, same embedding cache), fits the shipped head as
``triage train`` does, then measures on the held-out split two changes that only use what
training already has, choosing nothing on the test split:

* ``calibration``: expected calibration error with the shipped temperature (fitted by log
  loss on out-of-fold scores), with a temperature fitted on the top label's correctness
  instead, for a range of temperatures, and with a top-label isotonic map fitted on the
  out-of-fold confidences (the top probability is mapped, the others rescaled to sum to one);
* ``knn``: a vote of the 10 nearest training tickets (cosine, weights exp(sim / 0.05);
  out-of-fold: each training ticket's neighbours exclude itself) blended with the head's
  probabilities, ``(1 - w) * head + w * vote`` for several ``w``: out-of-fold and held-out
  accuracy and macro-F1 (``w`` would be chosen on the out-of-fold figures).

    .venv/bin/python benchmarks/head_probes.py --dataset banking77
    .venv/bin/python benchmarks/head_probes.py --dataset itsm_assignment_group
    .venv/bin/python benchmarks/head_probes.py --dataset banking77 --finetune   # tuned body
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from quality import BENCHMARKS, CachedEmbedder
from scipy.optimize import minimize_scalar
from scipy.special import softmax
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import f1_score

from triage.core.classifier import fit_head
from triage.core.embeddings import load_embedder
from triage.core.features import feature_frame
from triage.core.refinement import neighbour_vote
from triage.training.evaluate import calibration
from triage.training.finetune import FinetuneConfig, finetune_body
from triage.training.train import TrainConfig, split_rows


def top_label_temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    correct = scores.argmax(1) == truth

    def nll(log_t: float) -> float:
        p = np.clip(softmax(scores / np.exp(log_t), axis=1).max(1), 1e-9, 1 - 1e-9)
        return float(-np.mean(np.where(correct, np.log(p), np.log(1 - p))))

    return float(np.exp(minimize_scalar(nll, bounds=(-6, 4), method="bounded").x))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", choices=sorted(BENCHMARKS), required=True)
    parser.add_argument(
        "--finetune", action="store_true", help="fine-tune the body first, as --finetune does"
    )
    args = parser.parse_args()
    name = args.dataset
    bench = BENCHMARKS[name]
    config = TrainConfig(
        text_columns=bench.text_columns,
        labels=bench.labels,
        drop_rare=bench.drop_rare,
        refit=False,  # train_idx / test_idx: the held-out split itself
    )
    split = split_rows(config, bench.data_file(), bench.test_path)
    head_name = next(iter(bench.labels))
    if args.finetune:  # on the training rows only, exactly as triage train --finetune
        with tempfile.TemporaryDirectory() as scratch:
            tuned = finetune_body(
                load_embedder("minilm"),
                [split.texts[i] for i in split.train_idx],
                [str(v) for v in split.labels[head_name][split.train_idx]],
                Path(scratch),
                config=FinetuneConfig(),
                say=print,
            )
            vectors = tuned.embedder.encode(split.texts)
        name += " (fine-tuned body)"
    else:
        vectors = CachedEmbedder(load_embedder("minilm")).encode(split.texts)
    frame = feature_frame(split.texts, vectors)
    y = split.labels[head_name]
    train, test = split.train_idx, split.test_idx
    head, _ = fit_head(frame.iloc[train], y[train])
    classifier = head.named_steps["classifier"]
    labels = [str(c) for c in classifier.classes_]
    t = classifier.temperature_
    oof = np.log(np.clip(classifier.oof_proba_.astype(np.float64), 1e-30, 1)) * t
    truth = np.searchsorted(classifier.classes_, y[train])
    scores = classifier.decision_function(head.named_steps["features"].transform(frame.iloc[test]))
    y_test = y[test].tolist()

    def ece(proba: np.ndarray) -> float:
        return float(calibration(y_test, proba, labels)["ece"])

    print(f"{name}: held-out ECE, shipped temperature {t:.4f}: {ece(softmax(scores / t, 1))}")
    t_top = top_label_temperature(oof, truth)
    print(f"  top-label temperature {t_top:.4f}: {ece(softmax(scores / t_top, 1))}")
    for factor in (0.5, 0.75, 1.25, 1.5):
        print(f"  temperature x{factor}: {ece(softmax(scores / (t * factor), 1))}")
    oof_proba = softmax(oof / t, axis=1)
    iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(
        oof_proba.max(1), (oof_proba.argmax(1) == truth).astype(float)
    )
    proba = softmax(scores / t, axis=1)
    top = proba.argmax(1)
    rows = np.arange(len(proba))
    mapped = iso.predict(proba.max(1))
    adjusted = proba * ((1 - mapped) / np.clip(1 - proba.max(1), 1e-12, None))[:, None]
    adjusted[rows, top] = mapped
    print(
        f"  top-label isotonic: {ece(adjusted)} "
        f"(top label unchanged for {np.mean(adjusted.argmax(1) == top):.2%})"
    )

    codes = truth
    vote_oof = neighbour_vote(vectors[train], vectors[train], codes, len(labels), exclude_self=True)
    vote_test = neighbour_vote(vectors[test], vectors[train], codes, len(labels))
    test_codes = np.searchsorted(classifier.classes_, y[test])
    for w in (0.0, 0.1, 0.2, 0.3, 0.5, 0.7):
        blend_oof = (1 - w) * oof_proba + w * vote_oof
        blend_test = (1 - w) * proba + w * vote_test
        print(
            f"  kNN blend w={w}: out-of-fold accuracy {np.mean(blend_oof.argmax(1) == codes):.4f}"
            f" macro-F1 {f1_score(codes, blend_oof.argmax(1), average='macro'):.4f}; held-out "
            f"accuracy {np.mean(blend_test.argmax(1) == test_codes):.4f} macro-F1 "
            f"{f1_score(test_codes, blend_test.argmax(1), average='macro'):.4f}"
        )


if __name__ == "__main__":
    main()
