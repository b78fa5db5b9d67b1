"""Applying a helpdesk write-back as named steps, and when to try again after a failure.

Shared by the suggestion's write-back (:class:`~triage.service.webhook_runner.WebhookRunner`)
and the incident links (:class:`~triage.service.incident_links.IncidentLinker`): each records
the steps that succeeded, so a retry repeats only what failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from triage.store.schema import utcnow
from triage.webhooks.writeback import Step, WritebackError

MAX_BACKOFF = timedelta(hours=1)


def backoff_delay(attempts: int, base: timedelta) -> timedelta:
    """``base``, then twice as long after each failed attempt, at most an hour."""
    return min(base * (1 << min(max(attempts - 1, 0), 20)), MAX_BACKOFF)


@dataclass(frozen=True)
class StepFailure:
    """The step that failed, why, and when to try again (None: never)."""

    error: str
    retry_at: datetime | None


def run_steps(
    steps: Callable[[], list[Step]],
    done: list[str],
    step_done: Callable[[list[str]], None],
    *,
    attempts: int,
    max_attempts: int,
    backoff: timedelta,
) -> StepFailure | None:
    """Apply the steps not in ``done`` in order, calling ``step_done`` after each; None once
    all are applied. ``steps`` is called inside the guard: a request it cannot even build
    (a ticket id that is not a number) fails like a refused request."""
    done = list(done)
    step = "prepare"
    try:
        for step, apply in steps():
            if step in done:
                continue
            apply()
            done.append(step)
            step_done(done)
    except Exception as exc:
        retryable = exc.retryable if isinstance(exc, WritebackError) else True
        retry_at = None
        if retryable and attempts < max_attempts:
            retry_at = utcnow() + backoff_delay(attempts, backoff)
        return StepFailure(f"{step}: {exc}"[:1000], retry_at)
    return None
