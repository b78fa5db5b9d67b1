"""triage.core.mail: every fixture of tests/fixtures/mail cleaned to its expected text."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.core.mail import clean_mail, thread_subject
from triage.core.mail.charsets import decode_text
from triage.core.mail.html_text import html_to_text

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mail"
EMLS = sorted(FIXTURES.glob("*.eml"))


def test_the_corpus_has_sixty_messages_or_more_with_expectations() -> None:
    assert len(EMLS) >= 60
    assert all((FIXTURES / f"{eml.stem}.expected.txt").exists() for eml in EMLS)
    kinds = {eml.stem.split("-", 1)[1] for eml in EMLS}
    for client in ("gmail", "outlook", "apple", "thunderbird"):
        for kind in ("reply", "forward"):
            assert any(k.startswith(client) and kind in k for k in kinds), (client, kind)


@pytest.mark.parametrize("eml", EMLS, ids=[eml.stem for eml in EMLS])
def test_fixture_cleans_to_its_expected_text(eml: Path) -> None:
    expected = (FIXTURES / f"{eml.stem}.expected.txt").read_text(encoding="utf-8").strip()
    cleaned = clean_mail(eml.read_bytes())
    got = f"[not a ticket] {cleaned.skipped}" if cleaned.skipped else cleaned.text
    assert got == expected


def test_attachments_are_listed_by_name_type_and_size_not_kept() -> None:
    cleaned = clean_mail((FIXTURES / "03-apple-en-new-html.eml").read_bytes())
    [attachment] = cleaned.mail.attachments
    assert (attachment.name, attachment.content_type) == ("screenshot.png", "image/png")
    assert attachment.size == 2048
    assert "PNG" not in cleaned.text


def test_attachment_list_is_capped_and_the_rest_counted() -> None:
    parts = "".join(
        f'--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="f{i}.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjcK\r\n"
        for i in range(60)
    )
    raw = (
        "From: a@example.com\r\nSubject: many files\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nSee the files.\r\n" + parts + "--B--\r\n"
    ).encode()
    cleaned = clean_mail(raw)
    assert len(cleaned.mail.attachments) == 50
    assert cleaned.mail.attachments_omitted == 10
    assert cleaned.mail.attachments[0].size == 9
    assert cleaned.text == "See the files."


def test_html_conversion_fetches_nothing_and_drops_scripts() -> None:
    text = html_to_text(
        '<html><head><style>b{}</style><script>fetch("https://x")</script></head>'
        '<body><p>Printer <b>down</b></p><img src="https://tracker.example/p.gif">'
        "<ul><li>one</li><li>two</li></ul><p>A&amp;B&nbsp;ok</p></body></html>"
    )
    assert text == "Printer down\n\n- one\n- two\n\nA&B ok"


@pytest.mark.parametrize(
    ("data", "declared", "expected"),
    [
        ("café".encode("cp1252"), "iso-8859-1", "café"),
        ("café".encode(), "iso-8859-1", "café"),
        ("it’s".encode("cp1252"), "utf-8", "it’s"),
        ("it’s".encode("cp1252"), None, "it’s"),
        (b"ok \xff\xfe ok", "x-made-up", "ok ÿþ ok"),
        ("ščř".encode("iso-8859-2"), "iso-8859-2", "ščř"),
    ],
)
def test_declared_and_undeclared_charsets(data: bytes, declared: str | None, expected: str) -> None:
    assert decode_text(data, declared) == expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("RE: Fwd: VPN drops", "VPN drops"),
        ("Balas: Terusan: Printer macet", "Printer macet"),
        ("FW: RE[2]: Outlook", "Outlook"),
        ("Return of laptop", "Return of laptop"),
    ],
)
def test_the_thread_subject_has_no_reply_prefixes(subject: str, expected: str) -> None:
    assert thread_subject(subject) == expected


def test_hostile_structure_is_set_aside_and_long_bodies_are_bounded() -> None:
    depth = 1100
    raw = (
        b"Subject: deep\r\nMessage-ID: <deep@x>\r\nMIME-Version: 1.0\r\n"
        + b"".join(
            f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode()
            for i in range(depth)
        )
        + b"Content-Type: text/plain\r\n\r\nhello\r\n"
    )
    cleaned = clean_mail(raw)
    assert cleaned.skipped == "more than 100 MIME multiparts, or nested too deeply to read"
    assert cleaned.mail.message_id == "<deep@x>"
    quoted = clean_mail(b"Subject: x\r\n\r\nThe VPN drops.\n" + b"> old\n" * 10_000)
    assert quoted.text == "The VPN drops."


def test_a_message_without_body_or_headers_does_not_fail() -> None:
    cleaned = clean_mail(b"\r\n")
    assert cleaned.text == ""
    assert cleaned.mail.message_id is None
    assert cleaned.skipped is None
