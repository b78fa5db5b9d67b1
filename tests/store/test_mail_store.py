"""E-mail received, on SQLite and PostgreSQL: once per Message-ID, threads, forgetting."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from triage.store.database import Database
from triage.store.mail import MailRecord, MailStore
from triage.store.schema import utcnow


@pytest.fixture
def store(database_url: str) -> Iterator[MailStore]:
    with Database(database_url) as database:
        database.upgrade()
        yield MailStore(database)


def _message(message_id: str, ticket_id: str | None, minutes: int = 0, **kw: object) -> MailRecord:
    return MailRecord(
        message_id=message_id,
        ticket_id=ticket_id,
        channel="api",
        sender="Ann <ann@example.com>",
        subject="VPN drops",
        text=f"text of {message_id}",
        attachments=[{"name": "a.png", "content_type": "image/png", "size": 10}],
        received_at=utcnow() + timedelta(minutes=minutes),
        **kw,  # type: ignore[arg-type]
    )


def test_a_message_id_is_stored_once_per_tenant(store: MailStore) -> None:
    _, created = store.add(_message("<m1@x>", "email-1", result={"id": "email-1"}))
    assert created
    again, created = store.add(_message("<m1@x>", "email-other"))
    assert not created
    assert again.ticket_id == "email-1"
    assert again.result == {"id": "email-1"}
    _, created = store.add(_message("<m1@x>", "email-2", tenant="acme"))
    assert created  # another tenant's mailbox


def test_a_reply_finds_its_ticket_and_the_thread_reads_in_order(store: MailStore) -> None:
    store.add(_message("<m1@x>", "email-1"))
    store.add(_message("<m2@x>", "email-1", minutes=5))
    store.add(_message("<ooo@x>", None, minutes=6, skipped="out-of-office reply"))
    assert store.ticket_of(["<unknown@x>", "<m2@x>"]) == "email-1"
    assert store.ticket_of(["<ooo@x>"]) is None  # set-aside mail opens no thread
    assert store.ticket_of(["<m1@x>"], tenant="acme") is None
    assert [m.message_id for m in store.thread("email-1")] == ["<m1@x>", "<m2@x>"]


def test_text_past_the_keep_period_is_emptied_as_new_mail_arrives(store: MailStore) -> None:
    store.add(_message("<old@x>", "email-1", minutes=-(91 * 24 * 60)))
    store.add(_message("<new@x>", "email-2"))
    old, new = store.get("<old@x>"), store.get("<new@x>")
    assert old is not None
    assert new is not None
    assert (old.ticket_id, old.text, old.sender) == ("email-1", None, None)
    assert new.text == "text of <new@x>"


def test_forgetting_keeps_ids_and_drops_text(store: MailStore) -> None:
    store.add(_message("<m1@x>", "email-1", result={"id": "email-1"}))
    assert store.forget("email-1") == 1
    kept = store.get("<m1@x>")
    assert kept is not None
    assert (kept.ticket_id, kept.text, kept.subject, kept.sender) == ("email-1", None, None, None)
    assert (kept.attachments, kept.result) == ([], None)
