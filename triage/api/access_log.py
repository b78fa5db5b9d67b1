"""Secrets out of the access log: a key sent in a query string is not written down.

Keys belong in headers, but a client may send ``?api_key=…`` (or the staff page's sign-in
form may be sent as a GET by a careless script); uvicorn's access log writes the whole path
with its query. :class:`SecretQueryFilter`, installed on the ``uvicorn.access`` logger when the
app is built, replaces the value of any query parameter whose name says key, token, secret,
password or signature with ``***``.
"""

from __future__ import annotations

import logging
import re

_SECRET = re.compile(
    r"(?i)([?&](?:[\w.-]*(?:key|token|secret|password|passwd|signature|sig)[\w.-]*)=)[^&#\s]*"
)


def scrub(path: str) -> str:
    """``path`` with the values of secret-looking query parameters replaced by ``***``."""
    return _SECRET.sub(r"\1***", path) if "=" in path else path


class SecretQueryFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], scrub(args[2]), *args[3:])
        return True


def install() -> None:
    """Add the filter to uvicorn's access logger, once."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, SecretQueryFilter) for f in access.filters):
        access.addFilter(SecretQueryFilter())
