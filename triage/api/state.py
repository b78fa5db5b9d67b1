"""What the app keeps in ``app.state`` beyond the model: the similar-ticket store."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import FastAPI

from triage.errors import StoreMismatchError
from triage.service import TriageService
from triage.settings import Settings
from triage.similar.service import SimilarService, embedder_key

log = logging.getLogger("triage")


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
        )
    except StoreMismatchError as exc:
        log.error("similar tickets unavailable: %s", exc.message)
        app.state.similar, app.state.similar_error = None, exc
        return
    app.state.similar, app.state.similar_error = similar, None
    if previous is not None:
        previous.close()
