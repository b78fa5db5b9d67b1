"""``triage serve`` (the HTTP API) and ``triage worker`` (queued jobs, webhook deliveries, mail)."""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from triage.cli.app import fail, say
from triage.core.auth import refuse_open
from triage.core.errors import TriageError
from triage.settings import Settings, get_settings

if TYPE_CHECKING:
    from triage.service.job_runner import JobRunner
    from triage.service.lifecycle import ActiveModelWatcher, ModelLifecycle
    from triage.service.webhook_runner import WebhookRunner
    from triage.store.database import Database

# uvicorn's protocol with TCP_NODELAY per connection (see triage.api.transport).
NODELAY_HTTP = "triage.api.transport:NoDelayHTTPProtocol"


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )


def _refuse_open_bind(settings: Settings, bind: str) -> None:
    """Without API keys, serve on a loopback address only (and say that the API is open)."""
    if settings.api_keys:
        return
    try:
        refuse_open(settings.api_keys, bind)
    except TriageError as exc:
        raise fail(exc) from exc
    logging.getLogger("triage").warning(
        "no API keys configured (TRIAGE_API_KEYS): the API is open, on %s only", bind
    )


def base_url(bind: str, port: int) -> str:
    """The address to open in a browser for a server bound to ``bind``."""
    host = "localhost" if bind in ("0.0.0.0", "::", "") else bind
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _checked_database(settings: Settings) -> Settings:
    """Open (check and migrate) the database before binding the port, so a damaged one stops
    start-up with one line; the settings then tell this process's app not to check again."""
    from triage.store.database import Database

    Database.from_settings(settings).dispose()
    return settings.model_copy(update={"integrity_check": False})


def serve(
    host: Annotated[str | None, typer.Option(help="Default: TRIAGE_HOST or 127.0.0.1.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: TRIAGE_PORT or 8000.")] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes, each with its own copy of the model.")
    ] = 1,
) -> None:
    """Serve the HTTP API with the active model (models/ACTIVE, or TRIAGE_MODEL_VERSION)."""
    import uvicorn

    from triage.api.app import create_app
    from triage.service import TriageService

    settings = get_settings()
    _configure_logging(settings)
    bind = host or settings.host
    _refuse_open_bind(settings, bind)
    try:
        # Load (and verify) before binding the port, so a bad artifact stops start-up with
        # one clear line instead of a server that never becomes ready.
        service = TriageService.from_settings(settings)
        settings = _checked_database(settings)
    except TriageError as exc:
        raise fail(exc) from exc
    if workers > 1:
        # Each worker process builds its own app (and loads the model) from the settings.
        del service
        os.environ["TRIAGE_INTEGRITY_CHECK"] = "false"  # checked above, once for all
        # Read by every worker's settings: the default TRIAGE_THREADS shares the cores.
        os.environ.setdefault("WEB_CONCURRENCY", str(workers))
        url = base_url(bind, port or settings.port)
        say(f"starting {workers} workers: staff page {url}/ui/ · API docs {url}/docs")
        uvicorn.run(
            "triage.api.app:create_app",
            factory=True,
            workers=workers,
            host=bind,
            port=port or settings.port,
            log_level=settings.log_level,
            http=NODELAY_HTTP,
            limit_concurrency=settings.max_connections,
        )
        return
    app = create_app(settings, service=service)
    app.state.base_url = base_url(bind, port or settings.port)  # logged once it is ready
    uvicorn.run(
        app,
        host=bind,
        port=port or settings.port,
        log_level=settings.log_level,
        http=NODELAY_HTTP,
        limit_concurrency=settings.max_connections,
    )


def worker() -> None:
    """Run queued jobs and webhook deliveries here (set TRIAGE_JOBS_WORKER=false on the API),
    and poll the mailbox when TRIAGE_MAIL_IMAP_HOST is set."""
    import signal

    from triage.service.lifecycle import ModelLifecycle
    from triage.service.routing import RoutingBook
    from triage.store.database import Database

    settings = get_settings()
    _configure_logging(settings)
    try:
        database = Database.from_settings(settings)
        # Jobs and deliveries only classify; mail is triaged with similar tickets, so the
        # similar-ticket index is loaded where a mailbox is polled.
        lifecycle = ModelLifecycle(settings, database if settings.mail_imap_host else None)
        service = lifecycle.start().service
        RoutingBook.from_settings(database, settings).start(service)
    except TriageError as exc:
        raise fail(exc) from exc
    from triage.service.incident_webhooks import IncidentWebhookSender

    runner, webhook_runner = _runners(settings, database, lifecycle)
    webhook_runner.start()
    sender = IncidentWebhookSender.from_settings(database, settings)
    if sender is not None:
        sender.start()
    watcher = _watcher(settings, lifecycle)
    mail_stop = _mail_poller(settings, database, lifecycle)

    def stop(*_: object) -> None:
        mail_stop.set()
        runner.stop()
        webhook_runner.stop()
        if sender is not None:
            sender.stop()

    signal.signal(signal.SIGTERM, stop)
    say(f"worker {runner.name}: model {service.model.version}, database {database.describe()}")
    try:
        runner.run_forever()
    except KeyboardInterrupt:
        stop()
    finally:
        if watcher is not None:
            watcher.stop()
        webhook_runner.stop()
        database.dispose()


def _runners(
    settings: Settings, database: Database, lifecycle: ModelLifecycle
) -> tuple[JobRunner, WebhookRunner]:
    """The job runner (this thread) and the webhook runner (a thread of its own, so that a
    backlog never delays a delivery), both classifying with the lifecycle's current model."""
    from triage.service.job_runner import JobRunner
    from triage.service.webhook_runner import WebhookRunner
    from triage.store.deliveries import DeliveryStore
    from triage.store.jobs import JobStore

    store = JobStore(database)
    runner = JobRunner.for_backlog(store, lambda: lifecycle.service, settings)
    from triage.service.incidents import IncidentTracker

    incidents = IncidentTracker.from_settings(database, settings) if settings.incidents else None
    webhook_runner = WebhookRunner.from_settings(
        store, DeliveryStore(database), lambda: lifecycle.service, settings, incidents=incidents
    )
    return runner, webhook_runner


def _mail_poller(
    settings: Settings, database: Database, lifecycle: ModelLifecycle
) -> threading.Event:
    """With TRIAGE_MAIL_IMAP_HOST set, the mailbox is polled on a thread of its own."""
    from triage.service.mail_poller import MailPoller

    stop = threading.Event()
    if settings.mail_imap_host:
        try:
            poller = MailPoller.from_settings(settings, database, lambda: lifecycle.served)
        except TriageError as exc:
            raise fail(exc) from exc
        thread = threading.Thread(
            target=poller.run,
            args=(settings.mail_poll_seconds, stop.is_set),
            name="triage-mail",
            daemon=True,
        )
        thread.start()
        say(f"polling mailbox folder {settings.mail_imap_folder} of {settings.mail_imap_host}")
    return stop


def _watcher(settings: Settings, lifecycle: ModelLifecycle) -> ActiveModelWatcher | None:
    """Like the API: a model activated anywhere on this models directory is followed here
    (unless TRIAGE_MODEL_VERSION pins one)."""
    if settings.model_watch_seconds > 0 and settings.model_version is None:
        return lifecycle.follow(settings.model_watch_seconds)
    return None
