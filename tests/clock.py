"""A clock that tests set by hand: ``clock.now = …``, then anything given it reads that time."""

from __future__ import annotations

from datetime import datetime


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
