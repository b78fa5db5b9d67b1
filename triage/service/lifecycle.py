"""The served model's lifecycle: load, swap, activate, follow ``ACTIVE``, and the
similar-ticket index that goes with the model's embedder.

One :class:`ModelLifecycle` per process (an API worker, ``triage worker``). Every process
serving from one models directory (uvicorn workers, replicas on a shared volume) follows the
ACTIVE pointer: an activation handled by one of them reaches the others within
``TRIAGE_MODEL_WATCH_SECONDS``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from triage.core.errors import ModelNotFoundError, StoreMismatchError, TriageError
from triage.core.registry import active_version, pin_first_served, set_active
from triage.service.classification import TriageService
from triage.service.poller import Poller
from triage.settings import Settings
from triage.similar.results import embedder_key
from triage.similar.service import SimilarService
from triage.store.database import Database

log = logging.getLogger("triage")


@dataclass(frozen=True)
class Served:
    """What a process serves: the model, and its similar-ticket store or why there is none."""

    service: TriageService
    similar: SimilarService | None = None
    similar_error: TriageError | None = None


class ModelLifecycle:
    """Loads, verifies and swaps the served model, and re-opens the similar-ticket index
    when the embedder changes. ``publish`` is told each new :class:`Served`, in one step:
    requests already running keep what they started with; new ones get the new one.

    ``database``: None where no similar-ticket index is wanted (the worker).
    """

    def __init__(
        self,
        settings: Settings,
        database: Database | None,
        publish: Callable[[Served], None] = lambda served: None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.publish = publish
        self.served: Served | None = None
        self._lock = threading.Lock()  # one swap at a time (an activation, or the watcher)

    @property
    def service(self) -> TriageService:
        if self.served is None:
            raise ModelNotFoundError("no model is loaded")
        return self.served.service

    def start(self, service: TriageService | None = None) -> Served:
        """Serve ``service``, else what the settings name (pinned, active or newest)."""
        with self._lock:
            served = self._serve(service or TriageService.from_settings(self.settings))
        if self.settings.model_version is None:
            self._pin(served.service.model.version)
        return served

    def _pin(self, version: str) -> None:
        """The first version served from a models directory stays served across restarts
        until one is activated (a read-only directory only loses that guarantee)."""
        try:
            if pin_first_served(self.settings.models_dir, version):
                log.info("ACTIVE in %s now names %s", self.settings.models_dir, version)
        except OSError as exc:
            log.warning("could not pin %s in ACTIVE: %s", version, exc)

    def swap(self, version: str) -> TriageService:
        """Load and verify ``version``, then serve it: one assignment, no failed request."""
        with self._lock:
            served = self._serve(TriageService.from_settings(self.settings, version))
        log.info("serving model %s", served.service.model.version)
        return served.service

    def activate(self, version: str) -> TriageService:
        """Serve ``version`` here, then point ACTIVE at it: other processes on this models
        directory follow, and it is what a restart serves."""
        service = self.swap(version)
        set_active(self.settings.models_dir, version)
        return service

    def close(self) -> None:
        served, self.served = self.served, None
        if served is not None and served.similar is not None:
            served.similar.close()

    def follow(self, interval: float) -> ActiveModelWatcher:
        """A started thread that swaps in the version ACTIVE names when it changes."""
        watcher = ActiveModelWatcher(self, interval=interval)
        watcher.start()
        return watcher

    def _serve(self, service: TriageService) -> Served:
        previous = self.served
        if previous is not None:  # the routing table and the agents outlive a model swap
            service.routing = previous.service.routing
            service.agents = previous.service.agents
        served = self._with_similar(service, previous)
        self.served = served
        self.publish(served)
        if previous is not None and previous.similar not in (None, served.similar):
            previous.similar.close()
        return served

    def _with_similar(self, service: TriageService, previous: Served | None) -> Served:
        """The similar-ticket store for ``service``'s embedder (or why it cannot be used)."""
        if self.database is None:
            return Served(service)
        kept = previous.similar if previous is not None else None
        embedder = service.model.embedder
        if kept is not None and embedder_key(kept.embedder) == embedder_key(embedder):
            return Served(service, kept)  # same vector space: keep the loaded index
        try:
            similar = SimilarService.from_settings(self.database, embedder, self.settings)
        except StoreMismatchError as exc:
            log.error("similar tickets unavailable: %s", exc.message)
            return Served(service, None, exc)
        return Served(service, similar)


class ActiveModelWatcher:
    """Polls the ACTIVE pointer and swaps in the version it names when that changes."""

    def __init__(self, lifecycle: ModelLifecycle, *, interval: float) -> None:
        self.lifecycle = lifecycle
        self._poller = Poller("triage-model-watch", interval, self.check)
        self._failed: str | None = None

    def start(self) -> None:
        self._poller.start()

    def stop(self) -> None:
        self._poller.stop()

    def check(self) -> None:
        version = active_version(self.lifecycle.settings.models_dir)
        served = self.lifecycle.served
        if version is None or served is None or version == served.service.model.version:
            return
        if version == self._failed:
            return  # already tried; it stays refused until ACTIVE changes again
        try:
            self.lifecycle.swap(version)
        except TriageError as exc:
            self._failed = version
            log.error("ACTIVE names %s, which cannot be served: %s", version, exc.message)
