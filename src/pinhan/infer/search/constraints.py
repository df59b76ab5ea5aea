"""What each task's decoding may emit and feeds back: one :class:`Constraint` per task, one
search for all three.

p2h: hanzi readable as the typed syllable; h2p: the readings of the given hanzi; gen: any real
character, or those a pinyin hint allows. After an emission the decoder is fed the output pair
of hanzi and reading, exactly as in training. Special tokens never come out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from pinhan import ids
from pinhan.data.tables import CandidateIndex, PinyinTables


Step = tuple[int, int, int, int]  # decoder input after an emission: (hanzi, initial, final, tone) ids


class Constraint(Protocol):
    """What one task's decoding may emit and feeds back; rows are the batch's inputs."""

    head: str  # "chars" or "syllables": the decoder head that scores a step

    def length(self, row: int) -> int:
        """Steps to decode for ``row``."""

    def allowed(self, row: int, step: int) -> np.ndarray:
        """Ids ``row`` may emit at ``step`` (never special tokens)."""

    def feed(self, row: int, step: int, token: int) -> Step:
        """The decoder input that follows emitting ``token`` at ``step``."""


Slot = tuple[frozenset[str], "int | None"]  # a parser segment's toneless syllables and typed tone


@dataclass
class P2HConstraint:
    """Each hanzi must be readable as what was typed at its step; the decoder is fed the hanzi
    with the reading the typed input allows (its most frequent one).

    What was typed is the key the model reads (initial, final, tone ids) and, from the parser,
    optionally a slot: the exact syllables the segment may stand for (fuzzy partners, the
    completions of ``zhon``), which is narrower or wider than the key alone.
    """

    keys: list[np.ndarray]  # per row (L, 3) typed (initial, final, tone) ids, UNKNOWN where not typed
    index: CandidateIndex
    tables: PinyinTables
    slots: list[list[Slot]] | None = None  # per row, per step; None: the keys decide
    head: str = "chars"

    def length(self, row: int) -> int:
        return len(self.keys[row])

    def allowed(self, row: int, step: int) -> np.ndarray:
        if self.slots is not None:
            cands = self.index.candidates_for(*self.slots[row][step])
        else:
            cands = self.index.candidates(key_of(self.keys[row][step]))
        # nothing in the lexicon reads so (a syllable the corpus never had): any readable hanzi
        return cands if len(cands) else self.index.all_hanzi

    def feed(self, row: int, step: int, token: int) -> Step:
        key = key_of(self.keys[row][step])
        if self.slots is not None:
            syllable = self.index.reading_for(token, *self.slots[row][step])
        else:
            syllable = self.index.reading(token, key)
        factors = self.tables.factors[syllable] if syllable >= ids.N_SPECIAL else key
        return (token, int(factors[0]), int(factors[1]), int(factors[2]))


@dataclass
class H2PConstraint:
    """Each step emits one reading of the hanzi at that position; the decoder is fed that hanzi
    with the chosen reading.

    Decoding stops after a row's last character with more than one reading: what follows has one
    choice each and cannot change an earlier step of a causal decoder, so the caller fills it in
    (most characters have one reading; this saves their decoder steps).
    """

    chars: list[np.ndarray]  # per row (L,) hanzi ids (UNK for a hanzi outside the vocabulary)
    readings: list[list[np.ndarray]]  # per row, per position: toned-syllable ids it may read as
    tables: PinyinTables
    head: str = "syllables"

    def length(self, row: int) -> int:
        ambiguous = [t for t, options in enumerate(self.readings[row]) if len(options) > 1]
        return ambiguous[-1] + 1 if ambiguous else 0

    def allowed(self, row: int, step: int) -> np.ndarray:
        return self.readings[row][step]

    def feed(self, row: int, step: int, token: int) -> Step:
        f = self.tables.factors[token]
        return (int(self.chars[row][step]), int(f[0]), int(f[1]), int(f[2]))


@dataclass
class GenConstraint:
    """Continuation: any real character, or for the first steps those a pinyin hint allows; the
    decoder is fed each character with its most frequent reading."""

    steps: int
    index: CandidateIndex
    tables: PinyinTables
    hints: list[np.ndarray | None] = field(default_factory=list)  # per row (H, 3) hint keys or None
    head: str = "chars"

    def length(self, row: int) -> int:
        return self.steps

    def _hint(self, row: int, step: int) -> tuple[int, int, int] | None:
        hint = self.hints[row] if row < len(self.hints) else None
        return key_of(hint[step]) if hint is not None and step < len(hint) else None

    def allowed(self, row: int, step: int) -> np.ndarray:
        key = self._hint(row, step)
        if key is None:
            return self.index.all_chars
        cands = self.index.candidates(key)
        return cands if len(cands) else self.index.all_chars

    def feed(self, row: int, step: int, token: int) -> Step:
        key = self._hint(row, step)
        syllable = self.index.reading(token, key) if key is not None else self.index.default_reading(token)
        f = self.tables.factors[syllable] if syllable >= ids.N_SPECIAL else (0, 0, 0)
        return (token, int(f[0]), int(f[1]), int(f[2]))


def key_of(row: np.ndarray) -> tuple[int, int, int]:
    return (int(row[0]), int(row[1]), int(row[2]))
