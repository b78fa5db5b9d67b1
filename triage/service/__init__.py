"""The service layer: every use case the edges (HTTP API, staff page, CLI, worker) call.

Each use case lives here once; an edge turns its input into a call and the returned
dataclasses into its own output. The service knows nothing of HTTP and never imports
training code.
"""

from triage.service.classification import TriageService, policies_from_settings
from triage.service.results import (
    Classification,
    DriftReport,
    HeadResult,
    Ticket,
    classification_dict,
)

__all__ = [
    "Classification",
    "DriftReport",
    "HeadResult",
    "Ticket",
    "TriageService",
    "classification_dict",
    "policies_from_settings",
]
