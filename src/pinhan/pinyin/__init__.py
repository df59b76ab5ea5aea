"""Pinyin front-end: syllable inventory, tones, and the parser that turns typed
pinyin into ranked readings for the model.

>>> from pinhan.pinyin import parse
>>> [str(p) for p in parse("xian", max_paths=2)]
['xian', 'xi an']
>>> [(s.kind, s.text) for s in parse("zhongg")[0]]
[('syllable', 'zhong'), ('abbrev', 'g')]

Modules: ``inventory`` (syllables, initials, finals), ``spelling`` (which characters
are pinyin letters), ``normalize`` (one syllable -> canonical form), ``tones`` (marks
<-> numbers), ``fuzzy`` (fuzzy rules), ``scan`` / ``table`` / ``parser`` (the parser
stages), ``segments`` (output types), ``errors``.

The lowest layer: it may import only ``pinhan.errors`` (no numpy, no torch, nothing of the model).
"""

from .errors import PinyinError
from .fuzzy import FUZZY_RULES
from .inventory import FINALS, INITIALS, SYLLABLES, TONED_SYLLABLES, split_syllable
from .normalize import is_syllable, normalize_syllable
from .parser import PinyinParser, parse
from .segments import Path, Segment
from .tones import mark_syllable, to_tone_marks, to_tone_numbers

__all__ = [
    "FINALS",
    "FUZZY_RULES",
    "INITIALS",
    "Path",
    "PinyinError",
    "PinyinParser",
    "SYLLABLES",
    "Segment",
    "TONED_SYLLABLES",
    "is_syllable",
    "mark_syllable",
    "normalize_syllable",
    "parse",
    "split_syllable",
    "to_tone_marks",
    "to_tone_numbers",
]
