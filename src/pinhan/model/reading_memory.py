"""What labelled sentences agree on: a polyphone's reading beside one given neighbour.

Many polyphones hang on one neighbour of a rare word (吡咯 ``luo4``, 呵叻 ``he1``, 僮族 ``zhuang4``)
that the encoder knows too little about: the polyphone head meets such a word a handful of times
among a quarter of a million teacher examples, and a phrase dictionary either lacks it or reads it
otherwise than the labels do. The memory keeps, for each (character, side, neighbour) of the gold
examples, the reading they give it, where at least ``min_count`` examples hold that key and all of
them agree. At g2p time a polyphone takes the reading its neighbours vote for, when they vote for
exactly one (a left neighbour saying one reading and a right one another: no vote).

Which neighbours make keys is the caller's choice (training takes those the character makes a
dictionary word with: 的 before 处 in 的处理 says nothing about 的处所). On three cpp-dev folds
(the other 80 % as the labelled examples, ``min_count`` 2) such a memory changed 21 of 5,730
readings, all to the gold one (benchmarks/RESULTS.md, "Polyphones, seventh part").

Keys and readings are vocabulary ids (the model layer knows no characters); unknown characters
(``ids.UNK``) make no key.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from pinhan import ids

LEFT, RIGHT = 0, 1


def _keys(chars: Sequence[int], at: int) -> list[tuple[int, int, int]]:
    """(character, side, neighbour) keys of position ``at`` in ``chars`` (char ids)."""
    me = int(chars[at])
    if me == ids.UNK:
        return []
    out = []
    if at > 0 and int(chars[at - 1]) != ids.UNK:
        out.append((me, LEFT, int(chars[at - 1])))
    if at + 1 < len(chars) and int(chars[at + 1]) != ids.UNK:
        out.append((me, RIGHT, int(chars[at + 1])))
    return out


class ReadingMemory:
    """(character, side, neighbour) -> the reading every labelled example with that key has.

    ``keys`` (M, 3) int: character id, side (:data:`LEFT` / :data:`RIGHT`), neighbour id;
    ``syllables`` (M,) int: the reading's toned-syllable id; ``counts`` (M,): examples behind it."""

    def __init__(self, keys: np.ndarray, syllables: np.ndarray, counts: np.ndarray | None = None) -> None:
        keys = np.asarray(keys, dtype=np.int64).reshape(-1, 3)
        syllables = np.asarray(syllables, dtype=np.int64).reshape(-1)
        counts = np.ones(len(syllables), dtype=np.int64) if counts is None else np.asarray(counts, dtype=np.int64).reshape(-1)
        if not len(keys) == len(syllables) == len(counts):
            raise ValueError(f"reading memory: {len(keys)} keys, {len(syllables)} readings, {len(counts)} counts")
        self.keys, self.syllables, self.counts = keys, syllables, counts
        self._table = {(int(c), int(side), int(n)): int(s) for (c, side, n), s in zip(keys, syllables)}

    @classmethod
    def build(cls, examples: Iterable[tuple[int, int, int | None, int | None]], min_count: int = 2) -> ReadingMemory:
        """From gold examples (char id, reading's syllable id, the left and the right neighbour's
        char id, None for a neighbour that makes no key): the keys held by at least
        ``min_count`` examples that all give the same reading."""
        seen: dict[tuple[int, int, int], Counter] = defaultdict(Counter)
        for char, syllable, left, right in examples:
            if int(char) == ids.UNK:
                continue
            for side, neighbour in ((LEFT, left), (RIGHT, right)):
                if neighbour is not None and int(neighbour) != ids.UNK:
                    seen[(int(char), side, int(neighbour))][int(syllable)] += 1
        kept = sorted((key, next(iter(c)), c.total()) for key, c in seen.items()
                      if len(c) == 1 and c.total() >= max(1, min_count))
        return cls(np.array([k for k, _, _ in kept], dtype=np.int64).reshape(-1, 3),
                   np.array([s for _, s, _ in kept], dtype=np.int64), np.array([n for _, _, n in kept], dtype=np.int64))

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray]) -> ReadingMemory | None:
        """The memory stored in a head file's tensors (:meth:`tensors`), None if it has none."""
        if "memory_keys" not in tensors:
            return None
        return cls(tensors["memory_keys"], tensors["memory_syllables"], tensors["memory_counts"])

    def tensors(self) -> dict[str, np.ndarray]:
        """The memory as int32 tensors to store beside a head's: ``memory_keys`` (M, 3),
        ``memory_syllables`` (M,), ``memory_counts`` (M,)."""
        return {"memory_keys": self.keys.astype(np.int32).reshape(-1, 3),
                "memory_syllables": self.syllables.astype(np.int32), "memory_counts": self.counts.astype(np.int32)}

    def __len__(self) -> int:
        return len(self._table)

    def vote(self, chars: Sequence[int], at: int) -> int | None:
        """The reading (syllable id) the neighbours of ``at`` agree on, or None (no key known, or
        the two sides disagree)."""
        found = {self._table[key] for key in _keys(chars, at) if key in self._table}
        return found.pop() if len(found) == 1 else None
