"""triage: ML-assisted helpdesk ticket triage."""

from importlib import metadata

try:
    __version__ = metadata.version("triage")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

from triage.artifacts import load_model
from triage.decisions import Decision
from triage.embeddings import Embedder, load_embedder
from triage.errors import TriageError
from triage.model import HeadPrediction, TriageModel
from triage.redaction import redact_pii
from triage.service import Classification, HeadResult, Ticket, TriageService
from triage.text import ticket_text

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
