"""``libreoffice-help``: LibreOffice's help pages in Chinese (Debian ``libreoffice-help-zh-cn``).

The pages are HTML rendered from XHP; the stdlib ``html.parser`` keeps the text of the page body
and leaves out what every page repeats (``<head>``, the ``<header>`` bar, the index ``<aside>``,
the debug ``<footer>``) and scripts. A block element (paragraph, heading, list item, table cell)
ends a line, so a line is one paragraph.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator

from pinhan.errors import DataError

SKIPPED = frozenset({"head", "header", "aside", "footer", "script", "style", "noscript", "title", "nav"})
BLOCKS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "td", "th", "div", "br", "tr", "dt", "dd",
                    "pre", "table", "ul", "ol", "section", "body"})
VOID = frozenset({"br", "img", "meta", "link", "input", "hr", "base", "wbr"})


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip_depth = 0  # inside this many skipped elements
        self.parts: list[str] = []
        self.lines: list[str] = []

    def _flush(self) -> None:
        text = " ".join("".join(self.parts).split())
        if text:
            self.lines.append(text)
        self.parts = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in SKIPPED and tag not in VOID:
            self.skip_depth += 1
        elif tag in BLOCKS and not self.skip_depth:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED and tag not in VOID:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in BLOCKS and not self.skip_depth:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self.skip_depth:
            self.parts.append(data)


def page_lines(html: str) -> list[str]:
    """The paragraphs of one help page, in order."""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    parser._flush()
    return parser.lines


def lines(root: Path) -> Iterator[str]:
    """Every paragraph of every .html/.xhp page under ``root``, pages in path order."""
    pages = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".html", ".xhp"))
    if not pages:
        raise DataError(f"no help pages (.html, .xhp) under {root}")
    for page in pages:
        try:
            yield from page_lines(page.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise DataError(f"help page {page} is not UTF-8") from None
