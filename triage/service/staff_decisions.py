"""Store staff decisions (feedback), and record them as ticket events for the reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from triage.service.events import EventRecorder, decided_events
from triage.store.feedback import Feedback, FeedbackStore


def store_feedback(
    store: FeedbackStore,
    events: EventRecorder,
    items: Sequence[Feedback],
    *,
    source: str,
    tenant: str = "",
) -> int:
    """Commit ``items`` (the feedback is what counts: an event that cannot be recorded is
    logged), then record each as a staff decision from ``source`` (api, ui)."""
    stored = store.add(items)
    decided = decided_events([asdict(item) for item in items], tenant=tenant, source=source)
    events.record_quietly(decided)
    return stored
