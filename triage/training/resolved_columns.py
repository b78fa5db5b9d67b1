"""Where a ticket file keeps a resolved ticket's fields, and how it tells solved rows apart.

Kept apart from :mod:`triage.training.resolved_file` (which needs pandas) so that the command
line can name the fields in its help without loading pandas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

RESOLVED_FIELDS = (
    "id",
    "subject",
    "body",
    "resolution",
    "category",
    "tier",
    "resolved_at",
    "tenant",
    "visibility",
)
SOLVED_STATUSES = ("resolved", "closed", "solved", "done")


def _same_names() -> dict[str, str]:
    return {name: name for name in RESOLVED_FIELDS}


@dataclass(frozen=True)
class ResolvedColumns:
    """The column of each field (default: the field's own name). If the file has a
    ``status`` column, only rows whose value is one of ``solved`` (any case) are kept.
    ``all_resolved``: every row is a solved ticket, whatever its status (said, not assumed)."""

    fields: Mapping[str, str] = field(default_factory=_same_names)
    status: str = "status"
    solved: Sequence[str] = SOLVED_STATUSES
    all_resolved: bool = False

    @classmethod
    def parse(
        cls,
        items: Sequence[str],
        *,
        status: str = "status",
        solved: Sequence[str] | None = None,
        all_resolved: bool = False,
    ) -> ResolvedColumns:
        """From ``FIELD=COLUMN`` items; a bad item raises ValueError."""
        fields = _same_names()
        for item in items:
            name, _, column = item.partition("=")
            if name not in fields or not column:
                raise ValueError(f"use FIELD=COLUMN with FIELD one of {', '.join(fields)}")
            fields[name] = column
        return cls(fields, status, solved or SOLVED_STATUSES, all_resolved)
