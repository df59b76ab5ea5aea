"""The word lattice: every way to cover typed letters with words, searched under a word n-gram.

Typed pinyin becomes a string of letters (``zhongguowenhua``; apostrophes mark boundaries no word
may cross). Every substring that spells a word of the :class:`~pinhan.lm.words.WordLexicon`
(toneless) is an arc, and so is every substring that abbreviates one (its syllables' initials,
``zgwh``, ``zhgwh``): this covers every syllable segmentation at once (``xian`` is 先 and 西安),
abbreviations and mixed input alike. A letter that no word covers is copied as typed at a high
cost, so every input has a path.

The search runs left to right over letter positions; a state is (position, last two words), and
each position keeps its ``beam`` best states (Viterbi: a state keeps only its best path, and
remembers every other way in). It is compiled (:mod:`pinhan.infer.search.lattice_search`); this
module builds the arcs and walks the back-pointers. The N best paths are the best of the whole
graph of kept states (:func:`~pinhan.infer.search.lattice_search.kbest`), not the best path of
each final state: those differ only in their last two words, so 窗的隔音不好 could never follow
床的隔音不好 (both end in 隔音 不好). A path scores ``sum(log p_ngram(word | two before) + log p(reading | word)
[+ abbreviation penalty])`` plus ``log p(</s> | last two)``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from pinhan.infer.search.lattice_search import (COPY, NO_USER, NgramArrays, SearchTables, UserArrays, final_scores,
                                                kbest, lattice_search, ngram_arrays)
from pinhan.lm.ngram import WordNgram
from pinhan.lm.words import EOS, ERHUA, Reading, WordLexicon, shorten, toneless_spelling
from pinhan.pinyin import SYLLABLES

COPY_COST = -30.0  # below any real word: copying wins only where no word spells the letters
PIECE_CACHE = 200_000  # typed pieces whose arcs are kept
START_CACHE = 8_192  # arcs leaving a position, kept by what they depend on (~100 arcs each)
MAX_SYLLABLE_LETTERS = 6  # the longest toneless syllable (zhuang, shuang)

ExtraArc = tuple  # (end, word id, cost, reading, abbreviated): an arc from outside the lexicon


@dataclass(frozen=True)
class LatticeSettings:
    """How wide the lattice and its search are (defaults chosen on dev clauses)."""

    beam: int = 16  # states kept per letter position
    max_words: int = 40  # most frequent words taken per spelled substring
    max_abbreviated: int = 20  # most frequent words taken per abbreviated substring
    # added per abbreviated syllable (not per arc: a cost per arc is a cost per word, and on initials
    # alone it ranked idioms like 镞砺括羽 first; dev, RESULTS.md "Names, a reranker"): full
    # spellings win when both fit
    abbreviation_cost: float = -3.0
    erhua_cost: float = -3.0  # added to 儿 typed as a lone r (erhua the lexicon does not list; 玩儿 is spelled wanr)
    completion_cost: float = -4.0  # added to a word whose last syllable the input has only begun (dev: RESULTS.md)
    max_completed: int = 10  # most frequent words taken per completed spelling
    kbest_pops: int = 20_000  # bound on the N-best extraction's work (partial paths taken from its queue)


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


_COPY_ARC = _Arcs(np.array([1]), np.array([COPY]), np.array([COPY_COST]), [None], [False])  # one letter as typed


class WordLattice:
    """N-best word paths for typed letters, under a word lexicon and a word n-gram."""

    def __init__(self, lexicon: WordLexicon, lm: WordNgram, settings: LatticeSettings | None = None) -> None:
        if lm.vocab_size != len(lexicon):
            raise ValueError(f"the word n-gram has {lm.vocab_size} words, the lexicon {len(lexicon)}")
        self.lexicon, self.lm, self.settings = lexicon, lm, settings or LatticeSettings()
        self._piece_cache: dict[tuple[str, bool | None], _Arcs | None] = {}
        self._start_cache: dict[tuple, tuple[_Arcs, ...]] = {}
        self._begins_cache: tuple[dict[str, bool], dict[str, bool]] = ({}, {})  # spelled, abbreviated

    # --- arcs ---------------------------------------------------------------------------------
    def arcs(self, letters: str, boundaries: frozenset[int] = frozenset(), abbreviations: bool = True) -> list[_Arcs]:
        """Per start offset, the arcs leaving it (a word may not contain a boundary inside)."""
        return [self.arcs_at(letters, start, boundaries, abbreviations) for start in range(len(letters))]

    def arcs_at(self, letters: str, start: int, boundaries: frozenset[int] = frozenset(),
                abbreviations: bool = True) -> _Arcs:
        """The arcs leaving letter offset ``start`` (abbreviated words too, unless told not). An
        apostrophe inside a word must fall between two of its syllables (xi'an is 西安)."""
        parts = self._parts_at(letters, start, boundaries, abbreviations)
        arcs = parts[0] if len(parts) == 1 else _join(parts)
        return _Arcs(arcs.end + start, arcs.word, arcs.cost, arcs.readings, arcs.abbreviated)

    def _parts_at(self, letters: str, start: int, boundaries: frozenset[int],
                  abbreviations: bool) -> tuple[_Arcs, ...]:
        """:meth:`arcs_at` as the parts it is made of (the copy arc, then the words of each piece,
        then completions: ends ascending, relative to ``start``), joined only once for a whole
        search (:meth:`nbest`) instead of once per position.

        Cached by what they depend on: the letters the scan for words reads from here (up to
        the first piece that begins no key, :meth:`_reach`) and the apostrophes among them.
        Typing sends the same beginning again with one more letter, and only the last positions'
        arcs change; a new clause shares most of its short reaches (``shi`` and one more letter)
        with earlier ones. Words completed from a last syllable begun at the input's end depend
        on all the letters left: they are cached apart (per rest of the input) and joined on."""
        window = letters[start : start + max(self.lexicon.max_letters, self.lexicon.max_initials)]
        inside = tuple(b - start for b in sorted(boundaries) if start < b)
        reach = self._reach(window, abbreviations)
        read = min(len(window), max(reach))
        key = (window[:read], tuple(b for b in inside if b < read), abbreviations)
        parts = self._start_cache.get(key)
        if parts is None:
            parts = _remember(self._start_cache, START_CACHE, key,
                              self._arcs_from(window[:read], frozenset(key[1]), reach))
        # a completion needs the letters before its begun last syllable to begin a spelled key
        # (_completion_arcs): only where the spelled scan reaches within a syllable of the end
        if (len(letters) - start <= self.lexicon.max_letters and not inside
                and len(window) - min(MAX_SYLLABLE_LETTERS, len(window)) < reach[0]):
            completed = self._completion_arcs(window)
            if completed is not None:  # its end, the input's, comes after every other arc's
                parts = (*parts, completed)
        return parts

    def _reach(self, window: str, abbreviations: bool) -> tuple[int, int]:
        """Per index (spelled, abbreviated), the length of the first piece of ``window`` that
        begins none of its keys (``len(window) + 1`` if every piece does; 1 for the abbreviated
        index when abbreviations are off): the scan for words stops there."""
        reach = [len(window) + 1, len(window) + 1 if abbreviations else 1]
        for end in range(1, len(window) + 1):
            piece = window[:end]
            if reach[0] > end and not self._begins_a_key(piece, False):
                reach[0] = end
            if reach[1] > end and not self._begins_a_key(piece, True):
                reach[1] = end
            if max(reach) <= end:
                break
        return reach[0], reach[1]

    def _arcs_from(self, window: str, inside: frozenset[int], reach: tuple[int, int]) -> tuple[_Arcs, ...]:
        """:meth:`_parts_at` for offset 0 of ``window``, uncached and without completions: the
        words each piece shorter than its index's ``reach`` (:meth:`_reach`) spells or abbreviates."""
        parts: list[_Arcs] = [_COPY_ARC]  # keeps every input connected; its end, 1, is the nearest
        for end in range(1, min(len(window), max(reach) - 1) + 1):
            piece = window[:end]
            for abbreviated in (False, True):
                if end >= reach[abbreviated]:
                    continue
                arcs = self._key_arcs(piece, abbreviated)
                if arcs is None:
                    continue
                cut = {b for b in inside if b < end}
                if cut:  # keep the words whose syllables the apostrophes separate
                    keep = [i for i, r in enumerate(arcs.readings) if cut <= _syllable_starts(piece, r, abbreviated)]
                    if not keep:
                        continue
                    arcs = _Arcs(arcs.end[keep], arcs.word[keep], arcs.cost[keep], [arcs.readings[i] for i in keep],
                                 [abbreviated] * len(keep))
                parts.append(arcs)
        return tuple(parts)  # ends ascending: parts come by end

    def _begins_a_key(self, piece: str, abbreviated: bool) -> bool:
        """Whether some key of the spelled (or abbreviation) index starts with ``piece``.
        Remembered (bounded), per index: the same syllables recur from clause to clause, and a
        bisect over some 400,000 keys was a tenth of a new clause's conversion time."""
        cache = self._begins_cache[abbreviated]
        known = cache.get(piece)
        if known is None:
            keys = self._sorted_keys[abbreviated]
            key = shorten(piece) if abbreviated else piece
            at = bisect_left(keys, key)
            known = _remember(cache, PIECE_CACHE, piece, at < len(keys) and keys[at].startswith(key))
        return known

    @cached_property
    def _sorted_keys(self) -> tuple[list[str], list[str]]:
        return sorted(self.lexicon.spelled), sorted(self.lexicon.abbreviated)

    def _completion_arcs(self, rest: str) -> _Arcs | None:
        """Words that ``rest`` (the input's last letters) spells up to a last syllable it has only
        begun: ``zhongg`` and ``zhonggu`` are 中国 as well (a keystroke at a time, an input method
        shows the word before its last syllable is complete). Cached like :meth:`_key_arcs`."""
        cache_key = (rest, None)
        if cache_key in self._piece_cache:
            return self._piece_cache[cache_key]
        words, readings, costs, seen = [], [], [], set()
        for cut in range(1, min(MAX_SYLLABLE_LETTERS, len(rest)) + 1):
            head, begun = rest[:-cut], rest[-cut:]
            if head and not self._begins_a_key(head, False):  # far from the end: no word spans the rest
                continue
            for syllable in _completions(begun):
                spelled = head + syllable
                for wid in self.lexicon.spelled.get(spelled, ())[: self.settings.max_completed]:
                    reading, logp = self.lexicon.reading_logp(wid, spelled)
                    # the reading must spell exactly this (an erhua key, zher for 这儿, is not
                    # zh + a begun syllable er)
                    if (wid not in seen and reading[-1].rstrip("012345") == syllable
                            and toneless_spelling(reading) == spelled):
                        seen.add(wid)
                        words.append(wid)
                        readings.append(reading)
                        costs.append(logp + self.settings.completion_cost)
        arcs = None
        if words:
            arcs = _Arcs(np.full(len(words), len(rest)), np.array(words, dtype=np.int64), np.array(costs), readings,
                         [False] * len(words))
        return _remember(self._piece_cache, PIECE_CACHE, cache_key, arcs)

    def _key_arcs(self, piece: str, abbreviated: bool) -> _Arcs | None:
        """The words a typed piece spells (or abbreviates), with their reading and cost; ``end``
        relative to the piece's start. Cached: an input method sends the same syllables again and
        again."""
        cache_key = (piece, abbreviated)
        if cache_key in self._piece_cache:
            return self._piece_cache[cache_key]
        key = shorten(piece) if abbreviated else piece
        table, cap = ((self.lexicon.abbreviated, self.settings.max_abbreviated) if abbreviated
                      else (self.lexicon.spelled, self.settings.max_words))
        ids = table.get(key, ())[:cap]
        arcs = None
        if ids:
            chosen = [self.lexicon.reading_logp(wid, key, abbreviated) for wid in ids]
            penalty = (self.settings.abbreviation_cost * len(key) if abbreviated  # one initial a syllable
                       else self.settings.erhua_cost if key == ERHUA else 0.0)
            arcs = _Arcs(np.full(len(ids), len(piece)), np.array(ids, dtype=np.int64),
                         np.array([logp + penalty for _, logp in chosen]), [r for r, _ in chosen], [abbreviated] * len(ids))
        return _remember(self._piece_cache, PIECE_CACHE, cache_key, arcs)

    # --- search -------------------------------------------------------------------------------
    def nbest(self, letters: str, n: int = 16, boundaries: frozenset[int] = frozenset(), abbreviations: bool = True,
              *, extra: Mapping[int, Sequence[ExtraArc]] | None = None, user: UserArrays = NO_USER,
              context: UserArrays = NO_USER, beam: int | None = None) -> list[LatticePath]:
        """The ``n`` best paths over ``letters`` (best first; fewer when the lattice has fewer;
        at most ``beam``, the states kept per position: the settings' unless given).

        ``extra``: more arcs per start offset (a user's own phrases, :mod:`pinhan.infer.search.user_lattice`),
        joined after the lexicon's of the same end; ``user``: a history mixed into the n-gram term;
        ``context``: a second one mixed in after it (lexicon words only: the context's history)."""
        if not letters:
            return []
        L = len(letters)
        parts = [self._parts_at(letters, start, boundaries, abbreviations) for start in range(L)]
        if extra:
            parts = [(_joined(_join(p), extra[start], start),) if extra.get(start) else p for start, p in enumerate(parts)]
        flat = [part for at in parts for part in at]
        sizes = [len(part.word) for part in flat]
        per_start = np.array([sum(len(part.word) for part in at) for at in parts], dtype=np.int64)  # (L,)
        starts = np.concatenate([[0], np.cumsum(per_start)]).astype(np.int64)  # (L+1,) by start
        ends = np.concatenate([part.end for part in flat]) + np.repeat(np.arange(L), per_start)  # (A,) absolute
        words = np.concatenate([part.word for part in flat]).astype(np.int64)  # (A,)
        costs = np.concatenate([part.cost for part in flat])  # (A,)
        width = beam or self.settings.beam
        tables = SearchTables(*lattice_search(self.arrays, user, context, L, starts, ends.astype(np.int64), words,
                                              costs.astype(np.float64), width, self.lm.BOS, n > 1))
        k = int(tables.count[L])
        if k == 0:
            return []
        final = final_scores(self.arrays, tables.prev[L, :k], tables.word[L, :k], EOS)
        total = tables.score[L, :k] + final
        info = _ArcInfo(flat, sizes)
        best = int(np.argmax(total))  # the first of equal ones
        paths = [self._path(tables, words, info, L, best, float(total[best]))]
        if n == 1:
            return paths
        # the other paths: the k best of the whole state graph, not one per final state (which
        # differ only in their last two words: 床的隔音不好 and 窗的隔音不好 share every state)
        done, parent, edge, score = kbest(tables.score.reshape(-1), L * width + np.arange(k, dtype=np.int64),
                                          final.astype(np.float64), tables.edge_to, tables.edge_from,
                                          tables.edge_score, n + 1, self.settings.kbest_pops)
        seen = {(paths[0].words, paths[0].spans)}
        for item in done:
            chain, at = [], int(item)
            while edge[at] >= 0:  # the done item holds the first edge, its parent the second, ...
                chain.append(int(edge[at]))
                at = int(parent[at])
            path = self._edge_path(tables, width, words, info, chain, float(score[item]))
            if (path.words, path.spans) not in seen and len(paths) < n:
                seen.add((path.words, path.spans))
                paths.append(path)
        return paths

    @cached_property
    def arrays(self) -> NgramArrays:
        """The compiled search's view of the word n-gram (made on first use; see :func:`ngram_arrays`)."""
        return ngram_arrays(self.lm)

    @staticmethod
    def _path(tables: SearchTables, words: np.ndarray, info: _ArcInfo, pos: int, index: int, total: float) -> LatticePath:
        """Walk the back-pointers from state ``index`` at ``pos`` to the start."""
        path_words, spans, path_readings, path_abbreviated = [], [], [], []
        while pos > 0:
            prev, prev_index, arc = (int(tables.from_pos[pos, index]), int(tables.from_state[pos, index]),
                                     int(tables.from_arc[pos, index]))
            path_words.append(int(words[arc]))
            spans.append((prev, pos))
            reading, abbreviated = info[arc]
            path_readings.append(reading)
            path_abbreviated.append(abbreviated)
            pos, index = prev, prev_index
        return LatticePath(tuple(path_words[::-1]), tuple(spans[::-1]), tuple(path_readings[::-1]),
                           tuple(path_abbreviated[::-1]), total)

    @staticmethod
    def _edge_path(tables: SearchTables, width: int, words: np.ndarray, info: _ArcInfo, chain: list[int],
                   total: float) -> LatticePath:
        """The path of a chain of state-graph edges, start first (:func:`kbest`)."""
        arcs = tables.edge_arc[chain].tolist()
        starts, ends = (tables.edge_from[chain] // width).tolist(), (tables.edge_to[chain] // width).tolist()
        readings, abbreviated = zip(*(info[a] for a in arcs))
        return LatticePath(tuple(words[arcs].tolist()), tuple(zip(starts, ends)), readings, abbreviated, total)

    def text(self, path: LatticePath, letters: str) -> str:
        """The hanzi of a path (copied letters as typed)."""
        return "".join(letters[s:e] if w == COPY else self.lexicon.words[w] for w, (s, e) in zip(path.words, path.spans))


class _ArcInfo:
    """(reading, abbreviated) of an arc by its index in the search's flattened arcs, looked up
    where a path needs it (a few dozen a search) instead of flattening thousands of lists."""

    def __init__(self, parts: list[_Arcs], sizes: list[int]) -> None:
        self.parts = parts
        self.firsts = np.concatenate([[0], np.cumsum(sizes)]).tolist()  # firsts[i]: flat index of part i's first arc

    def __getitem__(self, arc: int) -> tuple[Reading | None, bool]:
        part = bisect_right(self.firsts, arc) - 1  # the last of equal firsts: an empty part holds no arc
        local = arc - self.firsts[part]
        return self.parts[part].readings[local], bool(self.parts[part].abbreviated[local])


def _join(parts: list[_Arcs]) -> _Arcs:
    return _Arcs(np.concatenate([p.end for p in parts]), np.concatenate([p.word for p in parts]),
                 np.concatenate([p.cost for p in parts]), [r for p in parts for r in p.readings],
                 [a for p in parts for a in p.abbreviated])


def _remember(cache: dict, limit: int, key, value):
    """Keep ``value`` under ``key`` and return it; a full cache starts again (bounded: a
    long-running service sees many inputs)."""
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value
    return value


def _joined(arcs: _Arcs, extra: Sequence[ExtraArc], start: int) -> _Arcs:
    """``arcs`` (ends relative to ``start``) with ``extra`` (absolute ends) joined, still by end;
    stable: the lexicon's arcs first within an end."""
    end = np.concatenate([arcs.end, [e - start for e, *_ in extra]])
    order = np.argsort(end, kind="stable")
    readings = list(arcs.readings) + [r for *_, r, _ in extra]
    abbreviated = list(arcs.abbreviated) + [a for *_, a in extra]
    return _Arcs(end[order], np.concatenate([arcs.word, [w for _, w, *_ in extra]])[order],
                 np.concatenate([arcs.cost, [c for _, _, c, *_ in extra]])[order],
                 [readings[i] for i in order], [abbreviated[i] for i in order])


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


@lru_cache(maxsize=None)
def _completions(begun: str) -> tuple[str, ...]:
    """Toneless syllables that start with ``begun`` and are longer than it."""
    return tuple(sorted(s for s in SYLLABLES if s.startswith(begun) and s != begun))
