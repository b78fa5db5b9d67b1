"""HTML mail as plain text: tags dropped, blocks on lines of their own, nothing fetched.

Only the text is kept: images, styles, scripts and remote references are never followed
(the parser sees a URL as an attribute string and drops it). Quoted history is kept as text
so the reply splitter finds its "On … wrote:" header like in a plain-text part.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SKIPPED = {"script", "style", "head", "title", "template", "noscript", "xml", "svg", "object"}
_BLOCKS = {"p", "div", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCKS |= {"blockquote", "pre", "section", "article", "header", "footer", "center", "dl", "dd"}
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b\u200c\u200d\ufeff]+")
_BLANKS = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag == "hr":
            self.parts.append("\n\n")
        elif tag in _BLOCKS:
            self.parts.append("\n\n" if tag in ("p", "blockquote", "table") else "\n")
        if tag == "pre":
            self._pre += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr"):
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n\n" if tag in ("p", "blockquote", "table") else "\n")
        if tag == "pre":
            self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        self.parts.append(data if self._pre else re.sub(r"\s+", " ", data))


def html_to_text(markup: str) -> str:
    """The readable text of an HTML document or fragment."""
    collector = _TextCollector()
    collector.feed(markup)
    collector.close()
    text = _SPACES.sub(" ", "".join(collector.parts))
    lines = [line.strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()
