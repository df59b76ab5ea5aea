"""Lookup tables built once from a vocabulary and lexicon, shared by training and decoding.

- :class:`PinyinTables`: toned-syllable ids -> factored (initial, final, tone) ids, and the
  initial / final swaps that simulate abbreviated and fuzzy typing.
- :class:`CandidateIndex`: which hanzi a typed syllable allows. A key is the (initial, final,
  tone) ids of what was typed; an UNKNOWN final (abbreviation) or tone (toneless input) widens it
  to every syllable that agrees on the known factors. Training uses it to restrict the hanzi
  softmax; decoding uses it to constrain every emitted hanzi.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from pinhan.data.vocab import Lexicon, Vocab
from pinhan import ids


# Fuzzy pairs as typed-form initials and finals (both directions are used).
FUZZY_INITIALS = (("z", "zh"), ("c", "ch"), ("s", "sh"), ("n", "l"), ("l", "r"), ("f", "h"))
FUZZY_FINALS = (("an", "ang"), ("en", "eng"), ("in", "ing"), ("ian", "iang"), ("uan", "uang"))


def first_letter_table(initial_to_id: dict[str, int]) -> np.ndarray:
    """Initial id -> the id of its first letter for zh, ch, sh (z, c, s); others map to themselves."""
    table = np.arange(max(initial_to_id.values(), default=0) + 1, dtype=np.int64)
    for long in ("zh", "ch", "sh"):
        if long in initial_to_id and long[0] in initial_to_id:
            table[initial_to_id[long]] = initial_to_id[long[0]]
    return table


class PinyinTables:
    """Numpy lookups from toned-syllable ids to factored ids, built once per vocabulary."""

    def __init__(self, vocab: Vocab) -> None:
        n = len(vocab.syllables)
        self.factors = np.zeros((n, 3), dtype=np.int64)  # (n_syllables, 3) toned factors
        for sid in range(ids.N_SPECIAL, n):
            self.factors[sid] = vocab.factors(vocab.syllables[sid])
        self.zero_initial = vocab.initial_to_id.get("", -1)
        self.first_letter = first_letter_table(vocab.initial_to_id)  # zh -> z, ch -> c, sh -> s
        self.initial_swap = self._swap_table(vocab.initial_to_id, FUZZY_INITIALS)
        self.final_swap = self._swap_table(vocab.final_to_id, FUZZY_FINALS)

    @staticmethod
    def _swap_table(table: dict[str, int], pairs) -> np.ndarray:
        swap = np.arange(len(table), dtype=np.int64)
        for a, b in pairs:
            if a in table and b in table:
                swap[table[a]], swap[table[b]] = table[b], table[a]
        return swap


class CandidateIndex:
    """(initial, final, tone) ids as typed -> candidate hanzi ids, most frequent first.

    An UNKNOWN final (abbreviation) or tone (toneless input) widens the key to every syllable
    that agrees on the known factors.
    """

    def __init__(self, vocab: Vocab, lexicon: Lexicon) -> None:
        # Counts get +1 so that dictionary-only readings (count 0) still rank, after seen ones.
        self._by_syllable: list[tuple[tuple[int, int, int], int, Counter]] = []
        # toneless syllable -> [(tone digit, syllable id, counts)], for parser segments
        self._by_toneless: dict[str, list[tuple[str, int, Counter]]] = {}
        for syllable, chars in lexicon.entries.items():
            counts = Counter({vocab.char_to_id[ch]: n + 1 for ch, n in chars.items() if ch in vocab.char_to_id})
            if counts:
                syllable_id = vocab.syllable_id(syllable)
                self._by_syllable.append((vocab.factors(syllable), syllable_id, counts))
                self._by_toneless.setdefault(syllable.rstrip("12345"), []).append((syllable[-1], syllable_id, counts))
        self._cache: dict[tuple[int, int, int], np.ndarray] = {}
        self._slot_cache: dict[tuple[frozenset[str], int | None], np.ndarray] = {}
        self._readings_for: dict[tuple[int, frozenset[str], int | None], int] = {}
        self._readings: dict[tuple[int, tuple[int, int, int]], int] = {}
        # an abbreviated z, c, s also stands for zh, ch, sh (initials-only typing): initial id -> its long form
        self._long_initial = {vocab.initial_to_id[i]: vocab.initial_to_id[i + "h"] for i in ("z", "c", "s")
                              if i in vocab.initial_to_id and i + "h" in vocab.initial_to_id}
        self.all_chars = np.arange(ids.N_SPECIAL, len(vocab.chars), dtype=np.int64)  # every real character
        readable = set().union(*(counts for _, _, counts in self._by_syllable)) if self._by_syllable else set()
        self.all_hanzi = np.array(sorted(readable), dtype=np.int64)  # every character with a reading
        self._default: np.ndarray | None = None

    def candidates(self, key: tuple[int, int, int]) -> np.ndarray:
        if key not in self._cache:
            merged: Counter = Counter()
            for _, _, counts in self._matching(key):
                merged.update(counts)
            ranked = sorted(merged, key=lambda c: (-merged[c], c))
            self._cache[key] = np.asarray(ranked, dtype=np.int64)
        return self._cache[key]

    def reading(self, char_id: int, key: tuple[int, int, int]) -> int:
        """The toned-syllable id that ``char_id`` most often has among the readings ``key`` allows
        (UNK when none does): what the decoder is fed back after emitting that hanzi."""
        cache_key = (char_id, key)
        if cache_key not in self._readings:
            best, best_count = ids.UNK, 0
            for _, syllable_id, counts in self._matching(key):
                if counts.get(char_id, 0) > best_count:
                    best, best_count = syllable_id, counts[char_id]
            self._readings[cache_key] = best
        return self._readings[cache_key]

    def candidates_for(self, syllables: frozenset[str], tone: int | None) -> np.ndarray:
        """Hanzi ids readable as any of the toneless ``syllables`` (a parser segment's set: its
        fuzzy partners, an abbreviation's or a partial syllable's completions), in ``tone`` when
        given; most frequent first."""
        slot = (syllables, tone)
        if slot not in self._slot_cache:
            merged: Counter = Counter()
            for _, _, counts in self._slot_entries(syllables, tone):
                merged.update(counts)
            self._slot_cache[slot] = np.asarray(sorted(merged, key=lambda c: (-merged[c], c)), dtype=np.int64)
        return self._slot_cache[slot]

    def reading_for(self, char_id: int, syllables: frozenset[str], tone: int | None) -> int:
        """The toned-syllable id ``char_id`` most often has among a segment's syllables (UNK if none)."""
        cache_key = (char_id, syllables, tone)  # beam search asks the same for every beam and step
        if cache_key not in self._readings_for:
            best, best_count = ids.UNK, 0
            for _, syllable_id, counts in self._slot_entries(syllables, tone):
                if counts.get(char_id, 0) > best_count:
                    best, best_count = syllable_id, counts[char_id]
            self._readings_for[cache_key] = best
        return self._readings_for[cache_key]

    def _slot_entries(self, syllables: frozenset[str], tone: int | None):
        for syllable in sorted(syllables):
            for digit, syllable_id, counts in self._by_toneless.get(syllable, ()):
                if tone is None or digit == str(tone):
                    yield digit, syllable_id, counts

    def default_reading(self, char_id: int) -> int:
        """The toned-syllable id ``char_id`` most often has (UNK when it has none: punctuation,
        Latin letters): what the decoder is fed after a continuation emits it."""
        if self._default is None:
            best = np.full(len(self.all_chars) + ids.N_SPECIAL, ids.UNK, dtype=np.int64)
            best_count = np.zeros(len(best), dtype=np.int64)
            for _, syllable_id, counts in self._by_syllable:
                for char, n in counts.items():
                    if n > best_count[char]:
                        best[char], best_count[char] = syllable_id, n
            self._default = best
        return int(self._default[char_id])

    def _matching(self, key: tuple[int, int, int]):
        initials = {key[0]}
        if key[1] == ids.UNKNOWN and key[0] in self._long_initial:  # abbreviated z, c, s: also zh, ch, sh
            initials.add(self._long_initial[key[0]])
        for entry in self._by_syllable:
            i, f, t = entry[0]
            if i in initials and key[1] in (f, ids.UNKNOWN) and key[2] in (t, ids.UNKNOWN):
                yield entry
