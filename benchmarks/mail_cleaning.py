"""E-mail intake, measured: cleaning on the fixtures, classification of e-mail-wrapped
tickets (raw mail, cleaned mail, original text), and the IMAP poller's throughput.

    .venv/bin/python -m benchmarks.mail_cleaning                 # all three parts
    .venv/bin/python -m benchmarks.mail_cleaning --part cleaning --part poller

Cleaning: each ``tests/fixtures/mail/*.eml`` through :func:`triage.core.mail.clean_mail`
against its ``.expected.txt``: exact matches, and matches within ``--near`` characters
(Levenshtein distance). Classification: a model is trained with the shipped code on the
original text of a stratified 80 % split; each held-out ticket is then sent as mail in
``--shapes`` client shapes (``benchmarks/harness/mail_shapes.py``: Gmail, Outlook, Apple
Mail, Thunderbird; new, reply, forward; signatures, mobile footers, disclaimers, HTML) and
classified three ways: the decoded mail text as is (raw), the cleaned text (what
``POST /v1/email`` triages), and the ticket's original text. Poller: ``--messages``
fixtures appended to a real dovecot on loopback (``benchmarks/harness/dovecot.py``), one
``MailPoller.poll_once`` moving them, wall and CPU seconds. Writes
``benchmarks/results/mail_cleaning.json``.
"""

from __future__ import annotations

import argparse
import random
import ssl
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.harness.machine import load_1m
from benchmarks.harness.mail_shapes import Person, build_message, random_shape
from benchmarks.harness.results import command, read_json, stamp, write_json

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "mail"
RESULTS = ROOT / "benchmarks" / "results" / "mail_cleaning.json"
KAGGLE = ROOT.parent / "shared" / "datasets" / "it_service_tickets_kaggle"
SENDERS = {
    "en": Person("Ann Lee", "ann.lee@acme.example"),
    "id": Person("Budi Santoso", "budi.santoso@majubersama.co.id"),
}


def levenshtein(a: str, b: str, *, cap: int = 50) -> int:
    """Edit distance; past ``cap`` only a lower bound (the length difference) is worked out."""
    if a == b:
        return 0
    if abs(len(a) - len(b)) > cap:
        return abs(len(a) - len(b))
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _spaced(text: str) -> str:
    return " ".join(text.split())


def cleaning(near: int) -> dict[str, Any]:
    from triage.core.mail import clean_mail

    rows = []
    started, cpu = time.perf_counter(), time.process_time()
    for eml in sorted(FIXTURES.glob("*.eml")):
        expected = (FIXTURES / f"{eml.stem}.expected.txt").read_text(encoding="utf-8").strip()
        cleaned = clean_mail(eml.read_bytes())
        got = f"[not a ticket] {cleaned.skipped}" if cleaned.skipped else cleaned.text
        rows.append((eml.stem, levenshtein(got, expected)))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    misses = {name: distance for name, distance in rows if distance}
    return {
        "fixtures": len(rows),
        "exact": sum(d == 0 for _, d in rows) / len(rows),
        f"within_{near}_chars": sum(d <= near for _, d in rows) / len(rows),
        "misses": misses,
        "cpu_ms_per_message": round(1000 * cpu / len(rows), 2),
        "wall_ms_per_message": round(1000 * wall / len(rows), 2),
    }


def _split(
    frame: pd.DataFrame, label: str, test_rows: int | None, train_rows: int | None, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(frame, test_size=0.2, stratify=frame[label], random_state=seed)
    if train_rows and len(train) > train_rows:
        train = train.groupby(label, group_keys=False).sample(
            frac=train_rows / len(train), random_state=seed
        )
    if test_rows and len(test) > test_rows:
        test = test.groupby(label, group_keys=False).sample(
            frac=test_rows / len(test), random_state=seed
        )
    return train, test


def _dataset(name: str) -> tuple[pd.DataFrame, str, str | None, str]:
    """(frame, body column, subject column, label column) with a ``language`` column."""
    if name == "sample":
        frame = pd.read_csv(ROOT / "data" / "tickets.csv", dtype=str, keep_default_na=False)
        return frame, "body", "subject", "category"
    path = KAGGLE / "all_tickets_processed_improved_v3.csv"
    if not path.exists():
        raise SystemExit(f"{path} is absent (third-party datasets live in ../shared)")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["language"] = "en"
    return frame, "Document", None, "Topic_group"


def classification(
    name: str,
    shapes: int,
    test_rows: int | None,
    train_rows: int | None,
    embedder_spec: str | None,
    seed: int,
) -> dict[str, Any]:
    from triage.core.artifacts import load_model
    from triage.core.embeddings import DEFAULT_EMBEDDER, load_embedder
    from triage.core.mail import clean_mail, parse_mail
    from triage.core.mail.replies import clean_body
    from triage.service import Ticket, TriageService
    from triage.training.config import TrainConfig
    from triage.training.train import train_from_file

    frame, body, subject, label = _dataset(name)
    train, test = _split(frame, label, test_rows, train_rows, seed)
    columns = (subject, body) if subject else (body,)
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="mail-bench-") as scratch:
        train_path, test_path = Path(scratch) / "train.csv", Path(scratch) / "test.csv"
        train.to_csv(train_path, index=False)
        test.to_csv(test_path, index=False)
        embedder = load_embedder(embedder_spec or DEFAULT_EMBEDDER)
        started = time.perf_counter()
        result = train_from_file(
            train_path,
            embedder,
            test_path=test_path,
            models_dir=Path(scratch) / "models",
            config=TrainConfig(text_columns=columns, labels={"category": label}),
        )
        trained_s = time.perf_counter() - started
        assert result.path is not None
        service = TriageService(load_model(result.path), max_text_chars=100_000)
    conditions = ("original", "original_cleaned", "raw_mail", "cleaned_mail")
    tickets: dict[str, list[Ticket]] = {name: [] for name in conditions}
    truth: list[str] = []
    distances: list[int] = []  # cleaned mail against the ticket's own text cleaned alike
    for _, row in test.iterrows():
        title = (
            row[subject]
            if subject
            else ("Permintaan IT" if row["language"] == "id" else "IT support request")
        )
        language = "id" if row["language"] == "id" else "en"
        for _ in range(shapes):
            shape = random_shape(rng, language)
            raw = build_message(row[body], title, shape, SENDERS[language], rng=rng)
            mail, cleaned = parse_mail(raw), clean_mail(raw)
            tickets["original"].append(
                Ticket(subject=row[subject] if subject else None, body=row[body])
            )
            # The ticket's own text through the cleaning alone: its own signature goes too.
            tickets["original_cleaned"].append(
                Ticket(
                    subject=row[subject] if subject else None,
                    body=clean_body(row[body], sender=str(SENDERS[language])),
                )
            )
            tickets["raw_mail"].append(Ticket(subject=mail.subject, body=mail.text))
            tickets["cleaned_mail"].append(Ticket(subject=cleaned.subject, body=cleaned.text))
            truth.append(row[label])
            own = tickets["original_cleaned"][-1].body or ""
            if shape.kind == "forward":
                own = f"{'Tolong dibantu.' if language == 'id' else 'Please see below.'}\n\n{own}"
            distances.append(levenshtein(_spaced(cleaned.text), _spaced(own)))
    accuracy = {}
    for condition, batch in tickets.items():
        predicted = [c.predictions["category"].label for c in service.classify_many(batch)]
        accuracy[condition] = sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(
            truth
        )
    return {
        "train_tickets": len(train),
        "test_tickets": len(test),
        "mails": len(truth),
        "shapes_per_ticket": shapes,
        "embedder": embedder.identity.get("name"),
        "training_seconds": round(trained_s, 1),
        "accuracy": {k: round(v, 4) for k, v in accuracy.items()},
        "cleaned_minus_original_points": round(
            100 * (accuracy["cleaned_mail"] - accuracy["original"]), 2
        ),
        "wrapping_removed_exactly": round(sum(d == 0 for d in distances) / len(distances), 4),
        "wrapping_removed_within_5_chars": round(
            sum(d <= 5 for d in distances) / len(distances), 4
        ),
        "raw_minus_original_points": round(100 * (accuracy["raw_mail"] - accuracy["original"]), 2),
    }


def poller(messages: int, embedder_spec: str | None) -> dict[str, Any]:
    """Throughput of one poll that triages and moves ``messages`` on a local dovecot."""
    from imap_tools import MailBox

    from benchmarks.harness.dovecot import running_dovecot
    from triage.core.artifacts import load_model
    from triage.core.embeddings import DEFAULT_EMBEDDER, load_embedder
    from triage.service import TriageService
    from triage.service.mail_intake import MailIntake
    from triage.service.mail_poller import MailboxConfig, MailPoller
    from triage.service.ticket_triage import TicketTriage
    from triage.store.database import Database
    from triage.store.mail import MailStore
    from triage.store.triaged import TriagedStore
    from triage.training.train import train_from_file

    fixtures = [p.read_bytes() for p in sorted(FIXTURES.glob("*.eml"))]
    with tempfile.TemporaryDirectory(prefix="mail-poller-bench-") as scratch:
        root = Path(scratch)
        root.chmod(0o755)  # dovecot's own users reach its config below
        result = train_from_file(
            ROOT / "data" / "tickets.csv",
            load_embedder(embedder_spec or DEFAULT_EMBEDDER),
            models_dir=root / "models",
        )
        assert result.path is not None
        service = TriageService(load_model(result.path))
        (root / "imap").mkdir()
        with running_dovecot(root / "imap") as server, Database(f"sqlite:///{root / 't.db'}") as db:
            db.upgrade()
            context = ssl.create_default_context(cafile=str(server.ca_file))
            with MailBox(server.host, server.imaps_port, ssl_context=context).login(
                server.user, server.password
            ) as box:
                for index in range(messages):
                    raw = fixtures[index % len(fixtures)].replace(
                        b"Message-ID: <", f"Message-ID: <bench{index}.".encode(), 1
                    )
                    box.append(raw, "INBOX")
            intake = MailIntake(TicketTriage(service, None, TriagedStore(db)), MailStore(db))
            config = MailboxConfig(
                host=server.host,
                port=server.imaps_port,
                user=server.user,
                password=server.password,
                ca_file=server.ca_file,
                done_folder="Done",
                skipped_folder="Skipped",
            )
            poller, polls, handled = MailPoller(intake, config), 0, 0
            triaged = skipped = failed = 0
            started, cpu = time.perf_counter(), time.process_time()
            while handled < messages:  # at most per_poll a poll, as the worker does
                report = poller.poll_once()
                polls += 1
                handled += report.handled + report.failed
                triaged, skipped = triaged + report.triaged, skipped + report.skipped
                failed += report.failed
                if not report.handled + report.failed:
                    break
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "messages": messages,
        "polls": polls,
        "triaged": triaged,
        "skipped": skipped,
        "failed": failed,
        "wall_seconds": round(wall, 2),
        "cpu_seconds_this_process": round(cpu, 2),
        "messages_per_second": round(handled / wall, 1),
        "messages_per_cpu_second": round(handled / cpu, 1),
        "load_1m_after": load_1m(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", action="append", choices=("cleaning", "classification", "poller"))
    parser.add_argument("--dataset", action="append", choices=("sample", "kaggle"))
    parser.add_argument("--near", type=int, default=5, help="characters of 'within a few'")
    parser.add_argument("--shapes", type=int, default=3, help="mail shapes per test ticket")
    parser.add_argument("--kaggle-test", type=int, default=1500, help="held-out Kaggle tickets")
    parser.add_argument("--kaggle-train", type=int, default=8000, help="Kaggle training tickets")
    parser.add_argument("--messages", type=int, default=300, help="messages the poller moves")
    parser.add_argument("--embedder", default=None, help="as triage train --embedder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    parts = args.part or ["cleaning", "classification", "poller"]
    found: dict[str, Any] = {"command": command("mail_cleaning"), **stamp()}
    if "cleaning" in parts:
        found["cleaning"] = cleaning(args.near)
        print("cleaning:", {k: v for k, v in found["cleaning"].items() if k != "misses"})
    for name in (args.dataset or ["sample", "kaggle"]) if "classification" in parts else []:
        kaggle = name == "kaggle"
        found[f"classification:{name}"] = classification(
            name,
            1 if kaggle else args.shapes,
            args.kaggle_test if kaggle else None,
            args.kaggle_train if kaggle else None,
            args.embedder,
            args.seed,
        )
        print(f"classification {name}:", found[f"classification:{name}"])
    if "poller" in parts:
        found["poller"] = poller(args.messages, args.embedder)
        print("poller:", found["poller"])
    # Each part keeps the run that measured it; read again now, as another run may have
    # written its parts meanwhile.
    results = read_json(RESULTS)
    for part, value in found.items():
        if part not in ("command", "measured_at", "machine", "libraries"):
            results[part] = {
                **value,
                "command": found["command"],
                "measured_at": found["measured_at"],
            }
    write_json(RESULTS, results)


if __name__ == "__main__":
    main()
