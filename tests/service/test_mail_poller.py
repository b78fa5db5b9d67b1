"""The IMAP poller against a real dovecot on loopback (TLS and STARTTLS): messages appended
over IMAP are triaged, moved (or flagged) on the server, and never triaged twice."""

from __future__ import annotations

import logging
import os
import ssl
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from imap_tools import MailBox

from benchmarks.harness.dovecot import DOVECOT, ImapServer, running_dovecot
from triage.core.errors import MailboxError
from triage.service import TriageService
from triage.service.mail_intake import MailIntake
from triage.service.mail_poller import TRIAGED_FLAG, MailboxConfig, MailPoller, PollReport
from triage.service.ticket_triage import TicketTriage
from triage.store.database import Database
from triage.store.mail import MailStore
from triage.store.triaged import TriagedStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mail"
pytestmark = pytest.mark.skipif(
    not os.access(DOVECOT, os.X_OK),
    reason="dovecot is not installed (make imap-server installs dovecot-imapd as root)",
)


@pytest.fixture(scope="module")
def imap() -> Iterator[ImapServer]:
    # Not pytest's temporary root: its parents are private to us, and dovecot's own users
    # (auth, login) must read the password file and the certificate.
    with (
        tempfile.TemporaryDirectory(prefix="triage-dovecot-") as root,
        running_dovecot(Path(root)) as server,
    ):
        yield server


def _box(imap: ImapServer) -> MailBox:
    context = ssl.create_default_context(cafile=str(imap.ca_file))
    return MailBox(imap.host, imap.imaps_port, ssl_context=context).login(imap.user, imap.password)


def _config(imap: ImapServer, folder: str, **options: object) -> MailboxConfig:
    return MailboxConfig(
        host=imap.host,
        port=imap.imaps_port,
        user=imap.user,
        password=imap.password,
        ca_file=imap.ca_file,
        folder=folder,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def stores(tmp_path: Path, service: TriageService) -> Iterator[tuple[MailIntake, TriagedStore]]:
    with Database(f"sqlite:///{tmp_path / 'triage.db'}") as database:
        database.upgrade()
        queue = TriagedStore(database)
        yield MailIntake(TicketTriage(service, None, queue), MailStore(database)), queue


def _append(imap: ImapServer, folder: str, names: list[str]) -> None:
    with _box(imap) as box:
        if not box.folder.exists(folder):
            box.folder.create(folder)
        for name in names:
            box.append(next(FIXTURES.glob(f"{name}*.eml")).read_bytes(), folder)


def test_poll_triages_and_moves_messages_on_the_server(
    imap: ImapServer, stores: tuple[MailIntake, TriagedStore]
) -> None:
    intake, queue = stores
    _append(imap, "Moved", ["01-gmail", "10-outlook", "29-gmail", "*-exchange-out-of-office"])
    config = _config(imap, "Moved", done_folder="Moved-Done", skipped_folder="Moved-Skipped")
    report = MailPoller(intake, config).poll_once()
    assert (report.triaged, report.skipped, report.failed) == (3, 1, 0)
    with _box(imap) as box:
        box.folder.set("Moved")
        assert list(box.fetch()) == []
        box.folder.set("Moved-Done")
        assert len(list(box.fetch())) == 3
        box.folder.set("Moved-Skipped")
        assert [m.subject for m in box.fetch()] == ["Automatic reply: Your ticket #4411"]
    assert {t.source for t in queue.recent()} == {"email"}
    assert len(queue.recent()) == 3


def test_poll_flags_when_no_done_folder_and_never_triages_twice(
    imap: ImapServer, stores: tuple[MailIntake, TriagedStore]
) -> None:
    intake, _ = stores
    _append(imap, "Flagged", ["05-gmail", "07-apple"])
    poller = MailPoller(intake, _config(imap, "Flagged"))
    assert poller.poll_once().triaged == 2
    with _box(imap) as box:
        box.folder.set("Flagged")
        flags = [set(m.flags) for m in box.fetch(mark_seen=False)]
    assert flags == [{"\\Seen", TRIAGED_FLAG}] * 2
    second = poller.poll_once()
    assert (second.triaged, second.duplicates) == (0, 0)  # flagged ones are not read again
    _append(imap, "Flagged", ["05-gmail"])  # the same Message-ID delivered again
    third = poller.poll_once()
    assert (third.triaged, third.duplicates) == (0, 1)


def test_triage_mail_poll_once_reads_the_password_from_a_secret_file(
    imap: ImapServer,
    artifact_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from triage.cli import app
    from triage.settings import get_settings

    _append(imap, "Cli", ["33-gmail", "*-postfix-dsn-bounce"])
    secret = tmp_path / "imap-password"
    secret.write_text(imap.password + "\n")
    environment = {
        "TRIAGE_MODELS_DIR": str(artifact_dir.parent),
        "TRIAGE_DATA_DIR": str(tmp_path / "var"),
        "TRIAGE_MAIL_IMAP_HOST": imap.host,
        "TRIAGE_MAIL_IMAP_PORT": str(imap.imaps_port),
        "TRIAGE_MAIL_IMAP_USER": imap.user,
        "TRIAGE_MAIL_IMAP_PASSWORD_FILE": str(secret),
        "TRIAGE_MAIL_IMAP_CA_FILE": str(imap.ca_file),
        "TRIAGE_MAIL_IMAP_FOLDER": "Cli",
        "TRIAGE_MAIL_IMAP_DONE_FOLDER": "Cli-Done",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["mail", "poll", "--once"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "triaged 1" in result.output
    assert "not tickets 1" in result.output
    assert imap.password not in result.output
    with _box(imap) as box:
        box.folder.set("Cli-Done")
        assert len(list(box.fetch())) == 2


def test_a_message_over_the_size_limit_is_set_aside_not_retried_for_ever(
    imap: ImapServer, stores: tuple[MailIntake, TriagedStore]
) -> None:
    intake, _ = stores
    small = MailIntake(intake.triage, intake.store, max_bytes=3_000)
    _append(imap, "Big", ["03-apple", "01-gmail"])  # 03 carries a 2 kB screenshot
    config = _config(imap, "Big", done_folder="Big-Done", skipped_folder="Big-Skipped")
    report = MailPoller(small, config).poll_once()
    assert (report.triaged, report.skipped, report.failed) == (1, 1, 0)
    with _box(imap) as box:
        box.folder.set("Big-Skipped")
        assert [m.attachments[0].filename for m in box.fetch()] == ["screenshot.png"]


def test_the_worker_loop_keeps_polling_after_a_mailbox_error(
    imap: ImapServer,
    stores: tuple[MailIntake, TriagedStore],
    caplog: pytest.LogCaptureFixture,
) -> None:
    intake, _ = stores
    _append(imap, "Loop", ["01-gmail"])
    good = _config(imap, "Loop", done_folder="Loop-Done")
    unreachable = MailboxConfig(**{**good.__dict__, "port": imap.imap_port + 1})
    poller = MailPoller(intake, unreachable)
    real_poll, polls = poller.poll_once, []

    def poll_once(limit: int | None = None) -> PollReport:
        polls.append(poller.config.password)
        try:
            return real_poll(limit=limit)
        finally:
            poller.config = good  # the server is back

    poller.poll_once = poll_once  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR):
        poller.run(0.01, lambda: len(polls) >= 2)
    assert "unreachable" in caplog.text  # the first poll failed, and was logged
    with _box(imap) as box:
        box.folder.set("Loop-Done")
        assert len(list(box.fetch())) == 1  # the second one triaged and moved it


# Last: after a refused login dovecot slows the next logins from the address down.
def test_starttls_works_and_a_wrong_password_is_not_logged(
    imap: ImapServer,
    stores: tuple[MailIntake, TriagedStore],
    caplog: pytest.LogCaptureFixture,
) -> None:
    intake, _ = stores
    _append(imap, "Tls", ["25-gmail"])
    starttls = _config(imap, "Tls", security="starttls")
    starttls = MailboxConfig(**{**starttls.__dict__, "port": imap.imap_port})
    assert MailPoller(intake, starttls).poll_once().triaged == 1
    wrong = MailboxConfig(**{**starttls.__dict__, "password": "hunter2-wrong"})
    caplog.set_level(logging.DEBUG)
    with pytest.raises(MailboxError) as raised:
        MailPoller(intake, wrong).poll_once()
    assert "hunter2-wrong" not in str(raised.value)
    assert "hunter2-wrong" not in caplog.text
    assert "hunter2-wrong" not in repr(wrong)


def test_the_worker_thread_triages_mail_like_the_api_with_similar_tickets(
    imap: ImapServer, service: TriageService, artifact_dir: Path, tmp_path: Path
) -> None:
    from triage.cli.serve import _mail_poller
    from triage.service.lifecycle import ModelLifecycle
    from triage.settings import Settings
    from triage.store.events import EventStore
    from triage.store.records import Status, TicketRecord

    settings = Settings(
        models_dir=artifact_dir.parent,
        data_dir=tmp_path / "var",
        mail_imap_host=imap.host,
        mail_imap_port=imap.imaps_port,
        mail_imap_user=imap.user,
        mail_imap_password=imap.password,
        mail_imap_ca_file=imap.ca_file,
        mail_imap_folder="Worker",
        mail_imap_done_folder="Worker-Done",
        mail_poll_seconds=0.1,
    )
    _append(imap, "Worker", ["01-gmail"])
    with Database.from_settings(settings) as database:
        database.upgrade()
        lifecycle = ModelLifecycle(settings, database)
        similar = lifecycle.start(service).similar
        assert similar is not None
        resolved = TicketRecord("R1", "VPN drops every 10 minutes", "VPN keeps disconnecting")
        similar.add([resolved])
        stop = _mail_poller(settings, database, lifecycle)  # the worker's own thread
        store, queue = MailStore(database), TriagedStore(database)
        try:  # the message's record is stored after its ticket is queued
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not (
                queue.recent() and store.thread(queue.recent()[0].ticket_id)
            ):
                time.sleep(0.1)
        finally:
            stop.set()
        ticket_id = queue.recent()[0].ticket_id
        assert [m.subject for m in store.thread(ticket_id)] == ["VPN disconnects every 10 minutes"]
        # As /v1/triage: the similar tickets searched (the best match's score recorded with
        # the triage), the ticket remembered as open for duplicate detection.
        triaged = [e for e in EventStore(database).events_of(ticket_id) if e.match_score]
        assert [(e.kind.value, e.source, e.channel) for e in triaged] == [
            ("triaged", "email", None)
        ]
        remembered = similar.store.get(ticket_id)
        assert remembered is not None
        assert remembered.record.status is Status.OPEN
        lifecycle.close()
