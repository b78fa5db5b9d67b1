"""Tickets wrapped as the mail clients people use would send them.

Used twice: ``tests/fixtures/mail/generate.py`` writes the cleaning fixtures with it, and
``benchmarks/mail_cleaning.py`` wraps held-out tickets in reply chains to measure what the
wrapping costs the classifier. Each shape follows the client's real output: Gmail's
``On … wrote:`` and ``---------- Forwarded message ---------``, Outlook's ``From:/Sent:``
block under a rule (``Dari:/Dikirim:`` in Indonesian), Apple Mail's ``Begin forwarded
message:``, Thunderbird's ``-------- Forwarded Message --------`` and ``-- `` signatures,
with their MIME structure (alternative parts, quoted-printable, base64, charsets).
"""

from __future__ import annotations

import html
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

CLIENTS = ("gmail", "outlook", "apple", "thunderbird")
HELPDESK = "Helpdesk IT <helpdesk@example.com>"
_DATE = datetime(2024, 6, 3, 9, 12, tzinfo=UTC)

_PREVIOUS = {
    "en": [
        "Hello,\n\nThank you for contacting the IT helpdesk. Could you tell us your asset tag "
        "and since when the problem occurs?\n\nBest regards,\nIT Helpdesk",
        "Hi,\n\nWe have reset the settings on our side. Please try again and let us know.\n\n"
        "Kind regards,\nService Desk",
    ],
    "id": [
        "Halo,\n\nTerima kasih telah menghubungi helpdesk IT. Mohon informasikan nomor aset "
        "dan sejak kapan masalah terjadi.\n\nSalam,\nHelpdesk IT",
        "Selamat siang,\n\nKami sudah melakukan reset dari sisi kami. Silakan dicoba kembali."
        "\n\nHormat kami,\nService Desk",
    ],
}
_CLOSINGS = {
    "en": ["Thanks,", "Best regards,", "Kind regards,", "Regards,", "Thank you,", "Cheers,"],
    "id": ["Terima kasih,", "Salam,", "Hormat saya,", "Terima kasih banyak,", "Salam hangat,"],
}
_SIGNATURE_LINES = {
    "en": ["Finance Department | ACME Corp", "Tel: +1 555 0100 ext. 231", "www.acme.example"],
    "id": ["Divisi Keuangan | PT Maju Bersama", "Telp: +62 21 555 0100", "Jakarta Selatan"],
}
MOBILE = {
    "en": [
        "Sent from my iPhone",
        "Sent from my Samsung Galaxy smartphone.",
        "Get Outlook for Android",
    ],
    "id": [
        "Dikirim dari iPhone saya",
        "Dikirim dari ponsel Samsung Galaxy saya.",
        "Dapatkan Outlook untuk Android",
    ],
}
DISCLAIMERS = {
    "en": (
        "CONFIDENTIALITY NOTICE: This e-mail and any attachments are confidential and intended "
        "solely for the addressee. If you have received it in error, please notify the sender "
        "and delete it.\nACME Corp accepts no liability for any damage caused by this email."
    ),
    "id": (
        "PERHATIAN: Email ini dan lampirannya bersifat rahasia dan hanya ditujukan kepada "
        "penerima yang dimaksud. Jika Anda bukan penerima yang dimaksud, mohon segera "
        "memberitahu pengirim dan menghapus email ini."
    ),
}


@dataclass(frozen=True)
class Person:
    name: str
    address: str

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>"


@dataclass
class Shape:
    """How one ticket is sent: client, reply or forward, and what is added around it."""

    client: str
    language: str = "en"
    kind: str = "new"  # new | reply | forward
    closing: bool = True
    signature: bool = True
    mobile: bool = False
    disclaimer: bool = False
    html: str = "alternative"  # plain | alternative | html-only
    charset: str = "utf-8"
    encoding: str = "quoted-printable"  # 8bit | quoted-printable | base64
    attachments: Sequence[tuple[str, str, int]] = field(default_factory=tuple)
    note: str = ""  # a forwarder's note above the forwarded ticket


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.strip().split("\n\n") if p.strip()]


def _quote(text: str) -> str:
    return "\n".join(">" if not line else f"> {line}" for line in text.split("\n"))


def _when(language: str, client: str) -> str:
    if language == "id":
        return {
            "gmail": "Pada tanggal Sen, 3 Jun 2024 pukul 09.12",
            "apple": "Pada 3 Jun 2024, pukul 09.12,",
            "thunderbird": "Pada 03/06/24 09.12,",
        }.get(client, "Pada Senin, 3 Juni 2024")
    return {
        "gmail": "On Mon, Jun 3, 2024 at 9:12 AM",
        "apple": "On 3 Jun 2024, at 09:12,",
        "thunderbird": "On 6/3/24 09:12,",
    }.get(client, "On Monday, June 3, 2024")


def reply_header(client: str, language: str, who: str, subject: str) -> str:
    """The line or block a client writes above the message it quotes."""
    if client == "outlook":
        if language == "id":
            return (
                f"________________________________\nDari: {who}\n"
                f"Dikirim: Senin, 03 Juni 2024 09.12\nKepada: Budi Santoso\nSubjek: {subject}"
            )
        return (
            f"________________________________\nFrom: {who}\n"
            f"Sent: Monday, June 3, 2024 9:12 AM\nTo: Ann Lee\nSubject: {subject}"
        )
    verb = "menulis:" if language == "id" else "wrote:"
    name = who if client != "thunderbird" else who.split(" <")[0]
    return f"{_when(language, client)} {name} {verb}"


def forward_header(client: str, language: str, sender: Person, subject: str) -> str:
    """The block a client writes above the message it forwards."""
    if client == "gmail":
        title = "Pesan yang diteruskan" if language == "id" else "Forwarded message"
        return (
            f"---------- {title} ---------\nFrom: {sender}\n"
            f"Date: Mon, Jun 3, 2024 at 8:40 AM\nSubject: {subject}\nTo: <helpdesk@example.com>"
        )
    if client == "apple":
        return (
            f"Begin forwarded message:\n\nFrom: {sender}\nSubject: {subject}\n"
            f"Date: 3 June 2024 at 08:40:00 WIB\nTo: helpdesk@example.com"
        )
    if client == "thunderbird":
        return (
            f"-------- Forwarded Message --------\nSubject: \t{subject}\n"
            f"Date: \tMon, 3 Jun 2024 08:40:00 +0700\nFrom: \t{sender}\nTo: \thelpdesk@example.com"
        )
    return reply_header("outlook", language, str(sender), subject)


def compose_body(
    ticket: str, shape: Shape, sender: Person, subject: str, rng: random.Random
) -> str:
    """The plain-text body a client writes for ``ticket`` in ``shape``."""
    lang = shape.language
    own = [ticket.strip()]
    first = sender.name.split()[0]
    if shape.closing:
        own.append(f"{rng.choice(_CLOSINGS[lang])}\n{first}")
    if shape.signature:
        if shape.client == "thunderbird":
            own.append(f"-- \n{sender.name}\n{_SIGNATURE_LINES[lang][0]}")
        elif shape.closing:
            own[-1] = f"{own[-1]} {sender.name.split()[-1]}\n" + "\n".join(_SIGNATURE_LINES[lang])
    if shape.mobile:
        own.append(rng.choice(MOBILE[lang]))
    if shape.disclaimer:
        own.append(DISCLAIMERS[lang])
    text = "\n\n".join(own)
    if shape.kind == "reply":
        previous = rng.choice(_PREVIOUS[lang])
        header = reply_header(shape.client, lang, HELPDESK, subject)
        quoted = previous if shape.client == "outlook" else _quote(previous)
        text = f"{text}\n\n{header}\n\n{quoted}\n"
    elif shape.kind == "forward":
        forwarder = shape.note or ("Tolong dibantu." if lang == "id" else "Please see below.")
        header = forward_header(shape.client, lang, sender, subject)
        text = f"{forwarder}\n\n{header}\n\n{text}\n"
    return text


def _html(text: str, shape: Shape) -> str:
    blocks = []
    for paragraph in _paragraphs(text):
        lines = [html.escape(line) for line in paragraph.split("\n")]
        if paragraph.startswith(">"):
            inner = "<br>".join(line.removeprefix("&gt;").lstrip() for line in lines)
            style = "margin:0 0 0 .8ex;border-left:1px #ccc solid"
            blocks.append(f'<blockquote style="{style}">{inner}</blockquote>')
        elif shape.client == "outlook" and paragraph.startswith("____"):
            blocks.append(
                '<div id="divRplyFwdMsg" dir="ltr"><hr style="display:inline-block;width:98%">'
                + "<br>".join(
                    f"<b>{row.split(':', 1)[0]}:</b>{row.split(':', 1)[1]}" if ":" in row else row
                    for row in lines[1:]
                )
                + "</div>"
            )
        else:
            blocks.append(f'<div dir="ltr">{"<br>".join(lines)}</div>')
    style = "<style>p{margin:0} .x{color:#333}</style>" if shape.client == "outlook" else ""
    pixel = '<img src="https://tracker.example.net/open.gif?id=42" width="1" height="1" alt="">'
    return (
        f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={shape.charset}">'
        f"{style}</head><body>" + "\n<div><br></div>\n".join(blocks) + f"{pixel}</body></html>"
    )


def build_message(
    ticket: str,
    subject: str,
    shape: Shape,
    sender: Person,
    *,
    rng: random.Random,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    extra_headers: Sequence[tuple[str, str]] = (),
) -> bytes:
    """One message's bytes, as ``shape.client`` would send ``ticket``."""
    prefix = {"reply": "RE: " if shape.client == "outlook" else "Re: ", "forward": "Fwd: "}
    if shape.kind == "forward" and shape.client == "outlook":
        prefix["forward"] = "FW: "
    full_subject = prefix.get(shape.kind, "") + subject
    body = compose_body(
        ticket, shape, sender, full_subject if shape.kind == "reply" else subject, rng
    )
    message = EmailMessage()
    message["From"] = str(sender)
    message["To"] = HELPDESK
    message["Subject"] = full_subject
    message["Date"] = format_datetime(_DATE + timedelta(minutes=rng.randrange(0, 5000)))
    message["Message-ID"] = message_id or make_msgid(domain=sender.address.split("@")[1])
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message["MIME-Version"] = "1.0"
    for name, value in extra_headers:
        message[name] = value
    agent = {
        "outlook": ("X-Mailer", "Microsoft Outlook 16.0"),
        "thunderbird": ("User-Agent", "Mozilla Thunderbird 115.11.0"),
        "apple": ("X-Mailer", "iPhone Mail (21F90)"),
    }.get(shape.client)
    if agent:
        message[agent[0]] = agent[1]
    if shape.html == "html-only":
        message.set_content(
            _html(body, shape), subtype="html", charset=shape.charset, cte=shape.encoding
        )
    else:
        message.set_content(body, charset=shape.charset, cte=shape.encoding)
        if shape.html == "alternative":
            message.add_alternative(
                _html(body, shape), subtype="html", charset=shape.charset, cte=shape.encoding
            )
    for name, content_type, size in shape.attachments:
        maintype, subtype = content_type.split("/")
        if maintype == "text":
            line = b"2024-06-03 09:12:44 ERROR [auth] token refresh failed: 401 Unauthorized\n"
            content = (line * (size // len(line) + 1))[:size]
            message.add_attachment(content.decode(), subtype=subtype, filename=name)
        else:
            header = b"\x89PNG\r\n\x1a\n" if subtype == "png" else b"%PDF-1.7\n"
            content = header + bytes(rng.getrandbits(8) for _ in range(size - len(header)))
            message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes(policy=SMTP)


def random_shape(rng: random.Random, language: str) -> Shape:
    """A plausible way for a ticket to arrive: for the benchmark's e-mail-wrapped tickets."""
    client = rng.choice(CLIENTS)
    return Shape(
        client=client,
        language=language,
        kind=rng.choice(("new", "reply", "reply", "forward")),
        closing=rng.random() < 0.85,
        signature=rng.random() < 0.6,
        mobile=rng.random() < 0.25,
        disclaimer=rng.random() < 0.3,
        html=rng.choice(("plain", "alternative", "alternative", "html-only")),
    )
