"""Scanner: cut raw input into letter runs, tone digits, separators and other text.

This is the first stage of the parser (scan -> lattice -> k-best -> paths). It reads
each character once and records, for every pinyin letter, where it came from in the
original string, so that every later span can point back at the user's text.

Character classes:

* **letters** — ``a``–``z`` in any case or width, ``ü``/``ê`` and tone-marked vowels
  (precomposed or followed by combining marks), and ``u:`` (one letter ``v`` spanning
  two characters). A maximal stretch of letters is a *run*.
* **tone digit** — one ASCII digit ``0``–``5`` directly after a run and not followed
  by another digit. ``0`` is read as the neutral tone, like ``5``, because some
  sources (and people) write it so. It ends the run: ``zhong1guo2`` is two runs.
* **separators** — apostrophes (``'``, ``’``, ``‘``, ``＇``) and whitespace. They are
  hard syllable boundaries and appear in no segment.
* **other** — everything else (punctuation, CJK, other digits, symbols). It passes
  through unchanged.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from .spelling import LETTER_OF, combine

APOSTROPHES = frozenset("'\u2019\u2018\uff07")
_DIGITS = frozenset("0123456789")


@dataclass(slots=True)
class Run:
    """A maximal stretch of pinyin letters, internal indices ``lo``..``hi``."""

    lo: int
    hi: int
    tone: int = 0  # tone from a digit after the run (0 = none; digit "0" is stored as 5)
    digit_end: int = -1  # original offset just after that digit, -1 if none
    notation: bool = False  # ü, ê, u: or a tone mark: written as pinyin, not as a Latin word
    at_end: bool = False  # nothing but separators follows the run


@dataclass(slots=True)
class Scan:
    """What :func:`scan` found. Internal letter ``k`` came from ``text[starts[k]:ends[k]]``."""

    text: str
    letters: str = ""  # internal letters: a-z, v (ü), ê
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    marks: list[int] = field(default_factory=list)  # tone mark per letter, 0 = none
    runs: list[Run] = field(default_factory=list)
    other: list[tuple[int, int]] = field(default_factory=list)  # spans of other text
    marked: bool = False  # any tone mark anywhere (lets the lattice skip mark checks)


def scan(text: str) -> Scan:
    """Scan ``text`` (any str) into runs, tone digits, separators and other text."""
    out = Scan(text)
    letters: list[str] = []
    starts, ends, marks = out.starts, out.ends, out.marks
    run: Run | None = None  # the run being extended, None after any non-letter
    n = len(text)
    k = 0
    while k < n:
        c = text[k]
        decoded = LETTER_OF.get(c)
        if decoded is not None:
            letter, tone = decoded
            width = 1
            if letter == "u" and k + 1 < n and text[k + 1] == ":":
                letter, width = "v", 2  # u: is the ASCII spelling of ü
            if run is None:
                run = Run(len(letters), len(letters))
                out.runs.append(run)
            letters.append(letter)
            starts.append(k)
            ends.append(k + width)
            marks.append(tone)
            run.hi += 1
            if tone or width == 2 or letter == "ê" or (letter == "v" and c not in "vV\uff56\uff36"):
                run.notation = True
                out.marked = out.marked or tone > 0
            k += width
            continue
        if run is not None and ends[-1] == k and unicodedata.combining(c):
            combined = combine(letters[-1], marks[-1], c)
            if combined is not None:  # a combining mark on the previous letter
                letters[-1], marks[-1] = combined
                ends[-1] = k + 1
                run.notation = True
                out.marked = out.marked or combined[1] > 0
                k += 1
                continue
        if c in _DIGITS:
            j = k + 1
            while j < n and text[j] in _DIGITS:
                j += 1
            if run is not None and j == k + 1 and c <= "5":
                run.tone = int(c) or 5
                run.digit_end = j
            else:
                _add_other(out, k, j)
            run = None
            k = j
            continue
        run = None
        if not (c in APOSTROPHES or c.isspace()):
            _add_other(out, k, k + 1)
        k += 1
    out.letters = "".join(letters)
    if out.runs:
        last = out.runs[-1]
        tail = text[ends[last.hi - 1] :]
        last.at_end = last.digit_end < 0 and all(ch in APOSTROPHES or ch.isspace() for ch in tail)
    return out


def _add_other(out: Scan, start: int, end: int) -> None:
    """Record other text, merging it with the previous stretch when adjacent."""
    if out.other and out.other[-1][1] == start:
        out.other[-1] = (out.other[-1][0], end)
    else:
        out.other.append((start, end))
