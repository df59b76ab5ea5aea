"""Tone marks <-> tone numbers, for single syllables and whole strings.

``zhōng`` <-> ``zhong1``, ``lǘ`` <-> ``lv2``, ``ê̄`` <-> ``ea1``; the neutral tone is
5 in numbers and unmarked in marks, so a string's unmarked syllables become tone 5
on the way to numbers.

The mark goes where standard orthography puts it: on ``a`` or ``e`` if there is one,
on the ``o`` of ``ou``, otherwise on the last vowel (``liú``, ``guì``); on the nasal
of ``m``, ``n``, ``ng``, ``hm``, ``hng``. Reading is lenient (see :mod:`.spelling`):
a mark anywhere in a syllable gives it its tone.

String conversions read the text with the parser (full syllables only, no fuzzy),
so they agree with :func:`~pinhan.pinyin.parse` on where syllables are: text that is
not pinyin is kept as is, a capital first letter stays capital, and separators are
kept. When marks are written between two syllables that are not already separated,
an apostrophe goes before a syllable starting with a, o or e (``xī'ān``), as
orthography asks and so that the result reads back the same.
"""

from __future__ import annotations

import unicodedata
from typing import Iterator

from .errors import PinyinError
from .parser import _cached_parser
from .scan import APOSTROPHES
from .segments import Segment
from .spelling import MARK_OF_TONE

_CHUNK_LIMIT = 1024  # longest stretch without whitespace the string conversions accept


def mark_syllable(syllable: str, tone: int | None) -> str:
    """Tone-marked form of a canonical toneless syllable: ``("lv", 2) -> "lǘ"``."""
    letters = "ê" if syllable == "ea" else syllable.replace("v", "ü")
    if tone is None or tone == 5:
        return letters
    if tone not in MARK_OF_TONE:
        raise ValueError(f"tone must be 1..5 or None, not {tone!r}")
    at = _mark_position(letters)
    return unicodedata.normalize("NFC", letters[: at + 1] + MARK_OF_TONE[tone] + letters[at + 1 :])


def _mark_position(letters: str) -> int:
    for vowel in ("a", "e", "ê"):
        if vowel in letters:
            return letters.index(vowel)
    if "ou" in letters:
        return letters.index("o")
    for k in range(len(letters) - 1, -1, -1):
        if letters[k] in "iouü":
            return k
    return next(k for k, c in enumerate(letters) if c in "mn")  # m, n, ng, hm, hng


def to_tone_marks(text: str) -> str:
    """``zhong1guo2`` -> ``zhōngguó``; ``lv4`` -> ``lǜ``; ``xi1an1`` -> ``xī'ān``.

    Syllables without a tone digit stay unmarked (ü still written ü). Raises
    :class:`PinyinError` only where the parser would (see :mod:`.parser`).
    """
    out: list[str] = []
    pos = 0
    previous: Segment | None = None
    for seg in _segments(text):
        out.append(text[pos : seg.start])
        if seg.kind == "passthrough":
            out.append(seg.text)
        else:
            marked = _capital_like(text[seg.start], mark_syllable(seg.text, seg.tone))
            if previous is not None and previous.end == seg.start and seg.text[0] in "aoe":
                out.append("'")
            out.append(marked)
        previous = seg if seg.kind != "passthrough" else None
        pos = seg.end
    out.append(text[pos:])
    return "".join(out)


def to_tone_numbers(text: str) -> str:
    """``zhōngguó`` -> ``zhong1guo2``; ``lǘ`` -> ``lv2``; unmarked syllables get 5.

    Tone digits already present are kept (``zhong1guo`` -> ``zhong1guo5``).
    """
    out: list[str] = []
    pos = 0
    for seg in _segments(text):
        out.append(text[pos : seg.start])
        if seg.kind == "passthrough":
            out.append(seg.text)
        else:
            out.append(_capital_like(text[seg.start], f"{seg.text}{seg.tone or 5}"))
        pos = seg.end
    out.append(text[pos:])
    return "".join(out)


def _capital_like(first: str, word: str) -> str:
    return unicodedata.normalize("NFC", word[0].upper() + word[1:]) if first.isupper() else word


def _segments(text: str) -> Iterator[Segment]:
    """Segments of the best full-syllable reading of ``text``, chunk by chunk.

    Whitespace is a hard boundary for the parser, so each whitespace-free chunk
    is read on its own; that keeps the work linear in the length of ``text``.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    parser = _cached_parser((), False, _CHUNK_LIMIT)
    start = 0
    n = len(text)
    while start < n:
        while start < n and (text[start].isspace() or text[start] in APOSTROPHES):
            start += 1
        end = start
        while end < n and not text[end].isspace():
            end += 1
        if end > start:
            try:
                paths = parser.parse(text[start:end], max_paths=1)
            except PinyinError as err:
                a, b = err.span
                message = str(err).replace(f"at {a}..{b}", f"at {a + start}..{b + start}")
                raise PinyinError(message, (a + start, b + start), err.text) from None
            for seg in paths[0] if paths else ():
                yield Segment(seg.kind, seg.text, seg.start + start, seg.end + start, seg.tone)
        start = end
