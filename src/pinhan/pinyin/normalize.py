"""One syllable in, its canonical typed form out.

``normalize_syllable`` is the gate every external source of pinyin goes through
(pypinyin's annotation, user dictionaries, request bodies), so that the rest of
pinhan sees one spelling per syllable: tone3 style, lower case, ü as ``v``, ê as
``ea``, tone 5 for the neutral tone.
"""

from __future__ import annotations

from .errors import PinyinError
from .scan import scan
from .spelling import SPELLING_OF


def normalize_syllable(syllable: str) -> str:
    """Canonical typed form of one syllable, toned if the input carries a tone.

    >>> [normalize_syllable(s) for s in ("zhong1", "Zhōng", "lü4", "lu:4", "lv4", "nü", "ê2")]
    ['zhong1', 'zhong1', 'lv4', 'lv4', 'lv4', 'nv', 'ea2']

    Accepts tone digits 0-5 (0 and 5 both mean the neutral tone, written 5), tone
    marks, ü/v/u:, ê, upper case, and the spellings ``lue``/``nue`` and ``jv``... (see
    :data:`~pinhan.pinyin.inventory.ALIASES`). Raises :class:`PinyinError` for
    anything else, including text around the syllable, two tones, or a mark on a
    letter that cannot carry one.
    """
    if not isinstance(syllable, str):
        raise TypeError(f"syllable must be a str, not {type(syllable).__name__}")
    found = scan(syllable)
    if len(found.runs) != 1 or found.other:
        raise PinyinError.unreadable(syllable, 0, len(syllable))
    run = found.runs[0]
    # The run must be the whole string (no separators around it).
    end = run.digit_end if run.digit_end >= 0 else found.ends[-1]
    if found.starts[0] != 0 or end != len(syllable):
        raise PinyinError.unreadable(syllable, 0, len(syllable))
    canonical = SPELLING_OF.get(found.letters)
    marks = [m for m in found.marks if m]
    if canonical is None or len(marks) > 1 or (marks and run.tone and marks[0] != run.tone):
        raise PinyinError.unreadable(syllable, 0, len(syllable))
    tone = marks[0] if marks else run.tone
    return f"{canonical}{tone}" if tone else canonical


def is_syllable(text: str) -> bool:
    """True if ``text`` is one syllable in any spelling :func:`normalize_syllable`
    accepts (toned or not): ``zhong``, ``Lǘ``, ``ê``, ``lue4``; not ``zhon``, ``zh``."""
    try:
        normalize_syllable(text)
    except (PinyinError, TypeError):
        return False
    return True
