"""What the app keeps in ``app.state`` beside the routes: the served model, the similar-ticket
store, and a watcher that follows the models directory's ACTIVE pointer.

Every process serving from one models directory (uvicorn workers, replicas on a shared
volume) follows ACTIVE: an activation handled by one of them reaches the others within
``TRIAGE_MODEL_WATCH_SECONDS``.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from fastapi import FastAPI

from triage.errors import StoreMismatchError, TriageError
from triage.registry import active_version
from triage.service import TriageService
from triage.settings import Settings
from triage.similar.service import SimilarService, embedder_key

log = logging.getLogger("triage")


# One model swap at a time per process (an activation request, or the watcher).
activation = threading.Lock()


def swap_model(app: FastAPI, settings: Settings, version: str) -> TriageService:
    """Load and verify ``version``, then serve it: one assignment, no failed request.

    Requests already running keep the service they started with; new ones get this.
    """
    with activation:
        service = TriageService.from_settings(settings, version)
        app.state.service = service
        open_similar(app, settings, service)
        app.state.metrics.set_model(service.model.version)
    log.info("serving model %s", service.model.version)
    return service


class ActiveModelWatcher:
    """Polls the ACTIVE pointer and swaps in the version it names when that changes."""

    def __init__(self, app: FastAPI, settings: Settings, *, interval: float) -> None:
        self.app = app
        self.settings = settings
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="triage-model-watch", daemon=True)
        self._failed: str | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def check(self) -> None:
        version = active_version(self.settings.models_dir)
        service: TriageService | None = getattr(self.app.state, "service", None)
        if version is None or service is None or version == service.model.version:
            return
        if version == self._failed:
            return  # already tried; it stays refused until ACTIVE changes again
        try:
            swap_model(self.app, self.settings, version)
        except TriageError as exc:
            self._failed = version
            log.error("ACTIVE names %s, which cannot be served: %s", version, exc.message)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # the watcher must outlive one bad moment
                log.exception("model watcher error")


def open_similar(app: FastAPI, settings: Settings, service: TriageService) -> None:
    """The similar-ticket store for the served model's embedder (or why it cannot be used)."""
    previous: SimilarService | None = getattr(app.state, "similar", None)
    if previous is not None and embedder_key(previous.embedder) == embedder_key(
        service.model.embedder
    ):
        return  # same vector space: keep the loaded index
    try:
        similar = SimilarService.open(
            app.state.database,
            service.model.embedder,
            backend=settings.similar_backend,
            snapshot=settings.data_dir / "vectors" / "index",
            hnsw_threshold=settings.hnsw_threshold,
            duplicate_threshold=settings.duplicate_threshold,
            duplicate_window=timedelta(hours=settings.duplicate_window_hours),
            max_text_chars=settings.max_text_chars,
            languages=settings.languages,
            cache_dir=settings.cache_dir,
            redact_pii=settings.redact_pii,
        )
    except StoreMismatchError as exc:
        log.error("similar tickets unavailable: %s", exc.message)
        app.state.similar, app.state.similar_error = None, exc
        return
    app.state.similar, app.state.similar_error = similar, None
    if previous is not None:
        previous.close()
