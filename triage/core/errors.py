"""Domain errors. Each carries a stable ``code``; the API maps them to HTTP in one place."""

from __future__ import annotations

from typing import Any


class TriageError(Exception):
    """Base of every error the core raises on purpose."""

    code = "triage_error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidTicketError(TriageError):
    """The ticket cannot be classified as given (e.g. no text at all)."""

    code = "invalid_ticket"


class TicketTooLargeError(TriageError):
    """The ticket text is longer than the configured limit."""

    code = "ticket_too_large"


class BatchTooLargeError(TriageError):
    """More tickets in one request than the configured limit."""

    code = "batch_too_large"


class UnauthorizedError(TriageError):
    """No API key, or one that is not configured."""

    code = "unauthorized"
    challenge = 'Bearer realm="triage"'  # the WWW-Authenticate header of the 401


class ForbiddenError(TriageError):
    """A valid API key without the scope the route needs."""

    code = "forbidden"


class DataValidationError(TriageError):
    """A training or evaluation file is unusable; the message names the column or rows."""

    code = "invalid_data"


class ModelNotFoundError(TriageError):
    """No trained model artifact where one was expected."""

    code = "model_not_found"


class ArtifactError(TriageError):
    """A model artifact is incomplete, corrupt, tampered with or incompatible."""

    code = "artifact_invalid"


class EmbedderUnavailableError(TriageError):
    """The embedding model cannot be loaded from local files."""

    code = "embedder_unavailable"


class JobNotFoundError(TriageError):
    """No classification job with that id."""

    code = "job_not_found"


class UnsupportedMediaTypeError(TriageError):
    """A request body in a format the route does not read."""

    code = "unsupported_media_type"


class StoreMismatchError(TriageError):
    """The ticket store's vectors come from another embedding model than the served one."""

    code = "store_mismatch"


class StoreUnavailableError(TriageError):
    """The database cannot be reached (or is refusing work) for now; retrying may succeed."""

    code = "store_unavailable"
    retry_after = 5  # seconds, the Retry-After header of the 503


class StoreCorruptError(StoreUnavailableError):
    """The database file is damaged (SQLite's own check says so): restore it from a backup."""

    code = "store_corrupt"


class TicketNotFoundError(TriageError):
    """No stored ticket with that id."""

    code = "ticket_not_found"


class UnknownWebhookSourceError(TriageError):
    """A webhook path names a helpdesk triage has no adapter for."""

    code = "unknown_source"


class WebhookSourceDisabledError(TriageError):
    """Deliveries from this helpdesk are refused: no secret is configured for it."""

    code = "source_not_configured"


class WebhookSignatureError(UnauthorizedError):
    """A webhook delivery without a valid signature (or shared secret) for its source."""

    code = "invalid_signature"
    challenge = 'HMAC realm="triage-webhooks"'


class StaleDeliveryError(WebhookSignatureError):
    """A signed webhook delivery whose timestamp is outside the accepted window."""

    code = "stale_delivery"


class WebhookPayloadError(TriageError):
    """A signed webhook delivery whose body cannot be read as a ticket of its source."""

    code = "invalid_payload"


class DeliveryNotFoundError(TriageError):
    """No webhook delivery with that id."""

    code = "delivery_not_found"


class TicketFailedError(TriageError):
    """One ticket of a batch or job raised something unexpected; the others go on."""

    code = "internal_error"


class UnsafeBindError(TriageError):
    """Asked to listen beyond loopback with no API keys: the API would be open to the network."""

    code = "unsafe_bind"


class IncidentNotFoundError(TriageError):
    """No incident with that id (in the caller's tenants)."""

    code = "incident_not_found"


class IncidentConflictError(TriageError):
    """A staff action the incident's state forbids: dismissing it twice, merging it into
    itself or into a merged one, splitting off tickets it does not hold."""

    code = "incident_conflict"


class RoutingTableError(TriageError):
    """A routing table that cannot be served: unreadable, or a rule naming an unknown label,
    a rule that can never match, a cycle of fallbacks. The message names the rule."""

    code = "invalid_routing_table"


class RoutingVersionNotFoundError(TriageError):
    """No stored routing table of that version (or none to roll back to)."""

    code = "routing_version_not_found"


class InvalidReportQueryError(TriageError):
    """A report asked for with an unknown grouping or bucket, or an empty or reversed window."""

    code = "invalid_report_query"


class ReportNotFoundError(TriageError):
    """No report of that name."""

    code = "report_not_found"


class InvalidEventError(TriageError):
    """A ticket event (or a row of an event file) that cannot be recorded as given."""

    code = "invalid_event"


class MailTooLargeError(TriageError):
    """An e-mail message over TRIAGE_MAIL_MAX_BYTES."""

    code = "mail_too_large"


class MailboxError(TriageError):
    """The IMAP mailbox cannot be reached, logged in to, or is not configured."""

    code = "mailbox_unavailable"
