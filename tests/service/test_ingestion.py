"""Resolved-ticket ingestion's records, the visibility rule, and tickets from their JSON form."""

from datetime import UTC, datetime

import pytest

from triage.service import Ticket
from triage.service.ingestion import resolved_record
from triage.store.records import TicketRecord, Visibility

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_an_unknown_visibility_is_refused() -> None:
    with pytest.raises(ValueError, match="'secret' is not a valid Visibility"):
        resolved_record("a", now=NOW, body="x", visibility="secret")


@pytest.mark.parametrize(
    ("visibility", "internal", "hidden"),
    [
        (Visibility.INTERNAL, False, True),
        (Visibility.INTERNAL, True, False),
        (Visibility.PUBLIC, False, False),
    ],
)
def test_an_internal_resolution_is_hidden_from_readers_who_may_not_see_it(
    visibility: Visibility, internal: bool, hidden: bool
) -> None:
    record = TicketRecord("a", resolution="restart", visibility=visibility)
    assert record.hides_resolution_from(internal=internal) is hidden


def test_a_ticket_from_its_json_form_leaves_absent_fields_empty() -> None:
    assert Ticket.from_dict({"body": "vpn down", "metadata": None}) == Ticket(body="vpn down")
    full = {"subject": "s", "body": "b", "id": "T1", "metadata": {"queue": "it"}}
    assert Ticket.from_dict(full) == Ticket("s", "b", "T1", {"queue": "it"})


def test_a_resolved_record_defaults_to_now_no_tenant_and_public() -> None:
    record = resolved_record("a", now=NOW, body="disk full")
    assert (record.resolved_at, record.tenant, record.visibility) == (NOW, "", Visibility.PUBLIC)
