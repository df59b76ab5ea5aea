"""Annotation: one toned syllable per hanzi (pypinyin with phrase context, tone3, neutral = 5).

Non-hanzi characters (punctuation, digits, Latin letters, spaces) are kept as pass-through
positions whose syllable is ``None``, so text and syllables stay aligned one to one.
"""

from __future__ import annotations

import re

from pypinyin import Style, lazy_pinyin, pinyin

# CJK Unified Ideographs, Extension A, compatibility ideographs, the ideographic zero 〇 and the
# supplementary-plane extensions B..H.
HANZI_CLASS = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
HANZI_RUN = re.compile(f"[{HANZI_CLASS}]+")
_HANZI_CHAR = re.compile(f"[{HANZI_CLASS}]")


def is_hanzi(ch: str) -> bool:
    """True for a single CJK ideograph."""
    return _HANZI_CHAR.fullmatch(ch) is not None


_TONE3 = re.compile(r"[a-z]+[1-5]")


def _as_is(chars: str) -> list[str]:
    # pypinyin calls this for characters it cannot read; one entry per character keeps alignment.
    # (Returning None here crashes pypinyin 0.55 for CJK code points it has no entry for, e.g. 𪀮:
    # it applies the tone style to the callback's result.) Such entries fail _TONE3 below.
    return list(chars)


def annotate(text: str, known: frozenset[str] | None = None) -> list[str | None]:
    """Toned syllables aligned 1:1 with ``text``; ``None`` for pass-through or unreadable characters.

    ``known`` (the syllable vocabulary) turns any reading outside it into ``None`` as well, so a
    syllable the model cannot represent is never written to a shard.
    """
    result: list[str | None] = [None] * len(text)
    for match in HANZI_RUN.finditer(text):
        run = match.group()
        # The whole run at once: pypinyin segments it into phrases, which resolves polyphones.
        readings = lazy_pinyin(run, style=Style.TONE3, neutral_tone_with_five=True, errors=_as_is)
        if len(readings) != len(run):  # never seen; fall back to per-character readings
            readings = [lazy_pinyin(ch, style=Style.TONE3, neutral_tone_with_five=True, errors=_as_is)[0] for ch in run]
        for offset, syllable in enumerate(readings):
            if _TONE3.fullmatch(syllable) and (known is None or syllable in known):
                result[match.start() + offset] = syllable
    return result


def char_readings(ch: str) -> list[str]:
    """Every reading pypinyin knows for one character (tone3, neutral 5), most common first."""
    readings = pinyin(ch, style=Style.TONE3, heteronym=True, neutral_tone_with_five=True, errors=lambda _: [[]])
    return [r for r in (readings[0] if readings else []) if r and r != ch]
