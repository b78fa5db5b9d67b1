"""``triage mail poll``: triage the support mailbox's new messages (IMAP, TLS or STARTTLS)."""

from __future__ import annotations

from typing import Annotated

import typer

from triage.cli.app import fail, say
from triage.core.errors import TriageError
from triage.settings import get_settings

mail_app = typer.Typer(help="E-mail intake from an IMAP mailbox (TRIAGE_MAIL_IMAP_*).")


@mail_app.command("poll")
def poll(
    once: Annotated[bool, typer.Option("--once", help="Poll once and exit.")] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Messages per poll at most.")] = None,
) -> None:
    """Triage new messages of TRIAGE_MAIL_IMAP_FOLDER, then move or flag them."""
    import threading

    from triage.service.lifecycle import ModelLifecycle
    from triage.service.mail_poller import MailPoller
    from triage.service.routing import RoutingBook
    from triage.store.database import Database

    settings = get_settings()
    try:
        database = Database.from_settings(settings)
        lifecycle = ModelLifecycle(settings, database)  # with the similar-ticket index
        service = lifecycle.start().service
        RoutingBook.from_settings(database, settings).start(service)
        poller = MailPoller.from_settings(settings, database, lambda: lifecycle.served)
        if once:
            report = poller.poll_once(limit=limit)
            say(
                f"triaged {report.triaged} ({report.joined} joined a ticket), not tickets "
                f"{report.skipped}, seen before {report.duplicates}, failed {report.failed}"
            )
            return
        stop = threading.Event()
        say(f"polling {settings.mail_imap_folder} every {settings.mail_poll_seconds:g} s")
        try:
            poller.run(settings.mail_poll_seconds, stop.is_set)
        except KeyboardInterrupt:
            stop.set()
    except TriageError as exc:
        raise fail(exc) from exc
