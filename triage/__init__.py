"""triage: ML-assisted helpdesk ticket triage."""

from importlib import metadata

try:
    __version__ = metadata.version("triage")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

from triage.core.artifacts import load_model
from triage.core.decisions import Decision
from triage.core.embeddings import Embedder, load_embedder
from triage.core.errors import TriageError
from triage.core.model import HeadPrediction, TriageModel
from triage.core.redaction import redact_pii
from triage.core.text import ticket_text
from triage.service import Classification, HeadResult, Ticket, TriageService

__all__ = [
    "Classification",
    "Decision",
    "Embedder",
    "HeadPrediction",
    "HeadResult",
    "Ticket",
    "TriageError",
    "TriageModel",
    "TriageService",
    "__version__",
    "load_embedder",
    "load_model",
    "redact_pii",
    "ticket_text",
]
