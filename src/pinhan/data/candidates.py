"""Which hanzi a typed syllable allows: the lexicon indexed by factored pinyin keys.

A key is the (initial, final, tone) ids of what was typed. An UNKNOWN final (abbreviation) or
tone (toneless input) widens the key to every syllable that agrees on the known factors. Training
uses it to restrict the hanzi softmax; decoding uses it to constrain every emitted hanzi.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from pinhan.data.vocab import Lexicon, Vocab
from pinhan import ids


class CandidateIndex:
    """(initial, final, tone) ids as typed -> candidate hanzi ids, most frequent first.

    An UNKNOWN final (abbreviation) or tone (toneless input) widens the key to every syllable
    that agrees on the known factors.
    """

    def __init__(self, vocab: Vocab, lexicon: Lexicon) -> None:
        # Counts get +1 so that dictionary-only readings (count 0) still rank, after seen ones.
        self._by_syllable: list[tuple[tuple[int, int, int], int, Counter]] = []
        for syllable, chars in lexicon.entries.items():
            counts = Counter({vocab.char_to_id[ch]: n + 1 for ch, n in chars.items() if ch in vocab.char_to_id})
            if counts:
                self._by_syllable.append((vocab.factors(syllable), vocab.syllable_id(syllable), counts))
        self._cache: dict[tuple[int, int, int], np.ndarray] = {}
        self._readings: dict[tuple[int, tuple[int, int, int]], int] = {}

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

    def _matching(self, key: tuple[int, int, int]):
        for entry in self._by_syllable:
            i, f, t = entry[0]
            if i == key[0] and key[1] in (f, ids.UNKNOWN) and key[2] in (t, ids.UNKNOWN):
                yield entry
