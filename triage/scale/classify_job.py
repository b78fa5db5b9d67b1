"""``triage jobs classify --engine ray|local INPUT OUTPUT``: a backlog file classified in
batches, written as Parquet (id, every head's answer, the model version).

INPUT is CSV, JSON Lines or Parquet (by its suffix), a local path or any URI pyarrow's
filesystems open (``s3://``, ``gs://``, ``hdfs://``…); OUTPUT is one Parquet file, on the same
kinds of path. Each worker loads the model once (:class:`TicketClassifier`, an actor on Ray)
and classifies with the service's own :meth:`TriageService.classify_each`: an invalid ticket
gets its error in its row, the others their answers. Rows come back in input order and are
written a batch at a time, so the output never has to fit in memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.fs as pa_fs
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from triage.core.artifacts import load_model, read_manifest
from triage.core.errors import TriageError
from triage.scale.ray_engine import Engine, actor_pool, ordered_data_context, ray_session
from triage.service import Ticket, TriageService
from triage.service.classification import policies_from_settings
from triage.settings import Settings

BATCH_TICKETS = 256
_TEXT_COLUMNS = ("id", "subject", "body")
_FORMATS = {".csv": "csv", ".jsonl": "json", ".ndjson": "json", ".json": "json"}
_FORMATS[".parquet"] = "parquet"
_FORMATS[".pq"] = "parquet"


class BacklogInputError(TriageError):
    """The backlog file cannot be read as tickets (format, columns)."""


@dataclass(frozen=True)
class ClassifyJobReport:
    tickets: int
    failed: int  # rows with an error instead of answers
    output: str
    model_version: str
    heads: tuple[str, ...]
    engine: str


def filesystem_path(uri: str) -> tuple[pa_fs.FileSystem, str]:
    """pyarrow's filesystem for ``uri`` and the path on it (a plain path: the local disk)."""
    if "://" not in uri:
        return pa_fs.LocalFileSystem(), str(Path(uri).expanduser().resolve())
    filesystem, path = pa_fs.FileSystem.from_uri(uri)
    return filesystem, path


def input_format(uri: str) -> str:
    suffix = Path(uri.split("?", 1)[0]).suffix.lower()
    if suffix not in _FORMATS:
        raise BacklogInputError(
            f"{uri}: cannot tell the format from {suffix or 'no suffix'!r}; name a .csv, "
            ".jsonl (JSON Lines) or .parquet file"
        )
    return _FORMATS[suffix]


_CSV_TYPES = pa_csv.ConvertOptions(
    column_types={name: pa.string() for name in _TEXT_COLUMNS}, strings_can_be_null=True
)


def _read_local(uri: str) -> pa.Table:
    filesystem, path = filesystem_path(uri)
    fmt = input_format(uri)
    if fmt == "parquet":
        return pq.read_table(path, filesystem=filesystem)
    with filesystem.open_input_stream(path) as stream:
        if fmt == "csv":
            return pa_csv.read_csv(stream, convert_options=_CSV_TYPES)
        return pa_json.read_json(stream)


# Reading is I/O: its tasks reserve no CPU, else with one actor per CPU holding them all the
# read waits for a CPU that never frees (seen: a local Ray of 2 CPUs hung).
_READ = {"num_cpus": 0}


def _ray_dataset(ray: Any, uri: str) -> Any:
    filesystem, path = filesystem_path(uri)
    fmt = input_format(uri)
    if fmt == "parquet":
        return ray.data.read_parquet(path, filesystem=filesystem, **_READ)
    if fmt == "csv":
        return ray.data.read_csv(path, filesystem=filesystem, convert_options=_CSV_TYPES, **_READ)
    # JSON Lines: pyarrow's JSON reader, Ray's default (lines=True would refuse a filesystem).
    return ray.data.read_json(path, filesystem=filesystem, **_READ)


class TicketClassifier:
    """One batch of tickets (``id``, ``subject``, ``body``) to one row of answers each: the
    model loaded once per actor (or once in the one process)."""

    def __init__(self, model_dir: Path, settings: Settings, threads: int = 1) -> None:
        model = load_model(model_dir, embedder_path=settings.embedder_path, threads=threads)
        self.service = TriageService(
            model,
            policies=policies_from_settings(model, settings),
            max_text_chars=settings.max_text_chars,
            languages=settings.languages,
            cache_dir=settings.cache_dir,
        )
        self.heads = tuple(model.heads)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        size = len(batch["id"])
        tickets = [
            Ticket(
                subject=_text(batch, "subject", i),
                body=_text(batch, "body", i),
                id=_text(batch, "id", i),
            )
            for i in range(size)
        ]
        outcomes = self.service.classify_each(tickets)
        version = self.service.model.version
        out: dict[str, list[Any]] = {"id": [t.id for t in tickets], "model_version": []}
        for head in self.heads:
            out[head] = []
            out[f"{head}_confidence"] = []
            out[f"{head}_decision"] = []
        out["error"] = []
        for outcome in outcomes:
            out["model_version"].append(version)
            failed = isinstance(outcome, TriageError)
            out["error"].append(outcome.message if isinstance(outcome, TriageError) else None)
            for head in self.heads:
                answer = None if failed else outcome.predictions[head]  # type: ignore[union-attr]
                out[head].append(None if answer is None else answer.label)
                out[f"{head}_confidence"].append(None if answer is None else answer.confidence)
                out[f"{head}_decision"].append(None if answer is None else answer.decision.value)
        return {name: np.asarray(values, dtype=object) for name, values in out.items()}


def _text(batch: dict[str, np.ndarray], column: str, row: int) -> str | None:
    if column not in batch:
        return None
    value = batch[column][row]
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(value)


def output_schema(heads: Sequence[str]) -> pa.Schema:
    fields = [pa.field("id", pa.string()), pa.field("model_version", pa.string())]
    for head in heads:
        fields += [
            pa.field(head, pa.string()),
            pa.field(f"{head}_confidence", pa.float64()),
            pa.field(f"{head}_decision", pa.string()),
        ]
    return pa.schema([*fields, pa.field("error", pa.string())])


def classify_backlog(
    source: str,
    output: str,
    model_dir: Path,
    settings: Settings,
    *,
    engine: Engine = "local",
    address: str | None = None,
    workers: int | None = None,
    batch_size: int = BATCH_TICKETS,
) -> ClassifyJobReport:
    """Classify every ticket of ``source`` with the model in ``model_dir``; write ``output``."""
    input_format(source)  # a clear error before anything starts
    manifest = read_manifest(model_dir)
    heads = tuple(manifest.get("heads") or ())
    if not heads:
        heads = TicketClassifier(model_dir, settings).heads
    schema = output_schema(heads)
    filesystem, path = filesystem_path(output)
    tickets = failed = 0
    with pq.ParquetWriter(path, schema, filesystem=filesystem) as writer:
        for batch in _classified(source, model_dir, settings, engine, address, workers, batch_size):
            table = pa.table(
                {f.name: pa.array(list(batch[f.name]), f.type, from_pandas=True) for f in schema}
            )
            writer.write_table(table)  # from_pandas: Ray's NaN for a missing number is null
            tickets += table.num_rows
            failed += table.num_rows - table["error"].null_count
    return ClassifyJobReport(
        tickets=tickets,
        failed=failed,
        output=output,
        model_version=str(manifest.get("version", model_dir.name)),
        heads=heads,
        engine=engine,
    )


def _classified(
    source: str,
    model_dir: Path,
    settings: Settings,
    engine: Engine,
    address: str | None,
    workers: int | None,
    batch_size: int,
) -> Iterator[dict[str, Any]]:
    if engine == "local":
        table = _checked(_read_local(source), source)
        classify = TicketClassifier(model_dir, settings, threads=settings.threads)
        for part in table.to_batches(max_chunksize=batch_size):
            yield classify(
                {n: part.column(n).to_numpy(zero_copy_only=False) for n in part.schema.names}
            )
        return
    with ray_session(address, num_cpus=workers) as ray:
        ordered_data_context(ray)
        dataset = _ray_dataset(ray, source)
        _checked_names(dataset.schema().names, source)
        classified = dataset.map_batches(
            TicketClassifier,
            fn_constructor_kwargs={"model_dir": model_dir, "settings": settings},
            batch_size=batch_size,
            batch_format="numpy",
            **actor_pool(ray, workers),
        )
        yield from classified.iter_batches(batch_size=batch_size * 8, batch_format="numpy")


def _checked(table: pa.Table, source: str) -> pa.Table:
    _checked_names(table.column_names, source)
    if table["id"].type != pa.string():
        table = table.set_column(
            table.column_names.index("id"), "id", table["id"].cast(pa.string())
        )
    return table


def _checked_names(names: Sequence[str], source: str) -> None:
    if "id" not in names:
        raise BacklogInputError(f"{source} has no 'id' column (the output is keyed by it)")
    if "subject" not in names and "body" not in names:
        raise BacklogInputError(f"{source} has neither a 'subject' nor a 'body' column")
