"""How the fine-tuning defaults were chosen: Banking77, validation split of the training file.

Carves 10 % (stratified, seed 0) out of Banking77's *training* file, fine-tunes a copy of
all-MiniLM-L6-v2 on the rest, and scores a logistic regression (C=10) on the embeddings alone
on the carved-out part after every epoch. The test file is never read. Two losses:
``supcon`` (what ``triage train --finetune`` ships: batches of ``batch/2`` classes × 2
tickets) and ``ce`` (softmax over a normalised linear layer, scale 20, random batches).
Epochs 0 gives the frozen body's score.

    .venv/bin/python benchmarks/finetune_validation.py supcon --epochs 1 --lr 5e-5
    .venv/bin/python benchmarks/finetune_validation.py supcon --epochs 3 --lr 1e-4
    .venv/bin/python benchmarks/finetune_validation.py ce --epochs 1 --lr 5e-5
    .venv/bin/python benchmarks/finetune_validation.py supcon --epochs 0

About 4 minutes an epoch on 2 cores. Prints one line per epoch.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from triage.core.embeddings import minilm_path
from triage.training.finetune import supervised_contrastive_loss

TRAIN = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "banking77" / "train.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("loss", choices=("supcon", "ce"))
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=5e-5)
    args = parser.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(2)
    torch.manual_seed(0)
    frame = pd.read_csv(TRAIN)
    texts = frame["text"].astype(str).tolist()
    y = frame["category"].astype(str).to_numpy()
    train, valid = train_test_split(
        np.arange(len(texts)), test_size=0.1, stratify=y, random_state=0
    )
    classes = sorted(set(y))
    codes = np.array([classes.index(label) for label in y])
    model = SentenceTransformer(str(minilm_path()), device="cpu", local_files_only=True)
    model.max_seq_length = 64

    def evaluate(tag: str) -> None:
        model.eval()
        with torch.no_grad():
            vectors = model.encode(texts, batch_size=128, normalize_embeddings=True)
        head = LogisticRegression(C=10, max_iter=2000).fit(vectors[train], codes[train])
        accuracy = float((head.predict(vectors[valid]) == codes[valid]).mean())
        print(f"{tag}: validation accuracy {accuracy:.4f}", flush=True)
        model.train()

    weights = torch.nn.Parameter(torch.randn(len(classes), model.get_embedding_dimension()) * 0.01)
    groups = [{"params": list(model.parameters()), "lr": args.lr}]
    if args.loss == "ce":
        groups.append({"params": [weights], "lr": 1e-2})
    optimizer = torch.optim.AdamW(groups, weight_decay=0.01)
    per_epoch = len(train) // args.batch
    total = int(per_epoch * args.epochs)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min(1, (s + 1) / max(1, 0.1 * total)) * max(0.0, (total - s) / max(1, total)),
    )
    rng = np.random.default_rng(0)
    by_class = {c: train[codes[train] == c] for c in range(len(classes))}

    def batch() -> np.ndarray:
        if args.loss == "supcon":
            chosen = rng.choice(len(classes), size=args.batch // 2, replace=False)
            return np.concatenate([rng.choice(by_class[c], size=2, replace=False) for c in chosen])
        return rng.choice(train, size=args.batch, replace=False)

    started = time.time()
    model.train()
    for step in range(total):
        rows = batch()
        features = model.tokenize([texts[i] for i in rows])
        emb = torch.nn.functional.normalize(model(features)["sentence_embedding"], dim=-1)
        labels = torch.tensor(codes[rows])
        if args.loss == "ce":
            logits = 20.0 * emb @ torch.nn.functional.normalize(weights, dim=-1).T
            loss = torch.nn.functional.cross_entropy(logits, labels)
        else:  # the loss triage train --finetune ships (temperature 0.05 = scale 20)
            loss = supervised_contrastive_loss(emb, labels, 0.05)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if (step + 1) % per_epoch == 0:
            evaluate(f"epoch {(step + 1) // per_epoch} ({time.time() - started:.0f} s)")
    evaluate(f"final, {args.loss}, {args.epochs} epoch(s), lr {args.lr}")


if __name__ == "__main__":
    main()
