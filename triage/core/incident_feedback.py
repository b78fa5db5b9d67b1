"""Staff decisions fed back into detection: each dismissal of a category's incidents, net of
the confirmations, makes that category need one more ticket to open an incident.

Bounded: at most ``MAX_RAISE`` x the minimum size more (a category staff dismissed ten times
still opens on a surge twice the usual size), and only decisions of the last ``DAYS`` count,
so a threshold raised by a bad week comes back down.
"""

from __future__ import annotations

from collections.abc import Mapping

DAYS = 30
MAX_RAISE = 1.0  # of the minimum size


def size_raises(
    verdicts: Mapping[str | None, tuple[int, int]], min_size: int
) -> dict[str | None, int]:
    """Extra tickets each category needs, from its (dismissed, confirmed) counts."""
    bound = int(MAX_RAISE * min_size)
    raises = {
        category: min(max(dismissed - confirmed, 0), bound)
        for category, (dismissed, confirmed) in verdicts.items()
    }
    return {category: extra for category, extra in raises.items() if extra}
