"""``poetry``: classical poems, ci, qu and texts (npm ``chinese-poetry``), JSON files.

The files differ in shape (a list of poems, one object with a ``paragraphs`` list, collections
nesting sections), so the reader walks every JSON value: an object whose ``paragraphs`` /
``content`` / ``para`` is a list of strings is one poem, one line (its verses joined as written,
punctuation included); lists and nested objects are walked on. Author files hold ``desc`` only
and give nothing. About 29 % of the text is traditional: every line goes through OpenCC ``t2s``
(the rank / strains statistics and the errata are left out at fetch time).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from pinhan.errors import DataError

TEXT_KEYS = ("paragraphs", "content", "para")


def poems(value) -> Iterator[str]:
    """The poems of one parsed JSON value, in document order."""
    if isinstance(value, list):
        for item in value:
            yield from poems(item)
    elif isinstance(value, dict):
        for key in TEXT_KEYS:
            text = value.get(key)
            if isinstance(text, list) and text and all(isinstance(t, str) for t in text):
                yield "".join(t.strip() for t in text)
                return
            if isinstance(text, str) and text.strip():
                yield text.strip()
                return
        for item in value.values():
            if isinstance(item, (list, dict)):
                yield from poems(item)


def lines(root: Path) -> Iterator[str]:
    """Every poem of every JSON file under ``root`` (path order), converted to simplified."""
    import opencc

    files = sorted(p for p in root.rglob("*.json") if p.is_file())
    if not files:
        raise DataError(f"no poetry JSON files under {root}")
    t2s = opencc.OpenCC("t2s")
    for path in files:
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise DataError(f"poetry file {path} is not UTF-8 JSON: {exc}") from None
        for poem in poems(value):
            yield t2s.convert(poem)
