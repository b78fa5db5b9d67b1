"""The tables, as SQLAlchemy Core metadata. Migrations under ``migrations/`` create them."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; pass an aware one (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ticket_id", sa.String(200), nullable=False),
    sa.Column("head", sa.String(64), nullable=False),
    sa.Column("predicted", sa.String(200), nullable=False),
    sa.Column("final", sa.String(200), nullable=False),
    sa.Column("model_version", sa.String(100), nullable=False),
    sa.Column("decision", sa.String(16), nullable=True),
    sa.Column("confidence", sa.Float, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("ticket_id", "head", "model_version"),
    sa.Index(None, "updated_at"),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("done", sa.Integer, nullable=False, default=0),
    sa.Column("failed", sa.Integer, nullable=False, default=0),
    sa.Column("explain", sa.Boolean, nullable=False, default=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("model_version", sa.String(100), nullable=True),
    sa.Column("worker", sa.String(100), nullable=True),
    sa.Column("lease_until", UtcDateTime, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=True),
    sa.Column("finished_at", UtcDateTime, nullable=True),
    sa.Index(None, "status", "created_at"),
)

job_items = sa.Table(
    "job_items",
    metadata,
    sa.Column(
        "job_id", sa.String(32), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("ticket", sa.JSON, nullable=False),
    sa.Column("result", sa.JSON, nullable=True),
    sa.Column("error", sa.JSON, nullable=True),
)

# Tickets the similarity search knows: resolved ones (with how they were solved) and recent
# open ones (for duplicate detection). ``row_id`` is the key of the vector index.
tickets = sa.Table(
    "tickets",
    metadata,
    sa.Column("row_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("tenant", sa.String(200), nullable=False, default=""),
    sa.Column("ticket_id", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("visibility", sa.String(16), nullable=False),
    sa.Column("subject", sa.Text, nullable=True),
    sa.Column("body", sa.Text, nullable=True),
    sa.Column("resolution", sa.Text, nullable=True),
    sa.Column("category", sa.String(200), nullable=True),
    sa.Column("tier", sa.String(64), nullable=True),
    sa.Column("language", sa.String(16), nullable=True),
    sa.Column("text_sha256", sa.String(64), nullable=False),
    sa.Column("embedding", sa.LargeBinary, nullable=True),
    # The subject's own vector, for tickets with a subject and a body (migration 0007).
    sa.Column("subject_embedding", sa.LargeBinary, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("resolved_at", UtcDateTime, nullable=True),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("tenant", "ticket_id"),
    sa.Index(None, "status", "created_at"),
)

# Every insert, update and delete of ``tickets``, in order: each process's in-memory vector
# index replays what it has not seen, so replicas sharing one database stay in step.
ticket_changes = sa.Table(
    "ticket_changes",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("row_id", sa.BigInteger, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
)

# Facts about the store as a whole, e.g. which embedding model made its vectors.
store_meta = sa.Table(
    "store_meta",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
)

# Helpdesk webhook deliveries: each accepted one queues a one-ticket classification job
# (``job_id``; none when the delivery is ignored). A retry of a delivery finds its first row by
# (source, key); a replay of the same signed body by (source, body_sha256). The write-back of
# the suggestion to the helpdesk is retried from here: ``writeback_next_at`` is when it is due
# (pushed ahead while a worker holds it, so a dead worker's attempt is taken up again).
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("body_sha256", sa.String(64), nullable=False),
    sa.Column("event", sa.String(200), nullable=False),
    sa.Column("external_id", sa.String(200), nullable=False),
    sa.Column("vendor_delivery_id", sa.String(200), nullable=True),
    sa.Column("ticket", sa.JSON, nullable=False),
    sa.Column("job_id", sa.String(32), nullable=True),
    sa.Column("ignored", sa.Text, nullable=True),
    sa.Column("sent_at", UtcDateTime, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("writeback_status", sa.String(16), nullable=True),
    sa.Column("writeback_attempts", sa.Integer, nullable=False, default=0),
    sa.Column("writeback_next_at", UtcDateTime, nullable=True),
    sa.Column("writeback_steps", sa.JSON, nullable=True),
    sa.Column("writeback_error", sa.Text, nullable=True),
    sa.Column("writeback_done_at", UtcDateTime, nullable=True),
    sa.UniqueConstraint("source", "key"),
    sa.UniqueConstraint("source", "body_sha256"),
    sa.Index(None, "writeback_status", "writeback_next_at"),
)

# Tickets triage has answered (from the staff page, or POST /v1/triage with an id), one row per
# ticket: what each head said, for the staff page's queue. ``decision`` is the least certain
# head's (review before suggest before auto); ``category`` and ``tier`` copy those heads' labels
# so the queue can filter on them. Rows older than TRIAGE_TRIAGED_KEEP_DAYS are purged.
triaged = sa.Table(
    "triaged",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("tenant", sa.String(200), nullable=False),
    sa.Column("ticket_id", sa.String(200), nullable=False),
    sa.Column("subject", sa.Text, nullable=True),
    sa.Column("body", sa.Text, nullable=True),
    sa.Column("predictions", sa.JSON, nullable=False),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("category", sa.String(200), nullable=True),
    sa.Column("tier", sa.String(64), nullable=True),
    sa.Column("model_version", sa.String(100), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("triaged_at", UtcDateTime, nullable=False),
    # The route it was given (issue 20); null for tickets triaged before routing.
    sa.Column("route", sa.JSON, nullable=True),
    sa.UniqueConstraint("tenant", "ticket_id"),
    sa.Index(None, "triaged_at"),
    sa.Index(None, "decision", "triaged_at"),
)

# Staff page sessions signed out before they expire: the sha256 of the session's token, kept
# until the session would have expired (its cookie is signed, so only this can end a copy).
ui_signouts = sa.Table(
    "ui_signouts",
    metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("expires_at", UtcDateTime, nullable=False),
)

# The helpdesk's agents, for suggesting the least-loaded one of a route's group (migration
# 0018; triage.store.agents). ``revision``: the roster PUT that wrote the row; every process
# reloads the agents when the highest revision changes.
agents = sa.Table(
    "agents",
    metadata,
    sa.Column("tenant", sa.String(200), primary_key=True),
    sa.Column("agent_id", sa.String(200), primary_key=True),
    sa.Column("name", sa.Text, nullable=True),
    sa.Column("groups", sa.JSON, nullable=False),
    sa.Column("skills", sa.JSON, nullable=False),
    sa.Column("open_tickets", sa.Integer, nullable=False),
    sa.Column("available", sa.Boolean, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

# Each rate-limited API key's theoretical arrival time (Unix seconds), shared by every process
# on the database (migration 0017; triage.store.key_rates).
key_rates = sa.Table(
    "key_rates",
    metadata,
    sa.Column("key_name", sa.String(200), primary_key=True),
    sa.Column("tat", sa.Float(precision=53), nullable=False),
)

# Incident detection (migration 0012). Each triaged ticket with an id, for TRIAGE_INCIDENT_
# HISTORY_HOURS: its vector (the one triage computed), its time (its own, bounded) and the
# incident it belongs to. ``seq`` orders them, so each replica's window replays what it has
# not seen. One row per (tenant, ticket id): a ticket seen again changes nothing.
incident_tickets = sa.Table(
    "incident_tickets",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("tenant", sa.String(200), nullable=False),
    sa.Column("ticket_id", sa.String(200), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("category", sa.String(200), nullable=True),
    sa.Column("tier", sa.String(64), nullable=True),
    sa.Column("language", sa.String(16), nullable=True),
    sa.Column("terms", sa.JSON, nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),
    sa.Column("incident_id", sa.BigInteger, nullable=True),
    # The helpdesk a webhook ticket came from (migration 0019); None for API tickets.
    sa.Column("source", sa.String(32), nullable=True),
    sa.UniqueConstraint("tenant", "ticket_id"),
    sa.Index(None, "tenant", "at"),
    sa.Index(None, "incident_id"),
)

# Candidate incidents: status open, confirmed, dismissed, merged (into ``merged_into``) or
# closed (quiet for TRIAGE_INCIDENT_QUIET_MINUTES); the summary columns are recomputed as
# members join, merge or split off.
incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("tenant", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("confirmed", sa.Boolean, nullable=False, default=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("first_seen", UtcDateTime, nullable=False),
    sa.Column("last_seen", UtcDateTime, nullable=False),
    sa.Column("growth_per_10min", sa.Integer, nullable=False),
    sa.Column("terms", sa.JSON, nullable=False),
    sa.Column("category", sa.String(200), nullable=True),
    sa.Column("tier", sa.String(64), nullable=True),
    sa.Column("parent_ticket_id", sa.String(200), nullable=True),
    sa.Column("merged_into", sa.BigInteger, nullable=True),
    sa.Column("opened_at", UtcDateTime, nullable=False),
    sa.Column("closed_at", UtcDateTime, nullable=True),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Index(None, "tenant", "status", "last_seen"),
    sa.Index(None, "opened_at"),
)

# What staff decided about an incident (confirm, dismiss, merge, split), kept for tuning.
incident_decisions = sa.Table(
    "incident_decisions",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("incident_id", sa.BigInteger, nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(100), nullable=True),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Index(None, "incident_id"),
)

# One row per tenant, updated first thing in every transaction that changes its incidents:
# the row lock (PostgreSQL) or the write lock it takes (SQLite) serialises replicas, so two
# never see the same free tickets and open the same incident twice.
incident_locks = sa.Table(
    "incident_locks",
    metadata,
    sa.Column("tenant", sa.String(200), primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
    # Tickets forgotten in the tenant so far: a process whose window saw fewer replays it.
    sa.Column("forgets", sa.BigInteger, nullable=False, server_default=sa.text("0")),
)

# Outbound incident events (open, growth, close) for TRIAGE_INCIDENT_WEBHOOK_URL, written in the
# transaction that changed the incident and sent from here, retried with backoff: an event is
# never lost to a crash between the change and the request.
incident_events = sa.Table(
    "incident_events",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("incident_id", sa.BigInteger, nullable=False),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_at", UtcDateTime, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("sent_at", UtcDateTime, nullable=True),
    sa.Index(None, "status", "next_at"),
)

# Write-back linking an incident's member tickets to its parent ticket in their helpdesk
# (TRIAGE_INCIDENT_WRITEBACK, migrations 0019, 0021): queued in the transaction that made the
# ticket a member, sent and retried like a suggestion's write-back. One row per member ticket
# ever: a member is linked once; a dismiss, merge or split changes the row's wanted parent and
# the link is undone or moved (0021).
incident_links = sa.Table(
    "incident_links",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("incident_id", sa.BigInteger, nullable=False),
    sa.Column("tenant", sa.String(200), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("ticket_id", sa.String(200), nullable=False),
    # What should be: the parent to link to (None: linked to none); and what is: the parent
    # the ticket is linked to in the helpdesk as far as triage knows (set when a link is done).
    sa.Column("parent_ticket_id", sa.String(200), nullable=True),
    sa.Column("linked_parent_id", sa.String(200), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_at", UtcDateTime, nullable=False),
    sa.Column("steps", sa.JSON, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("done_at", UtcDateTime, nullable=True),
    sa.UniqueConstraint("tenant", "source", "ticket_id"),
    sa.Index(None, "status", "next_at"),
    sa.Index(None, "incident_id"),
)

# Every routing table served (issue 20), newest the highest version: a PUT adds one, a rollback
# adds a copy of the one before. ``source``: "api" or "file:<name>" (TRIAGE_ROUTING_FILE).
routing_tables = sa.Table(
    "routing_tables",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("author", sa.String(100), nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

# A ticket's lifecycle, one row per event (``id`` from the sender: a repeat is stored once).
# Fields other than the key ones are in ``payload``. ``ticket_facts`` and
# ``ticket_head_facts`` are folded again from a ticket's events whenever one arrives, so the
# reports read one row per ticket (migration 0011).
ticket_events = sa.Table(
    "ticket_events",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("tenant", sa.String(200), nullable=False),
    sa.Column("ticket_id", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Index(None, "tenant", "ticket_id"),
)

# Days (since 1970-01-01, UTC) beside the times: the volume report counts per day from an index.
ticket_facts = sa.Table(
    "ticket_facts",
    metadata,
    sa.Column("tenant", sa.String(200), primary_key=True),
    sa.Column("ticket_id", sa.String(200), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=True),
    sa.Column("created_day", sa.Integer, nullable=True),
    sa.Column("resolved_at", UtcDateTime, nullable=True),
    sa.Column("resolved_day", sa.Integer, nullable=True),
    sa.Column("resolve_seconds", sa.Float, nullable=True),
    sa.Column("channel", sa.String(16), nullable=True),
    sa.Column("category", sa.String(200), nullable=True),
    sa.Column("tier", sa.String(64), nullable=True),
    sa.Column("priority", sa.String(64), nullable=True),
    sa.Column("group_name", sa.String(200), nullable=True),
    sa.Column("agent", sa.String(200), nullable=True),
    sa.Column("language", sa.String(16), nullable=True),
    sa.Column("first_tier", sa.String(64), nullable=True),
    sa.Column("first_tier_level", sa.Integer, nullable=True),
    sa.Column("max_tier_level", sa.Integer, nullable=True),
    sa.Column("reached_l2", sa.Boolean, nullable=False),
    sa.Column("escalations", sa.Integer, nullable=False),
    sa.Column("escalated_at", UtcDateTime, nullable=True),
    sa.Column("escalate_seconds", sa.Float, nullable=True),
    sa.Column("reopened", sa.Integer, nullable=False),
    sa.Column("predicted_tier", sa.String(64), nullable=True),
    sa.Column("decision", sa.String(16), nullable=True),
    sa.Column("source", sa.String(32), nullable=True),
    sa.Column("triaged_at", UtcDateTime, nullable=True),
    sa.Column("match_score", sa.Float, nullable=True),
    sa.Column("reviewed", sa.Boolean, nullable=False),
    sa.Column("written_back", sa.Boolean, nullable=False),
    # Covering the volume report's counts per day (read from the index alone).
    sa.Index(None, "created_at", "created_day"),
    sa.Index(None, "resolved_at", "resolved_day", "created_at"),
    sa.Index(None, "status", "created_at"),
    sa.Index(None, "triaged_at"),
)

ticket_head_facts = sa.Table(
    "ticket_head_facts",
    metadata,
    sa.Column("tenant", sa.String(200), primary_key=True),
    sa.Column("ticket_id", sa.String(200), primary_key=True),
    sa.Column("head", sa.String(64), primary_key=True),
    sa.Column("predicted", sa.String(200), nullable=True),
    sa.Column("decision", sa.String(16), nullable=True),
    sa.Column("source", sa.String(32), nullable=True),
    sa.Column("triaged_at", UtcDateTime, nullable=True),
    sa.Column("written_back", sa.Boolean, nullable=False),
    sa.Column("final", sa.String(200), nullable=True),
    sa.Column("kept", sa.Boolean, nullable=True),
    sa.Index(None, "triaged_at"),
    # Every column the automation report reads, in its groups' order: SQLite reads a year
    # grouped by head (and source) from this index alone, without sorting the rows
    # (176 ms against 611 ms of CPU at a million events: README, Report speed).
    sa.Index(
        "ix_ticket_head_facts_by_head",
        "head",
        "source",
        "tenant",
        "triaged_at",
        "decision",
        "written_back",
        "kept",
        "final",
    ),
)

# The per-ticket facts summed per day, tenant, family (``created``, ``resolved``), grouping
# (none, one or two dimensions, comma-joined) and grouping key (a JSON list of the values),
# with the tickets' durations (comma-joined seconds): ``triage/store/report_rollups.py`` keeps
# them in step with the facts. Read in the primary key's order, a year of a grouping needs no
# sort (migration 0020).
report_day_rollups = sa.Table(
    "report_day_rollups",
    metadata,
    sa.Column("family", sa.String(16), primary_key=True),
    sa.Column("grouping", sa.String(64), primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("day", sa.Integer, primary_key=True),
    sa.Column("tenant", sa.String(200), primary_key=True),
    *(sa.Column(f"c{i}", sa.Integer, nullable=False) for i in range(8)),
    sa.Column("durations", sa.Text, nullable=True),
)

# E-mail received (``POST /v1/email`` and the IMAP poller), one row per (tenant, Message-ID):
# a second copy of a message is recognised, and a reply finds the ticket of the message it
# answers (``ticket_id``). ``skipped`` says why a message was not triaged (an auto-reply, a
# bounce); ``result`` keeps the classification a repeat is answered with. ``text`` is the
# cleaned text, the thread's text when a reply is triaged with the ticket it joins.
mail_messages = sa.Table(
    "mail_messages",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("tenant", sa.String(200), nullable=False),
    sa.Column("message_id", sa.String(500), nullable=False),
    sa.Column("ticket_id", sa.String(200), nullable=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("sender", sa.Text, nullable=True),
    sa.Column("subject", sa.Text, nullable=True),
    sa.Column("text", sa.Text, nullable=True),
    sa.Column("attachments", sa.JSON, nullable=False),
    sa.Column("skipped", sa.Text, nullable=True),
    sa.Column("result", sa.JSON, nullable=True),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("tenant", "message_id"),
    sa.Index(None, "tenant", "ticket_id"),
)
