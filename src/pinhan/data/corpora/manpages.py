"""``manpages``: Linux manual pages in Chinese (Debian ``manpages-zh``), the ``zh_CN`` tree only.

A simple groff (man macro) stripper instead of ``groff -Tutf8``: groff fills and wraps lines to a
page width and hyphenates, while a corpus wants one paragraph a line. Requests (lines starting
with ``.`` or ``'``) end a paragraph, except the font macros (``.B``, ``.I``, ``.BR``, ...), whose
words run on in it; section headings are lines of their own; escapes (``\\fB``, ``\\-``, ``\\(em``, ``\\*(xx``, ``\\&``) are
rewritten or dropped. Comments (``.\\"``) go.
"""

from __future__ import annotations

import gzip
import re
import shlex
from pathlib import Path
from typing import Iterator

from pinhan.errors import DataError

# font macros: their arguments are running text of the current paragraph (no break)
INLINE_MACROS = frozenset({"B", "I", "R", "SM", "SB", "BI", "BR", "IB", "IR", "RB", "RI"})
# headings: a line of their own; any other request breaks the paragraph (its arguments go,
# except a tagged paragraph's tag, which starts the next one)
HEADINGS = frozenset({"SH", "SS"})
TAGGED = frozenset({"IP", "TP"})
_NAMED = {"em": "—", "en": "–", "bu": "·", "co": "©", "rg": "®", "lq": "“", "rq": "”", "aq": "'", "dq": '"',
          "hy": "-", "mi": "-", "pl": "+", "mu": "×", "tm": "™", "oq": "‘", "cq": "’", "<=": "≤", ">=": "≥"}
_ESCAPE = re.compile(r"\\(?:f(?:\[[^]]*]|\(..|.)|s[+-]?\d|\*(?:\(..|\[[^]]*]|.)|\((..)|\[([^]]*)]|(.))")
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")


def unescape(text: str) -> str:
    """groff escapes -> text: fonts, sizes and strings dropped, named glyphs rendered."""
    def one(match: re.Match) -> str:
        named = match.group(1) or match.group(2)
        if named is not None:
            return _NAMED.get(named, "")
        char = match.group(3)
        if char is None:  # \f, \s, \* forms
            return ""
        return {"-": "-", "e": "\\", "\\": "\\", " ": " ", "~": " ", "0": " "}.get(char, "")
    return _ESCAPE.sub(one, text)


def _join(parts: list[str]) -> str:
    """groff joins input lines with a space; between two CJK characters that space is not text."""
    out = ""
    for part in parts:
        part = part.strip()
        if not part:
            continue
        if out and not (_CJK.match(out[-1]) and _CJK.match(part[0])):
            out += " "
        out += part
    return out


def _arguments(rest: str) -> str:
    """A macro's arguments as text: quotes grouping words removed, escapes rewritten."""
    try:
        words = shlex.split(rest, posix=True)
    except ValueError:  # an unbalanced quote: the words as they stand
        words = rest.split()
    return unescape(" ".join(words)).strip()


def page_lines(source: str) -> Iterator[str]:
    """One paragraph a line from the text of one man page."""
    para: list[str] = []
    for raw in source.splitlines():
        if raw.startswith(('.\\"', "'\\\"", '\\"')):
            continue
        if raw.startswith((".", "'")):
            macro, _, rest = raw[1:].strip().partition(" ")
            words = _arguments(rest) if macro in INLINE_MACROS | HEADINGS | TAGGED else ""
            if macro in INLINE_MACROS:
                para.append(words)
                continue
            if para:
                yield _join(para)
                para = []
            if macro in HEADINGS and words:
                yield words
            elif macro in TAGGED and words:
                para.append(words)
            continue
        if not raw.strip():
            if para:
                yield _join(para)
                para = []
            continue
        para.append(unescape(raw))
    if para:
        yield _join(para)


def lines(root: Path) -> Iterator[str]:
    """Every paragraph of every zh_CN page (gzipped or plain) under ``root``, pages in path order."""
    pages = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and "zh_CN" in p.parts)
    if not pages:
        raise DataError(f"no zh_CN manual pages under {root}")
    for page in pages:
        raw = gzip.decompress(page.read_bytes()) if page.name.endswith(".gz") else page.read_bytes()
        yield from page_lines(_decode(raw, page))


def _decode(raw: bytes, page: Path) -> str:
    for encoding in ("utf-8", "gb18030"):  # older pages of the package were GB-encoded
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DataError(f"manual page {page} is neither UTF-8 nor GB18030")
