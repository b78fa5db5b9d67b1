"""A real dovecot IMAP server on loopback, with its own config in a directory and TLS: for the
IMAP poller's tests and benchmarks/mail_cleaning.py's throughput.

``make imap-server`` (run by ``make test``) installs Debian's dovecot-imapd where it is
missing; without it the tests that need it are skipped with the reason.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "support", "s3cret-imap-pw"


@dataclass(frozen=True)
class ImapServer:
    host: str
    imaps_port: int
    imap_port: int  # STARTTLS
    ca_file: Path
    user: str = USER
    password: str = PASSWORD


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(root: Path, imap_port: int, imaps_port: int) -> str:
    if os.getuid() == 0:  # dovecot refuses root as the mail user
        mail_user, internal, login = "nobody", "dovecot", "dovenull"
    else:
        mail_user = internal = login = pwd.getpwuid(os.getuid()).pw_name
    account = pwd.getpwnam(mail_user)
    mail = root / "mail"
    mail.mkdir()
    os.chown(mail, account.pw_uid, account.pw_gid)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
auth_mechanisms = plain
auth_failure_delay = 0
first_valid_uid = 1
default_internal_user = {internal}
default_login_user = {login}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={account.pw_uid} gid={account.pw_gid} home={mail}/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    port = {imap_port}
    address = 127.0.0.1
  }}
  inet_listener imaps {{
    port = {imaps_port}
    address = 127.0.0.1
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dovecot exited: {log.read_text() if log.exists() else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("dovecot did not listen within 15 s")


@contextmanager
def running_dovecot(root: Path) -> Iterator[ImapServer]:
    """dovecot with its own config under ``root``, on two free loopback ports."""
    root.chmod(0o755)  # dovecot's own users (auth, login) read the certificate and passwd
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem"),
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    imap_port, imaps_port = _free_port(), _free_port()
    config = root / "dovecot.conf"
    config.write_text(_config(root, imap_port, imaps_port))
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_for(imaps_port, process, root / "dovecot.log")
        yield ImapServer("127.0.0.1", imaps_port, imap_port, root / "cert.pem")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
