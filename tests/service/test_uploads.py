"""Uploaded files become tickets without pandas, with the rules the jobs endpoint documents."""

from __future__ import annotations

import pytest

from triage.core.errors import DataValidationError
from triage.service.uploads import read_upload, tickets_from_bytes


def test_a_csv_keeps_id_subject_and_body_as_text_and_empty_cells_as_none() -> None:
    content = "\ufeffID, Subject ,body,extra\n007,VPN drops,,x\nINC-2,,Printer jams,y\n".encode()
    assert tickets_from_bytes(content, "csv") == [
        {"id": "007", "subject": "VPN drops", "body": None},
        {"id": "INC-2", "subject": None, "body": "Printer jams"},
    ]


def test_a_csv_cell_may_hold_commas_quotes_and_newlines() -> None:
    content = b'subject,body\n"Outlook, again","line one\nline ""two"""\n'
    assert tickets_from_bytes(content, "csv") == [
        {"id": None, "subject": "Outlook, again", "body": 'line one\nline "two"'}
    ]


def test_a_csv_row_with_more_fields_than_the_header_refuses_the_file() -> None:
    with pytest.raises(DataValidationError, match="line 3"):
        tickets_from_bytes(b"id,subject\n1,a\n2,b,c\n", "csv")


@pytest.mark.parametrize("content", [b"", b"\n", b"id,subject\n"])
def test_a_file_without_tickets_is_refused(content: bytes) -> None:
    with pytest.raises(DataValidationError):
        tickets_from_bytes(content, "csv")


def test_a_file_without_a_subject_or_body_column_is_refused() -> None:
    with pytest.raises(DataValidationError, match="needs a 'subject' or 'body' column"):
        tickets_from_bytes(b"id,title\n1,x\n", "csv")


def test_json_lines_turn_numbers_into_text_and_skip_blank_lines() -> None:
    content = b'{"id": 12, "subject": "VPN"}\n\n{"ID": "b", "body": "Printer", "x": 1}\n'
    assert tickets_from_bytes(content, "jsonl") == [
        {"id": "12", "subject": "VPN", "body": None},
        {"id": "b", "subject": None, "body": "Printer"},
    ]


@pytest.mark.parametrize("content", [b'{"subject": "a"\n', b"[1, 2]\n", b"\xff\xfe"])
def test_a_json_lines_file_that_cannot_be_read_is_refused_whole(content: bytes) -> None:
    with pytest.raises(DataValidationError, match="cannot be parsed"):
        tickets_from_bytes(content, "jsonl")


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(DataValidationError, match="unsupported upload format"):
        tickets_from_bytes(b"x", "xlsx")


WINDOWS_1252 = "id,subject,body\nT-1,Imprimante bloquée,Café renversé — clavier HS\n".encode(
    "cp1252"
)


def test_a_csv_in_windows_1252_is_detected_and_read_right() -> None:
    upload = read_upload(WINDOWS_1252, "csv")
    assert upload.tickets[0]["subject"] == "Imprimante bloquée"
    assert upload.tickets[0]["body"] == "Café renversé — clavier HS"
    assert (upload.encoding, upload.detected) == ("cp1252", True)
    assert read_upload(b"subject\nok\n", "csv").encoding == "utf-8"


def test_a_named_charset_is_used_and_a_wrong_one_says_what_to_do() -> None:
    named = read_upload(WINDOWS_1252, "csv", "windows-1252")
    assert (named.encoding, named.detected) == ("cp1252", False)
    with pytest.raises(DataValidationError, match=r"not valid utf-8 \(byte 0xe9 at offset"):
        read_upload(WINDOWS_1252, "csv", "utf-8")
    with pytest.raises(DataValidationError, match="unknown encoding 'klingon'"):
        read_upload(WINDOWS_1252, "csv", "klingon")
