"""PII redaction: what is replaced, and the ordinary ticket text that must survive untouched."""

from __future__ import annotations

import time

import pytest

from triage.core.redaction import redact_pii

REDACTED = [
    # e-mail addresses
    ("Contact me at john.doe@example.com please", "Contact me at [email] please"),
    ("Email saya budi_santoso+it@kantor.co.id, thanks", "Email saya [email], thanks"),
    ("Reply to <a href='mailto:a.b@c-d.org'>me</a>", "Reply to <a href='mailto:[email]'>me</a>"),
    # international numbers
    ("Call +62 812-3456-7890 today", "Call [phone] today"),
    ("Hubungi +6281234567890.", "Hubungi [phone]."),
    ("US desk +1 (555) 123-4567", "US desk [phone]"),
    ("London +44 20 7946 0958, Berlin +49 (0)30 1234567", "London [phone], Berlin [phone]"),
    # Indonesian national formats
    ("HP saya 0812-3456-7890", "HP saya [phone]"),
    ("nomor 081234567890 ya", "nomor [phone] ya"),
    ("kantor (021) 5551234 ext 12", "kantor [phone] ext 12"),
    ("telepon 021-5551234", "telepon [phone]"),
    ("wa 0812 3456 7890", "wa [phone]"),
    ("no hp 62 812 3456 7890", "no hp [phone]"),
    ("Telp: 5551234", "Telp: [phone]"),
    # US and European national formats
    ("call 555-123-4567 or (555) 123-4567", "call [phone] or [phone]"),
    ("toll free 1-800-555-1234", "toll free [phone]"),
    ("Paris 06 12 34 56 78", "Paris [phone]"),
    ("Phone: 030 1234567", "Phone: [phone]"),
    # names in signatures, English and Indonesian
    ("Printer jams.\n\nThanks,\nJohn Smith\nIT Dept", "Printer jams.\n\nThanks,\n[name]\nIT Dept"),
    ("VPN down.\nBest regards,\n\nJane O'Neil", "VPN down.\nBest regards,\n\n[name]"),
    ("VPN down.\nRegards, Jane Doe", "VPN down.\nRegards, [name]"),
    ("Mohon bantuannya.\nTerima kasih,\nBudi Santoso", "Mohon bantuannya.\nTerima kasih,\n[name]"),
    ("Printer rusak.\nHormat saya,\nDewi Lestari", "Printer rusak.\nHormat saya,\n[name]"),
    ("Salam,\nPak Ahmad bin Yusuf", "Salam,\n[name]"),
    ("Kind regards<br>John Smith<br>Acme", "Kind regards<br>[name]<br>Acme"),
    # Indonesian identity and tax numbers, bank accounts (issue 24)
    ("NIK saya 3174051208900003 mohon dicek", "NIK saya [nik] mohon dicek"),
    ("KTP: 3201234507991234", "KTP: [nik]"),
    ("data 3174055208900003 (KTP istri)", "data [nik] (KTP istri)"),  # a woman's: day + 40
    ("NPWP 12.345.678.9-012.345", "NPWP [npwp]"),
    ("npwp kantor 01.234.567.8-901.000 ya", "npwp kantor [npwp] ya"),
    ("npwp: 123456789012345", "npwp: [npwp]"),
    ("transfer ke no rek BCA 1234567890 a.n. Budi", "transfer ke no rek BCA [account] a.n. Budi"),
    ("Nomor rekening: 0123-01-012345-50-1", "Nomor rekening: [account]"),
    ("Bank account no: 12345678", "Bank account no: [account]"),
    ("pay to a/c 0012 3456 7890", "pay to a/c [account]"),
    # closing phrases that begin with a shorter one, and names with titles (issue 24)
    ("Mohon dibantu.\nSalam hangat,\nBudi Santoso", "Mohon dibantu.\nSalam hangat,\n[name]"),
    ("VPN down.\nThanks a lot,\nJohn Smith", "VPN down.\nThanks a lot,\n[name]"),
    ("Terima kasih banyak,\nSiti Aminah", "Terima kasih banyak,\n[name]"),
    ("Hormat saya,\nIr. Budi Santoso, M.T.", "Hormat saya,\n[name]"),
    ("Regards,\nDr. Jane Doe, Ph.D.", "Regards,\n[name]"),
    ("Salam,\nDrs. H. Ahmad Yani, S.Kom., M.M.", "Salam,\n[name]"),
    # everything at once
    (
        "Laptop won't boot.\nThanks,\nAna Lima\nana.lima@example.com | +351 912 345 678",
        "Laptop won't boot.\nThanks,\n[name]\n[email] | [phone]",
    ),
]

UNCHANGED = [
    "serial 1234567890123456 and asset 3174059908900003",  # no date inside: not a NIK
    "account locked after 3 tries; rekening statement for 2024",
    "g/l account 23646112 does not exist; acct #81254672; customer account 81053922",
    "order 0123456789, PO 4500012345, invoice 20240501-0001",
    "Server 192.168.1.10 and 10.0.0.254 unreachable since 2024-05-01 10:30",
    "Windows 10.0.19045.3803, Office 16.0.17328.20162, python 3.11.4, v2.10.1",
    "error 0x80070005 after KB5034441; ORA-12541; HTTP 500; ERR_CONNECTION_REFUSED",
    "Ticket INC0012345, TKT-2024-000123, #123456789, order 0123456789",
    "tanggal 01/05/2024, 05-01-2024 12:00, 01.05.2024 10:30, jam 08:30",
    "MAC 08-00-27-12-34-56, UUID 550e8400-e29b-41d4-a716-446655440000",
    "HP LaserJet 1020 and HP 1020 1022 1018 models; port 8080; VLAN 10 20 30",
    "Tagihan Rp 1.500.000 dan Rp 12.500.000,00 belum masuk",
    "Thanks, the printer works now.",
    "With regards to the VPN issue, please reset it.",
    "Terima kasih atas bantuannya, printernya sudah jalan.",
    "Thanks\nplease help asap",
    "clone git via ssh, user@localhost, pkg@1.2.3",
    "",
]


@pytest.mark.parametrize(("text", "expected"), REDACTED)
def test_personal_data_is_replaced(text: str, expected: str) -> None:
    assert redact_pii(text) == expected


@pytest.mark.parametrize("text", UNCHANGED)
def test_ordinary_ticket_text_is_left_alone(text: str) -> None:
    assert redact_pii(text) == text


def test_nothing_to_redact_in_none() -> None:
    assert redact_pii(None) is None


def test_redaction_is_idempotent() -> None:
    once = redact_pii(REDACTED[-1][0])
    assert redact_pii(once) == once


def test_hostile_text_takes_milliseconds_not_minutes() -> None:
    # Each run of digits once cost the phone rules a second of backtracking, and a line of
    # spaces the closing-line rule 16 s.
    hostile = ("+" + "1" * 90 + "x " + "0812" + "3" * 28 + "x ") * 80 + " " * 15_000 + "x"
    started = time.perf_counter()
    assert redact_pii(hostile) == hostile
    assert time.perf_counter() - started < 5.0
