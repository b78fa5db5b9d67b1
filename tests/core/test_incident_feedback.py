"""Staff decisions raise a category's size needed to open, within bounds."""

from __future__ import annotations

from triage.core.incident_feedback import size_raises


def test_net_dismissals_raise_the_size_at_most_to_double() -> None:
    verdicts = {"network": (2, 0), "mail": (10, 1), "print": (1, 3), None: (1, 1)}
    assert size_raises(verdicts, min_size=5) == {"network": 2, "mail": 5}
