"""Forward osTicket's incoming e-mail to triage (osTicket sends no webhooks of its own).

Put it in the mail pipe in front of osTicket: the MTA hands each message to this script, which
passes it on to osTicket's own pipe unchanged (so mail flow never depends on triage) and then
posts the ticket to triage as signed canonical JSON (``POST /v1/webhooks/generic``). The
Message-ID is the delivery id, so a message the MTA delivers twice is triaged once.

    # /etc/aliases (or your MTA's equivalent), one line:
    support: "|/usr/bin/env TRIAGE_URL=http://triage.internal:8000 \
        TRIAGE_SECRET_FILE=/etc/triage/generic.secret \
        /usr/bin/python3 /opt/triage/osticket_forward.py \
        --then '/usr/bin/php /var/www/osticket/api/pipe.php'"

Standard library only: copy this one file to the mail host. ``--dry-run`` prints the JSON.
The exit status is osTicket's (the MTA retries or bounces on its failure); a triage failure
is reported on stderr and never fails the delivery. See docs/integrations/osticket.md.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr
from typing import Any


def ticket_from_email(raw: bytes) -> dict[str, Any]:
    """Triage's canonical ticket from one raw e-mail (text part preferred over HTML)."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    message_id = str(message.get("Message-ID", "")).strip()
    if not message_id:
        message_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    body, body_format = "", "text"
    part = message.get_body(preferencelist=("plain", "html"))
    if part is not None:
        content = part.get_content()
        body = content if isinstance(content, str) else ""
        body_format = "html" if part.get_content_type() == "text/html" else "text"
    name, address = parseaddr(str(message.get("From", "")))
    return {
        "id": message_id[:200],
        "event": "email_received",
        "delivery_id": message_id[:200],
        "subject": str(message.get("Subject", "")).strip() or None,
        "body": body.strip() or None,
        "body_format": body_format,
        "requester": address or name or None,
        "metadata": {"channel": "osticket-email-pipe"},
    }


def signed_request(url: str, secret: str, ticket: dict[str, Any]) -> urllib.request.Request:
    """``POST /v1/webhooks/generic`` with triage's generic signature."""
    body = json.dumps(ticket, ensure_ascii=False).encode()
    stamp = str(int(time.time()))
    signature = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
    return urllib.request.Request(
        url.rstrip("/") + "/v1/webhooks/generic",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "triage-osticket-forward",
            "X-Triage-Timestamp": stamp,
            "X-Triage-Signature": "sha256=" + signature.hexdigest(),
            "X-Triage-Delivery": ticket["delivery_id"],
        },
    )


def post_to_triage(
    url: str, secret: str, ticket: dict[str, Any], *, attempts: int = 3, timeout: float = 5.0
) -> str:
    """Send the ticket (re-signed on each try); returns triage's delivery id."""
    error: Exception | None = None
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(signed_request(url, secret, ticket), timeout=timeout) as r:
                answer: dict[str, Any] = json.loads(r.read())
                return str(answer["id"])
        except urllib.error.HTTPError as exc:
            if exc.code < 500:  # refused (bad secret, bad ticket): a retry will not help
                raise RuntimeError(
                    f"triage refused the ticket: HTTP {exc.code} {exc.read()[:300]!r}"
                ) from exc
            error = exc
        except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
            error = exc
        time.sleep(0.5 * 2**attempt)
    raise RuntimeError(f"triage unreachable after {attempts} attempts: {error}")


def _secret(path: str | None) -> str:
    if path:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    return os.environ.get("TRIAGE_SECRET", "")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", default=os.environ.get("TRIAGE_URL", "http://127.0.0.1:8000"))
    parser.add_argument(
        "--secret-file",
        default=os.environ.get("TRIAGE_SECRET_FILE"),
        help="file holding triage's 'generic' webhook secret (else $TRIAGE_SECRET)",
    )
    parser.add_argument(
        "--then", help="command that receives the message next, e.g. osTicket's api/pipe.php"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the JSON, send nothing")
    args = parser.parse_args(argv)

    raw = sys.stdin.buffer.read()
    status = 0
    if args.then:
        # osTicket first: the mail must reach the helpdesk whatever happens to triage.
        status = subprocess.run(shlex.split(args.then), input=raw, check=False).returncode
    ticket = ticket_from_email(raw)
    if args.dry_run:
        print(json.dumps(ticket, indent=2, ensure_ascii=False))
        return status
    if not ticket["subject"] and not ticket["body"]:
        print("triage-forward: message has no subject or text; not sent", file=sys.stderr)
        return status
    try:
        delivery = post_to_triage(args.url, _secret(args.secret_file), ticket)
    except RuntimeError as exc:
        print(f"triage-forward: {exc}", file=sys.stderr)
    else:
        print(f"triage-forward: delivery {delivery} for {ticket['id']}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
