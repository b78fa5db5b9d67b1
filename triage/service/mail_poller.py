"""``triage mail poll``: triage what arrives in a support mailbox, over IMAP with TLS.

Each poll reads the configured folder's messages not yet handled, hands each one's bytes to
:class:`~triage.service.mail_intake.MailIntake` (the same use case as ``POST /v1/email``) and
then moves it to the done folder (messages that are not tickets to the skipped folder) or,
without one, flags it ``\\Seen`` and ``$Triaged``. A message is moved or flagged only after
its result is stored, so a crash in between triages nothing twice: the next poll finds the
Message-ID known and only moves it. A message that fails to triage stays where it is and is
tried again at the next poll. The password never reaches a log line or an error message.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from imap_tools import MailBox, MailBoxStartTls
from imap_tools.errors import MailboxLoginError
from imap_tools.mailbox import BaseMailBox

from triage.core.errors import MailboxError, MailTooLargeError, TriageError
from triage.service.incidents import IncidentTracker
from triage.service.lifecycle import Served
from triage.service.mail_intake import MailIntake
from triage.service.ticket_triage import TicketTriage
from triage.settings import Settings
from triage.store.database import Database
from triage.store.mail import MailStore
from triage.store.triaged import TriagedStore

log = logging.getLogger(__name__)

TRIAGED_FLAG = "$Triaged"
_NOT_HANDLED = f"NOT KEYWORD {TRIAGED_FLAG}"


@dataclass(frozen=True)
class MailboxConfig:
    host: str
    user: str
    password: str = field(repr=False)
    port: int | None = None
    security: str = "tls"  # tls | starttls
    ca_file: Path | None = None
    folder: str = "INBOX"
    done_folder: str | None = None
    skipped_folder: str | None = None
    tenant: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> MailboxConfig:
        password = settings.mail_imap_secret()
        if not (settings.mail_imap_host and settings.mail_imap_user and password):
            raise MailboxError(
                "no mailbox configured: set TRIAGE_MAIL_IMAP_HOST, TRIAGE_MAIL_IMAP_USER and "
                "TRIAGE_MAIL_IMAP_PASSWORD (or TRIAGE_MAIL_IMAP_PASSWORD_FILE)"
            )
        return cls(
            host=settings.mail_imap_host,
            user=settings.mail_imap_user,
            password=password,
            port=settings.mail_imap_port,
            security=settings.mail_imap_security,
            ca_file=settings.mail_imap_ca_file,
            folder=settings.mail_imap_folder,
            done_folder=settings.mail_imap_done_folder,
            skipped_folder=settings.mail_imap_skipped_folder,
            tenant=settings.mail_tenant,
        )


@dataclass
class PollReport:
    triaged: int = 0
    joined: int = 0
    skipped: int = 0
    duplicates: int = 0
    failed: int = 0

    @property
    def handled(self) -> int:
        return self.triaged + self.skipped + self.duplicates


def _connect(config: MailboxConfig) -> BaseMailBox:
    context = ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
    try:
        if config.security == "starttls":
            box: BaseMailBox = MailBoxStartTls(config.host, config.port or 143, ssl_context=context)
        else:
            box = MailBox(config.host, config.port or 993, ssl_context=context)
    except (OSError, ssl.SSLError) as exc:
        raise MailboxError(f"IMAP server {config.host} unreachable: {exc}") from exc
    try:
        box.login(config.user, config.password, initial_folder=config.folder)
    except MailboxLoginError:
        box.client.shutdown()
        raise MailboxError(f"IMAP login as {config.user!r} at {config.host} refused") from None
    except (OSError, ssl.SSLError) as exc:
        box.client.shutdown()
        raise MailboxError(f"IMAP server {config.host} failed at login: {exc}") from None
    return box


class MailPoller:
    """Polls one mailbox folder, triaging each message through ``intake`` (or, a callable,
    the intake of the model served at the time of each poll)."""

    def __init__(
        self,
        intake: MailIntake | Callable[[], MailIntake | None],
        config: MailboxConfig,
        *,
        per_poll: int = 200,
    ) -> None:
        self._intake = intake
        self.config = config
        self.per_poll = per_poll

    @classmethod
    def from_settings(
        cls, settings: Settings, database: Database, served: Callable[[], Served | None]
    ) -> MailPoller:
        """The configured mailbox's poller. Each message is triaged as ``/v1/triage`` triages
        a ticket (:class:`TicketTriage`: similar tickets, remembered as open, queued, recorded
        as events, routed, watched for incidents) with what ``served`` gives at each poll: the
        model, and the similar-ticket store where the process holds one."""
        store = MailStore.from_settings(database, settings)
        queue = TriagedStore.from_settings(database, settings)
        incidents = (
            IncidentTracker.from_settings(database, settings) if settings.incidents else None
        )

        def intake() -> MailIntake | None:
            current = served()
            if current is None:
                return None
            triage = TicketTriage(current.service, current.similar, queue, incidents)
            return MailIntake.from_settings(triage, store, settings)

        return cls(intake, MailboxConfig.from_settings(settings))

    @property
    def intake(self) -> MailIntake | None:
        return self._intake if isinstance(self._intake, MailIntake) else self._intake()

    def poll_once(self, *, limit: int | None = None) -> PollReport:
        """Handle the messages waiting in the folder (at most ``limit``, else ``per_poll``:
        the rest wait for the next poll)."""
        report = PollReport()
        intake = self.intake
        if intake is None:
            return report
        with _connect(self.config) as box:
            for folder in {self.config.done_folder, self.config.skipped_folder} - {None}:
                if folder and not box.folder.exists(folder):
                    box.folder.create(folder)
            criteria = "ALL" if self.config.done_folder else _NOT_HANDLED
            messages = box.fetch(criteria, limit=limit or self.per_poll, mark_seen=False)
            for message in messages:
                self._handle(intake, box, message.uid, message.obj.as_bytes(), report)
        return report

    def _handle(
        self, intake: MailIntake, box: BaseMailBox, uid: str | None, raw: bytes, report: PollReport
    ) -> None:
        if uid is None:
            return
        try:
            outcome = intake.receive(raw, tenant=self.config.tenant, channel="imap")
        except MailTooLargeError as exc:  # it would fail every poll: set it aside for a human
            report.skipped += 1
            log.warning("mail uid %s set aside: %s", uid, exc.message)
            self._put_away(box, uid, self.config.skipped_folder or self.config.done_folder)
            return
        except TriageError as exc:
            report.failed += 1
            log.warning("mail uid %s not triaged, left for the next poll: %s", uid, exc.message)
            return
        if outcome.duplicate:
            report.duplicates += 1
        elif outcome.skipped is not None:
            report.skipped += 1
            log.info("mail %s not a ticket: %s", outcome.message_id, outcome.skipped)
        else:
            report.triaged += 1
            report.joined += outcome.joined
        target = self.config.done_folder
        if outcome.skipped is not None and self.config.skipped_folder:
            target = self.config.skipped_folder
        self._put_away(box, uid, target)

    @staticmethod
    def _put_away(box: BaseMailBox, uid: str, folder: str | None) -> None:
        if folder:
            box.move(uid, folder)
        else:
            box.flag(uid, ["\\Seen", TRIAGED_FLAG], True)

    def run(self, interval: float, stop: Callable[[], bool]) -> None:
        """Poll every ``interval`` seconds until ``stop()``; a mailbox error waits a poll."""
        while not stop():
            try:
                report = self.poll_once()
                if report.handled or report.failed:
                    log.info("mail poll: %s", report)
            except MailboxError as exc:
                log.error("mail poll failed: %s", exc.message)
            deadline = time.monotonic() + interval
            while not stop() and time.monotonic() < deadline:
                time.sleep(min(0.5, interval))
