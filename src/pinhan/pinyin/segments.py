"""The parser's output types: :class:`Segment` and :class:`Path`.

Both are immutable values: equal input and configuration give equal objects, they
hash, and they can be shared between threads and cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Iterator, overload

KINDS = ("syllable", "abbrev", "partial", "passthrough")


@dataclass(frozen=True, slots=True)
class Segment:
    """One stretch of the input and what it may stand for.

    Attributes:
        kind: ``"syllable"`` (a full syllable, ``zhong``), ``"abbrev"`` (an initial
            alone, ``zh``; anywhere in the input), ``"partial"`` (an initial plus the
            start of a final, ``zhon``; only as the last segment of the input) or
            ``"passthrough"`` (text that is not pinyin, returned unchanged).
        text: the normalised typed letters (lower case, ü as ``v``, ê as ``ea``,
            aliases such as ``lue`` as their canonical ``lve``); for passthrough the
            raw input text.
        start, end: the span in the original input, ``input[start:end]``; a tone digit
            belongs to the segment it follows.
        tone: 1..5 (5 = neutral) from a tone digit or tone mark, None when not given.
        initial, final: the typed split (``zh``/``ong``, ``y``/``an``, ``""``/``er``).
            ``final`` is None for an abbreviation and the known start of the final
            for a partial (``zhon`` -> ``on``). Both None for passthrough.
        syllables: every toneless syllable this segment may stand for: a syllable
            and its fuzzy partners; for ``zh`` every syllable with initial zh; for
            ``zhon`` every syllable starting so (``zhong``). Empty for passthrough.
    """

    kind: str
    text: str
    start: int
    end: int
    tone: int | None = None
    initial: str | None = None
    final: str | None = None
    syllables: frozenset[str] = field(default=frozenset(), repr=False)

    @property
    def incomplete(self) -> bool:
        """True for abbreviations and partial syllables (the final is not fully known)."""
        return self.kind == "abbrev" or self.kind == "partial"

    @property
    def toned(self) -> str:
        """``text`` with its tone digit, if any: ``zhong1``, ``zh``."""
        return self.text if self.tone is None else f"{self.text}{self.tone}"


@dataclass(frozen=True, slots=True)
class Path(Sequence[Segment]):
    """One reading of the whole input: its segments in order, plus a prior score.

    A path behaves like a tuple of :class:`Segment` (``len``, indexing, iteration).

    ``score`` is the log prior of the reading, ``sum(log p(segment))``, where
    ``p(segment)`` is the probability mass of the syllables the segment may stand
    for (syllable frequencies when the parser was given them, else near uniform),
    rounded to 1e-6. Higher is better. Paths are *ranked* by :attr:`rank_key`: fewer
    syllables first, then fewer abbreviations/partials, then higher score, then the
    reading whose first differing segment is longer (and complete) first.
    """

    segments: tuple[Segment, ...]
    score: float

    def __len__(self) -> int:
        return len(self.segments)

    @overload
    def __getitem__(self, index: int) -> Segment: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Segment, ...]: ...
    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        return self.segments[index]

    def __iter__(self) -> Iterator[Segment]:
        return iter(self.segments)

    @property
    def texts(self) -> tuple[str, ...]:
        """The ``text`` of every segment, passthrough included."""
        return tuple(s.text for s in self.segments)

    @property
    def pinyin(self) -> tuple[Segment, ...]:
        """The segments that are pinyin (everything but passthrough)."""
        return tuple(s for s in self.segments if s.kind != "passthrough")

    @property
    def n_syllables(self) -> int:
        """Number of pinyin segments (syllables, abbreviations and partials)."""
        return sum(1 for s in self.segments if s.kind != "passthrough")

    @property
    def n_incomplete(self) -> int:
        """Number of abbreviations and partial syllables."""
        return sum(1 for s in self.segments if s.incomplete)

    @property
    def rank_key(self) -> tuple:
        """Sort key of the ranking (smaller is better); see the class docstring.

        Keys of two paths of the same input compare as the parser ranks them.
        """
        shape = tuple((-s.end, s.incomplete) for s in self.segments if s.kind != "passthrough")
        return (self.n_syllables, self.n_incomplete, -self.score, shape)

    def __str__(self) -> str:
        """Space-joined toned texts, apostrophe-free: ``zhong1 guo2``."""
        return " ".join(s.toned for s in self.segments)
