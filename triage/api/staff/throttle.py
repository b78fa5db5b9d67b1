"""Failed sign-ins: logged, and slowed down per client address (issue 24).

Before, 300 wrong keys were tried in 0.7 s, then the right one worked, and nothing was logged.
Now each failure is logged (the client address, never the key), and after ``FREE`` failures in
a window of ``WINDOW`` seconds a client is refused (429, with Retry-After) until the window
has passed, the right key included. Counted per process (each worker counts its own), which
bounds a guesser to a few tries a minute per worker; keys are 32 random bytes, so that is
far from enough to find one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

log = logging.getLogger("triage.signin")

FREE, WINDOW = 5, 60.0
_CLIENTS = 10_000  # addresses remembered at most (the oldest are forgotten first)


class SigninThrottle:
    def __init__(self, free: int = FREE, window: float = WINDOW) -> None:
        self.free = free
        self.window = window
        self._failures: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, client: str) -> float:
        """Seconds ``client`` must wait before trying again (0: it may try now)."""
        with self._lock:
            recent = self._recent(client, time.monotonic())
            if len(recent) < self.free:
                return 0.0
            return max(0.0, recent[0] + self.window - time.monotonic())

    def failed(self, client: str) -> None:
        with self._lock:
            now = time.monotonic()
            recent = self._recent(client, now)
            recent.append(now)
            self._failures[client] = recent
            self._failures.move_to_end(client)
            while len(self._failures) > _CLIENTS:
                self._failures.popitem(last=False)
        log.warning(
            "staff page: failed sign-in from %s (%d in %.0f s)", client, len(recent), self.window
        )

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    def _recent(self, client: str, now: float) -> list[float]:
        return [t for t in self._failures.get(client, []) if now - t < self.window]
