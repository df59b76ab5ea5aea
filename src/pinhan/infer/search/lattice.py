"""The word lattice: every way to cover typed letters with words, searched under a word n-gram.

Typed pinyin becomes a string of letters (``zhongguowenhua``; apostrophes mark boundaries no word
may cross). Every substring that spells a word of the :class:`~pinhan.lm.words.WordLexicon`
(toneless) is an arc, and so is every substring that abbreviates one (its syllables' initials,
``zgwh``, ``zhgwh``): this covers every syllable segmentation at once (``xian`` is 先 and 西安),
abbreviations and mixed input alike. A letter that no word covers is copied as typed at a high
cost, so every input has a path.

The search runs left to right over letter positions; a state is (position, last two words), and
each position keeps its ``beam`` best states (Viterbi: a state keeps only its best path). One
vectorised n-gram query per position scores every arc leaving it from every state there. A path
scores ``sum(log p_ngram(word | two before) + log p(reading | word) [+ abbreviation penalty])``
plus ``log p(</s> | last two)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pinhan.lm.ngram import WordNgram
from pinhan.lm.words import EOS, Reading, WordLexicon, shorten

COPY = -1  # the word id of a letter copied as typed (the n-gram scores it 0 and forgets history)
COPY_COST = -30.0  # below any real word: copying wins only where no word spells the letters


@dataclass(frozen=True)
class LatticeSettings:
    """How wide the lattice and its search are (defaults chosen on dev clauses)."""

    beam: int = 16  # states kept per letter position
    max_words: int = 40  # most frequent words taken per spelled substring
    max_abbreviated: int = 20  # most frequent words taken per abbreviated substring
    abbreviation_cost: float = -3.0  # added per abbreviated arc: full spellings win when both fit


@dataclass(frozen=True)
class LatticePath:
    """One way through the lattice: words (ids) with the letter span and reading of each."""

    words: tuple[int, ...]
    spans: tuple[tuple[int, int], ...]  # (start, end) letter offsets of each word
    readings: tuple[Reading | None, ...]  # toned syllables; None for a copied letter
    abbreviated: tuple[bool, ...]  # per word: typed as its initials
    score: float


@dataclass
class _Arcs:
    """Arcs leaving one letter position, as parallel arrays."""

    end: np.ndarray  # (A,) letter offset after the word
    word: np.ndarray  # (A,) word id, COPY for a copied letter
    cost: np.ndarray  # (A,) log p(reading | word) + penalties
    readings: list[Reading | None]
    abbreviated: list[bool]


class WordLattice:
    """N-best word paths for typed letters, under a word lexicon and a word n-gram."""

    def __init__(self, lexicon: WordLexicon, lm: WordNgram, settings: LatticeSettings | None = None) -> None:
        if lm.vocab_size != len(lexicon):
            raise ValueError(f"the word n-gram has {lm.vocab_size} words, the lexicon {len(lexicon)}")
        self.lexicon, self.lm, self.settings = lexicon, lm, settings or LatticeSettings()
        self._reading_cache: dict[tuple[int, str, bool], tuple[Reading, float]] = {}

    # --- arcs ---------------------------------------------------------------------------------
    def arcs(self, letters: str, boundaries: frozenset[int] = frozenset(), abbreviations: bool = True) -> list[_Arcs]:
        """Per start offset, the arcs leaving it (a word may not contain a boundary inside)."""
        return [self.arcs_at(letters, start, boundaries, abbreviations) for start in range(len(letters))]

    def arcs_at(self, letters: str, start: int, boundaries: frozenset[int] = frozenset(),
                abbreviations: bool = True) -> _Arcs:
        """The arcs leaving letter offset ``start`` (abbreviated words too, unless told not). An
        apostrophe inside a word must fall between two of its syllables (xi'an is 西安)."""
        ends, words, costs, readings, typed_short = [], [], [], [], []
        limit = max(self.lexicon.max_letters, self.lexicon.max_initials)
        for end in range(start + 1, min(len(letters), start + limit) + 1):
            piece = letters[start:end]
            inside = sorted(b - start for b in boundaries if start < b < end)
            kinds = ((False, piece, self.settings.max_words), (True, shorten(piece), self.settings.max_abbreviated))
            for abbreviated, key, cap in kinds[: 2 if abbreviations else 1]:
                table = self.lexicon.abbreviated if abbreviated else self.lexicon.spelled
                for wid in table.get(key, ())[:cap]:
                    reading, logp = self._reading(wid, key, abbreviated)
                    if inside and not set(inside) <= _syllable_starts(piece, reading, abbreviated):
                        continue
                    ends.append(end)
                    words.append(wid)
                    costs.append(logp + (self.settings.abbreviation_cost if abbreviated else 0.0))
                    readings.append(reading)
                    typed_short.append(abbreviated)
        ends.append(start + 1)  # copy the letter: keeps every input connected
        words.append(COPY)
        costs.append(COPY_COST)
        readings.append(None)
        typed_short.append(False)
        return _Arcs(np.array(ends), np.array(words, dtype=np.int64), np.array(costs), readings, typed_short)

    def _reading(self, wid: int, key: str, abbreviated: bool) -> tuple[Reading, float]:
        cached = self._reading_cache.get((wid, key, abbreviated))
        if cached is None:
            cached = self._reading_cache[(wid, key, abbreviated)] = self.lexicon.reading_logp(wid, key, abbreviated)
        return cached

    # --- search -------------------------------------------------------------------------------
    def nbest(self, letters: str, n: int = 16, boundaries: frozenset[int] = frozenset(),
              abbreviations: bool = True) -> list[LatticePath]:
        """The ``n`` best paths over ``letters`` (best first; fewer when the lattice has fewer)."""
        if not letters:
            return []
        arcs = self.arcs(letters, boundaries, abbreviations)
        bos = self.lm.BOS
        # Per position, its kept states as arrays: histories (k, 2), scores (k,), and where each
        # came from (previous position, state index there, arc index there).
        states: list[dict | None] = [None] * (len(letters) + 1)
        states[0] = {"hist": np.array([[bos, bos]]), "score": np.zeros(1), "from": np.full((1, 3), -1)}
        pending: list[list[tuple]] = [[] for _ in range(len(letters) + 1)]
        for pos in range(len(letters)):
            here = states[pos] = states[pos] or self._settle(pending[pos])
            if here is None:
                continue
            self._extend(pos, here, arcs[pos], pending)
        final = self._settle(pending[len(letters)])
        if final is None:
            return []
        end_lm = self.lm.logprob_grid(final["hist"], np.full((len(final["score"]), 1), EOS))[:, 0]  # (k,)
        total = final["score"] + end_lm
        states[len(letters)] = final
        order = np.argsort(-total, kind="stable")[:n]
        return [self._path(states, arcs, len(letters), int(i), float(total[i])) for i in order]

    def _extend(self, pos: int, here: dict, out: _Arcs, pending: list[list[tuple]]) -> None:
        """Score every arc leaving ``pos`` from every state there; hand the results to the arcs' ends."""
        S, A = len(here["score"]), len(out.word)
        asked = np.broadcast_to(out.word, (S, A))  # (S, A); COPY (-1) is scored 0
        lm = self.lm.logprob_grid(here["hist"], asked)  # (S, A)
        score = here["score"][:, None] + lm + out.cost[None, :]  # (S, A)
        copy = out.word == COPY
        prev = np.where(copy[None, :], self.lm.BOS, np.broadcast_to(here["hist"][:, 1:2], (S, A)))  # a copy forgets
        word = np.where(copy, self.lm.BOS, out.word)
        hist = np.stack([prev, np.broadcast_to(word, (S, A))], axis=-1)  # (S, A, 2)
        state_idx, arc_idx = np.meshgrid(np.arange(S), np.arange(A), indexing="ij")  # (S, A)
        for end in np.unique(out.end).tolist():
            cols = out.end == end
            pending[end].append((hist[:, cols].reshape(-1, 2), score[:, cols].reshape(-1),
                                 np.stack([np.full(int(cols.sum()) * S, pos), state_idx[:, cols].reshape(-1),
                                           arc_idx[:, cols].reshape(-1)], axis=1)))

    def _settle(self, candidates: list[tuple]) -> dict | None:
        """Candidates reaching one position -> its states: the best per history, ``beam`` of them."""
        if not candidates:
            return None
        hist = np.concatenate([c[0] for c in candidates])
        score = np.concatenate([c[1] for c in candidates])
        origin = np.concatenate([c[2] for c in candidates])
        key = (hist[:, 0].astype(np.int64) << 21) | hist[:, 1]
        order = np.lexsort((-score, key))  # by history, best first within each
        first = np.ones(len(order), dtype=bool)
        first[1:] = key[order][1:] != key[order][:-1]
        best = order[first]
        best = best[np.argsort(-score[best], kind="stable")[: self.settings.beam]]
        return {"hist": hist[best], "score": score[best], "from": origin[best]}

    def _path(self, states: list, arcs: list[_Arcs], pos: int, index: int, total: float) -> LatticePath:
        words, spans, readings, abbreviated = [], [], [], []
        while pos > 0:
            prev, prev_index, arc = (int(x) for x in states[pos]["from"][index])
            words.append(int(arcs[prev].word[arc]))
            spans.append((prev, pos))
            readings.append(arcs[prev].readings[arc])
            abbreviated.append(arcs[prev].abbreviated[arc])
            pos, index = prev, prev_index
        return LatticePath(tuple(words[::-1]), tuple(spans[::-1]), tuple(readings[::-1]), tuple(abbreviated[::-1]), total)

    def text(self, path: LatticePath, letters: str) -> str:
        """The hanzi of a path (copied letters as typed)."""
        return "".join(letters[s:e] if w == COPY else self.lexicon.words[w] for w, (s, e) in zip(path.words, path.spans))


def _syllable_starts(piece: str, reading: Reading, abbreviated: bool) -> set[int]:
    """Offsets inside ``piece`` where a syllable of ``reading`` starts (as typed: an abbreviation
    types zh / ch / sh as one or two letters)."""
    starts, at = set(), 0
    for syllable in reading:
        if at:
            starts.add(at)
        if abbreviated:
            at += 2 if piece[at : at + 2] in ("zh", "ch", "sh") else 1
        else:
            at += len(syllable.rstrip("012345"))
    return starts
