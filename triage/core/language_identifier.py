"""py3langid's identifier restricted to a few languages, optionally kept in a cache directory.

Loading py3langid's 97-language model takes about 0.6 s and 70 MB while it decompresses,
and leaves two large tables in every process: the naive-Bayes weights (28 MB for all
languages, 0.4 MB for two) and the byte automaton's transition table (39 MB). With a cache
directory the restricted model is written there once: later processes read the small parts
(a few MB) and map the transition table read-only, so the workers of one machine share one
copy and only the pages the automaton visits are resident (about 18 MB for English and
Indonesian text). The cache is named by a digest of py3langid's model file and the
languages, and each file is checked against the digest recorded beside it before use.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mmap
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from triage.core.atomic import cache_folder, read_or_build_cache
from triage.core.checksums import sha256_file  # read, not mapped: nothing made resident
from triage.core.digest_memo import DigestMemo

log = logging.getLogger(__name__)

_FORMAT = 1
_TABLE = "transitions.bin"
_REST = "model.npz"
_META = "meta.json"


def load_identifier(languages: Sequence[str], cache_dir: Path | None = None) -> tuple[Any, bool]:
    """A py3langid ``LanguageIdentifier`` (probabilities normalised) that only knows
    ``languages``, and whether its transition table is a shared file mapping."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE  # type: ignore[import-untyped]

    if cache_dir is None:
        return _restricted(languages), False
    source = Path(MODEL_DIR) / MODEL_FILE
    key = hashlib.sha256(source.read_bytes())
    key.update(json.dumps([_FORMAT, list(languages)]).encode())
    folder = cache_dir / f"py3langid-{key.hexdigest()[:20]}"
    return read_or_build_cache(
        folder,
        lambda: _read(folder),
        lambda: _restricted(languages),
        lambda identifier: _write(folder, identifier),
        what="language model",
    )


def _restricted(languages: Sequence[str]) -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    unknown = sorted(set(languages) - set(identifier.labels))
    if unknown:
        raise ValueError(f"unknown language code(s) for the detector: {', '.join(unknown)}")
    identifier.set_languages(list(languages))
    # py3langid keeps the weights of all 97 languages to restore later; never needed here.
    identifier._full_model = (identifier.nb_ptc, identifier.nb_pc, identifier.nb_classes)
    return identifier


def _write(folder: Path, identifier: Any) -> None:
    with cache_folder(folder) as scratch:
        table = identifier.tk_nextmove
        (scratch / _TABLE).write_bytes(memoryview(table).cast("B"))
        np.savez(
            scratch / _REST,
            ptc=np.ascontiguousarray(identifier.nb_ptc),
            pc=np.asarray(identifier.nb_pc),
            classes=np.asarray(identifier.nb_classes),
            row=np.frombuffer(memoryview(identifier.tk_row).cast("B"), dtype=np.uint8),
            output=np.asarray(identifier.tk_output, dtype=np.int64),
        )
        meta = {
            "format": _FORMAT,
            "table_typecode": table.typecode,
            "row_typecode": identifier.tk_row.typecode,
            "sha256": {name: sha256_file(scratch / name) for name in (_TABLE, _REST)},
        }
        (scratch / _META).write_text(json.dumps(meta))


def _read(folder: Path) -> Any | None:
    """The identifier from the cache folder, or None where it is absent or damaged."""
    from py3langid.langid import LanguageIdentifier

    try:
        meta = json.loads((folder / _META).read_text())
        if meta.get("format") != _FORMAT:
            return None
        memo = DigestMemo.in_cache(folder.parent)
        for name, digest in meta["sha256"].items():
            if memo.sha256([folder / name]) != digest:
                log.warning("%s is damaged; the language model is rebuilt", folder / name)
                return None
        with np.load(folder / _REST, allow_pickle=False) as rest:
            ptc, pc = rest["ptc"], rest["pc"]
            classes = [str(c) for c in rest["classes"]]
            row = array(meta["row_typecode"], rest["row"].tobytes())
            output = rest["output"].tolist()
        with (folder / _TABLE).open("rb") as handle:
            mapped = mmap.mmap(handle.fileno(), 0, prot=mmap.PROT_READ)
        table = memoryview(mapped).cast(meta["table_typecode"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.debug("no usable language model cache in %s: %s", folder, exc)
        return None
    return LanguageIdentifier(ptc, pc, classes, table, output, norm_probs=True, tk_row=row)
