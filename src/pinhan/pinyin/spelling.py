"""Characters and spellings: which input characters are pinyin letters, and which
letter strings spell which syllable.

Internally a pinyin letter is one of ``a``–``z``, ``v`` (ü) or ``ê``, plus a tone
from a tone mark (0 = no mark). Input may write ü as ``ü``, ``v`` or ``u:``; tone marks
may be precomposed (``ǘ``) or combining (``u`` + U+0308 + U+0301); letters may be
upper case or full width (``ｚｈｏｎｇ``, what a Chinese IME in full-width mode types).
A breve (``ă``) is read as a caron (``ǎ``): it is the usual typo for the third tone.

Tables are built once at import from :mod:`unicodedata`, so there is nothing to
regenerate by hand.
"""

from __future__ import annotations

import unicodedata
from types import MappingProxyType
from typing import Mapping

from .inventory import ALIASES, SYLLABLES

# The internal letter for ê. It is never typed as "ea" by the scanner: "ea" and "ê"
# are two spellings of the same syllable.
E_HAT = "ê"

# Combining tone marks -> tone number. U+0306 (breve) stands in for U+030C (caron).
TONE_OF_MARK: Mapping[str, int] = MappingProxyType(
    {"\u0304": 1, "\u0301": 2, "\u030c": 3, "\u0306": 3, "\u0300": 4}
)
# Combining mark for each tone when writing marks (tone 5 = neutral = no mark).
MARK_OF_TONE: Mapping[int, str] = MappingProxyType({1: "\u0304", 2: "\u0301", 3: "\u030c", 4: "\u0300"})
DIAERESIS = "\u0308"  # u + diaeresis = ü = v
CIRCUMFLEX = "\u0302"  # e + circumflex = ê

# Letters that may carry a tone mark: vowels, ü, ê and the syllabic nasals m/n.
_MARKABLE = "aeiouvmnê"


def combine(letter: str, tone: int, mark: str) -> tuple[str, int] | None:
    """Apply one combining mark to a decoded letter; None if the result is not pinyin."""
    if mark in TONE_OF_MARK:
        if tone or letter not in _MARKABLE:
            return None  # two tone marks on a letter, or a mark on a consonant
        return letter, TONE_OF_MARK[mark]
    if mark == DIAERESIS and letter == "u":
        return "v", tone
    if mark == CIRCUMFLEX and letter == "e":
        return E_HAT, tone
    return None


def _letter_table() -> dict[str, tuple[str, int]]:
    table: dict[str, tuple[str, int]] = {}
    for c in "abcdefghijklmnopqrstuvwxyz":
        table[c] = (c, 0)
        table[c.upper()] = (c, 0)
        table[chr(ord(c) - ord("a") + 0xFF41)] = (c, 0)  # full-width lower case
        table[chr(ord(c) - ord("a") + 0xFF21)] = (c, 0)  # full-width upper case
    # Every precomposed character that decomposes into a pinyin letter plus marks.
    for code in range(0xC0, 0x2000):
        ch = chr(code)
        parts = unicodedata.normalize("NFD", ch)
        if len(parts) < 2 or parts[0].lower() not in "aeioumn":
            continue
        decoded: tuple[str, int] | None = (parts[0].lower(), 0)
        for mark in parts[1:]:
            decoded = combine(*decoded, mark) if decoded else None
        if decoded:
            table[ch] = decoded
    return table


# Single input character -> (internal letter, tone mark or 0).
LETTER_OF: Mapping[str, tuple[str, int]] = MappingProxyType(_letter_table())

# Canonical spelling of every syllable: itself, its aliases (lue, jv, ...) and ê.
SPELLING_OF: Mapping[str, str] = MappingProxyType(
    {**{s: s for s in SYLLABLES}, **ALIASES, E_HAT: "ea"}
)
