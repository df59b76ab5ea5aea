"""Per-parser spelling tables: which letter strings may form a segment, and at what cost.

Built once in :class:`~pinhan.pinyin.PinyinParser.__init__` from the configuration
(fuzzy rules, abbreviations, syllable frequencies), so that parsing does nothing but
dictionary look-ups. Each table belongs to its parser; nothing here is global state.

The cost of a segment is packed into one integer so that the k-best search compares
plain ints (see :class:`Costs`). In order of significance:

1. the number of pinyin segments (fewer is better),
2. the number of incomplete segments (abbreviations, partials),
3. ``-log p(segment)`` in micro-nats, where ``p`` is the probability mass of the
   syllables the segment may stand for under the prior,
4. a positional tie-break (added per edge by the lattice, see ``parser.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from .fuzzy import initial_variants, spelling_table
from .inventory import ALIASES, INITIALS, MARGINAL, SYLLABLES, SYLLABLES_BY_INITIAL, split_typed
from .normalize import normalize_syllable
from .spelling import E_HAT

# Default prior weight of an interjection syllable relative to a normal one (1.0).
MARGINAL_WEIGHT = 0.05
# -log p is clamped to this many nats (rarer than e^-60 is "never" for any real table).
_MAX_NATS = 60.0
_Q_SCALE = 1_000_000  # micro-nats


@dataclass(frozen=True, slots=True)
class Entry:
    """A spelling that may form one segment."""

    kind: str  # "syllable", "abbrev" or "partial"
    text: str  # canonical typed letters (aliases resolved, ê -> ea)
    initial: str
    final: str | None
    syllables: frozenset[str]
    q: int  # -log p in micro-nats
    high: int  # packed cost without the tie-break: segments, incompletes, q

    @property
    def incomplete(self) -> bool:
        return self.kind != "syllable"


@dataclass(frozen=True, slots=True)
class Costs:
    """Bit layout of packed costs for inputs of at most ``max_length`` characters."""

    q_bits: int
    inc_bits: int

    @classmethod
    def for_length(cls, max_length: int) -> "Costs":
        q_max = int(_MAX_NATS * _Q_SCALE)
        return cls(q_bits=(q_max * max_length).bit_length() + 1, inc_bits=max_length.bit_length() + 1)

    def pack(self, incomplete: bool, q: int) -> int:
        return (1 << (self.inc_bits + self.q_bits)) + (int(incomplete) << self.q_bits) + q

    def q_of(self, high: int) -> int:
        return high & ((1 << self.q_bits) - 1)


def syllable_weights(syllable_freq: Mapping[str, float] | None) -> dict[str, float]:
    """Unnormalised prior weight per syllable.

    Without frequencies: 1 for every syllable, :data:`MARGINAL_WEIGHT` for the
    interjections. With frequencies (counts keyed by any spelling
    :func:`~pinhan.pinyin.normalize_syllable` accepts, toned or not; tones are
    summed): add-one smoothed counts, so unseen syllables stay possible.
    """
    if syllable_freq is None:
        return {s: (MARGINAL_WEIGHT if s in MARGINAL else 1.0) for s in SYLLABLES}
    weights = {s: 1.0 for s in SYLLABLES}
    for key, count in syllable_freq.items():
        try:
            value = float(count)
        except (TypeError, ValueError):
            raise ValueError(f"syllable_freq[{key!r}] is not a number: {count!r}") from None
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"syllable_freq[{key!r}] must be a finite count >= 0, not {count!r}")
        try:
            syllable = normalize_syllable(str(key)).rstrip("012345")
        except ValueError:
            raise ValueError(f"syllable_freq has a key that is not a syllable: {key!r}") from None
        weights[syllable] += value
    return weights


class SpellingTable:
    """Every spelling that may form a segment, with its entry, for one configuration."""

    def __init__(
        self,
        rules: tuple[str, ...],
        abbreviations: bool,
        weights: Mapping[str, float],
        costs: Costs,
    ) -> None:
        total = sum(weights.values())
        self._log_total = math.log(total)
        self._weights = weights
        self._costs = costs

        by_spelling = spelling_table(rules)
        # Aliases and ê spell exactly what their canonical syllable spells.
        for alias, canonical in list(ALIASES.items()) + [(E_HAT, "ea")]:
            by_spelling[alias] = by_spelling[canonical]
        canonical_of = {**{a: c for a, c in ALIASES.items()}, E_HAT: "ea"}

        # full: spelling -> entries usable anywhere (a syllable and/or an abbreviation).
        full: dict[str, tuple[Entry, ...]] = {}
        for spelling, syllables in by_spelling.items():
            text = canonical_of.get(spelling, spelling)
            ini, fin = split_typed(text)
            full[spelling] = (self._entry("syllable", text, ini, fin, syllables),)
        self.partial: dict[str, Entry] = {}
        if abbreviations:
            for ini in INITIALS:
                # An abbreviated z, c or s also stands for zh, ch, sh, as in the initials-only
                # typing of common input methods (zgwh -> 中国文化); zh, ch, sh stay exact.
                variants = set(initial_variants(ini, rules)) | ({ini + "h"} if ini in ("z", "c", "s") else set())
                syllables = frozenset().union(*(SYLLABLES_BY_INITIAL[v] for v in variants))
                if ini in full:
                    # m and n are also syllables (呒, 嗯), which as separate segments would win
                    # every initials-only input (zgrmyh -> 中国人呒...): one abbreviation covers
                    # them and the syllables they begin, as input methods read them.
                    syllables |= frozenset().union(*(e.syllables for e in full.pop(ini)))
                entry = self._entry("abbrev", ini, ini, None, syllables)
                full[ini] = full.get(ini, ()) + (entry,)
            self.partial = self._partials(by_spelling)
        self.full: dict[str, tuple[Entry, ...]] = full
        self.max_len = max(len(s) for s in full)

    def _entry(self, kind: str, text: str, ini: str, fin: str | None, syllables: frozenset[str]) -> Entry:
        mass = sum(self._weights[s] for s in syllables)
        nats = self._log_total - math.log(mass) if mass > 0 else _MAX_NATS
        q = min(int(round(max(nats, 0.0) * _Q_SCALE)), int(_MAX_NATS * _Q_SCALE))
        return Entry(kind, text, ini, fin, syllables, q, self._costs.pack(kind != "syllable", q))

    def _partials(self, by_spelling: dict[str, frozenset[str]]) -> dict[str, Entry]:
        """Proper prefixes of spellings that are neither spellings nor initials:
        ``zhon`` (of ``zhong``), ``we`` (of ``wei``...). An initial alone is an
        abbreviation instead, so a partial always knows part of its final."""
        completions: dict[str, set[str]] = {}
        for spelling, syllables in by_spelling.items():
            for cut in range(1, len(spelling)):
                completions.setdefault(spelling[:cut], set()).update(syllables)
        partial: dict[str, Entry] = {}
        for prefix, syllables in completions.items():
            if prefix in by_spelling or prefix in SYLLABLES_BY_INITIAL:
                continue
            text = prefix
            if prefix[1:2] == "v" and prefix[0] in "jqxy":
                text = prefix[0] + "u" + prefix[2:]  # jva.. is the alias spelling of jua..
            ini, fin = split_typed(text)
            partial[prefix] = self._entry("partial", text, ini, fin, frozenset(syllables))
        return partial
