"""The word lattice with a user history mixed in (:mod:`pinhan.infer.user`).

Two things change when a conversion has a history, nothing else:

- **scores**: an arc of a word the user committed scores ``log(p_ngram + weight * p_user(word |
  previous word))`` instead of ``log p_ngram`` (:func:`~pinhan.infer.search.lattice_search.user_mix`,
  inside the compiled search): a word picked once comes first next time, a word picked after
  another more so after it; words the user never committed score as without a history.
- **arcs**: a phrase the user committed that the lexicon lacks (意大利面 picked in two pieces, a
  name from an imported word list) gets an id above the lexicon's and arcs wherever its toneless
  spelling or its abbreviation is typed.

The lattice's own arc cache (:class:`~pinhan.infer.search.lattice.WordLattice`) holds the
lexicon's arcs only; the history is applied after it, from a :class:`UserView` built per
(history, version, lexicon), so one user's words never reach another's conversions.
"""

from __future__ import annotations

import copy
import math
import threading
import weakref
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from pinhan.infer.search.lattice import LatticePath, WordLattice
from pinhan.infer.search.lattice_search import COPY, NO_USER, UserArrays
from pinhan.infer.user import START, Reading, UserModel
from pinhan.lm.words import EOS, abbreviation, shorten, toneless

_VIEWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # UserModel -> {id(lexicon): _ViewState}


@dataclass(frozen=True)
class UserView:
    """One history as the search of one lexicon takes it."""

    version: int
    arrays: UserArrays
    vocab: int  # the lexicon's size: ids from here up are the user's own phrases
    phrases: tuple[str, ...]  # text of id vocab + i
    readings: tuple[Reading, ...]
    spelled: dict[str, list[int]]  # toneless spelling -> phrase ids
    abbreviated: dict[str, list[int]]  # abbreviation (zh / ch / sh as z / c / s) -> phrase ids
    max_letters: int

    def text(self, wid: int, lattice: WordLattice) -> str:
        return self.phrases[wid - self.vocab] if wid >= self.vocab else lattice.lexicon.words[wid]


def user_view(user: UserModel, lattice: WordLattice) -> UserView:
    """The history's view for the lattice's lexicon, brought up to date when the history changed:
    by the entries changed since (:attr:`UserModel.changes`), or built again after entries were
    dropped (a new :attr:`UserModel.generation`) or the clock ran far from the view's."""
    states = _VIEWS.setdefault(user, {})
    state = states.get(id(lattice.lexicon))
    if state is None or state.view.version != user.version:
        if state is None or not state.brought_up_to(user):
            state = _ViewState(user, lattice)
        states[id(lattice.lexicon)] = state
    return state.view


def carry_views(old: UserModel, new: UserModel) -> None:
    """Give ``new``, a copy of ``old`` that is about to learn (the service learns on a copy and
    swaps it in), the views of ``old`` to bring up to date, instead of building its own from
    nothing; ``old``'s stay as they are. ``new`` must hold ``old``'s entries, generation and
    changes (:meth:`UserModel.copy`)."""
    states = _VIEWS.get(old)
    if states and new.generation == old.generation and new.changes == old.changes:
        _VIEWS[new] = {key: state.fork(new) for key, state in states.items()}


class _ViewState:
    """What a history's view is made of, kept between its versions.

    Counts are held in the units of a reference tick ``ref``: an entry's weight at ``ref``,
    ``count * 2 ** ((tick - ref) / half_life)``. The decay ages every entry by the same factor,
    so every ratio the search takes (``c(w) / total``, ``c(prev, w) / c(prev)``) is the same in
    these units and an entry nobody touched keeps its number; the unigram prior, which does not
    decay, is scaled to them instead. Arrays are replaced, never written in place: a view handed
    out earlier stays as it was."""

    def __init__(self, user: UserModel, lattice: WordLattice) -> None:
        self.lattice, self.user = lattice, user
        self._lock = threading.Lock()
        self.vocab = len(lattice.lexicon)
        self.generation, self.applied, self.ref = user.generation, len(user.changes), user.tick
        self.ids: dict[str, int] = {}
        self.phrases: list[str] = []
        self.readings: list[Reading] = []
        self.spelled: dict[str, list[int]] = {}
        self.abbreviated: dict[str, list[int]] = {}
        self.groups: dict[str, int] = {}  # toneless spelling -> its group of homophones (homophone_weight)
        for text, entry in user.words.items():
            self.ids[text] = self._word_id(text, entry[2])
        self.uni = np.array(sorted(self.ids.values()), dtype=np.int64)  # (U,) sorted
        self.counts, self.share = np.zeros(len(self.uni)), np.zeros(len(self.uni))  # (U,) each
        self.group = np.full(len(self.uni), -1, dtype=np.int64)  # (U,)
        for text, entry in user.words.items():
            at = int(np.searchsorted(self.uni, self.ids[text]))
            self.counts[at] = self._units(entry)
            self.group[at], self.share[at] = self._homophones(text, entry[2])
        pairs: dict[int, float] = {}
        contexts: dict[int, float] = defaultdict(float)
        for key, entry in user.bigrams.items():
            packed = self._pair(key)
            if packed is not None:
                pairs[packed] = self._units(entry)
                contexts[packed >> lattice.lm.ID_BITS] += pairs[packed]
        self.keys = np.array(sorted(pairs), dtype=np.int64)  # (B,) previous << bits | word, sorted
        self.values = np.array([pairs[k] for k in self.keys.tolist()], dtype=np.float64)  # (B,)
        self.ctx = np.array(sorted(contexts), dtype=np.int64)  # (C,) sorted
        self.ctx_totals = np.array([contexts[c] for c in self.ctx.tolist()], dtype=np.float64)  # (C,)
        self.view = self._view()

    def brought_up_to(self, user: UserModel) -> bool:
        """:meth:`update` under the state's lock (a fork copies nothing half-updated)."""
        with self._lock:
            return self.update(user)

    def update(self, user: UserModel) -> bool:
        """Apply the entries changed since the last version; False where the view must be built
        again (entries dropped, the clock far from ``ref``, a word whose new reading moved it
        between the lexicon and the user's own phrases)."""
        if (user is not self.user or user.generation != self.generation or len(user.changes) < self.applied
                or user.tick - self.ref > user.settings.half_life / 2):
            return False
        changed = user.changes[self.applied:]
        uni, counts, group, share = self.uni, self.counts.copy(), self.group, self.share
        for text in dict.fromkeys(key for kind, key in changed if kind == "w"):
            entry = user.words[text]
            known = self.ids.get(text)
            wid = self._word_id(text, entry[2], known)
            if wid is None:
                return False
            at = int(np.searchsorted(uni, wid))
            if known is not None:
                counts[at] = self._units(entry)
                continue
            self.ids[text] = wid
            g, q = self._homophones(text, entry[2])
            uni, counts = np.insert(uni, at, wid), np.insert(counts, at, self._units(entry))
            group, share = np.insert(group, at, g), np.insert(share, at, q)
        keys, values, ctx, ctx_totals = self.keys, self.values.copy(), self.ctx, self.ctx_totals.copy()
        for key in dict.fromkeys(key for kind, key in changed if kind == "b"):
            packed = self._pair(key)
            if packed is None:
                continue
            value, prev = self._units(user.bigrams[key]), packed >> self.lattice.lm.ID_BITS
            at = int(np.searchsorted(keys, packed))
            if at < len(keys) and keys[at] == packed:
                delta, values[at] = value - values[at], value
            else:
                delta = value
                keys, values = np.insert(keys, at, packed), np.insert(values, at, value)
            at = int(np.searchsorted(ctx, prev))
            if at < len(ctx) and ctx[at] == prev:
                ctx_totals[at] += delta
            else:
                ctx, ctx_totals = np.insert(ctx, at, prev), np.insert(ctx_totals, at, delta)
        self.uni, self.counts, self.group, self.share = uni, counts, group, share
        self.keys, self.values, self.ctx, self.ctx_totals = keys, values, ctx, ctx_totals
        self.applied = len(user.changes)
        self.view = self._view()
        return True

    def fork(self, user: UserModel) -> _ViewState:
        """This state for a copy of its history: the containers an update extends are copied
        (the arrays are never written in place, so they are shared)."""
        with self._lock:
            other = copy.copy(self)
            other.ids, other.groups = dict(self.ids), dict(self.groups)
            other.phrases, other.readings = list(self.phrases), list(self.readings)
            other.spelled, other.abbreviated = dict(self.spelled), dict(self.abbreviated)
        other.user, other._lock = user, threading.Lock()
        return other

    # --- pieces -------------------------------------------------------------------------------
    def _word_id(self, text: str, reading: Reading, known: int | None = None) -> int | None:
        """The lexicon's id of a word read as the lexicon spells it, else a new id among the
        user's own phrases; with ``known`` (the id it has): that id, or None where the reading
        moved it from one kind to the other."""
        lexicon = self.lattice.lexicon
        wid = lexicon.word_id.get(text)
        in_lexicon = wid is not None and wid != EOS and "".join(reading) in _spellings(lexicon, wid)
        if known is not None:
            return known if (known < self.vocab) == in_lexicon else None
        if in_lexicon:
            return wid
        wid = self.vocab + len(self.phrases)
        self.phrases.append(text)
        self.readings.append(reading)
        for table, key in ((self.spelled, "".join(reading)), (self.abbreviated, abbreviation(reading))):
            table[key] = table.get(key, []) + [wid]  # a new list: views handed out keep theirs
        return wid

    def _units(self, entry: list) -> float:
        """An entry's weight at the reference tick."""
        return entry[0] * 2.0 ** ((entry[1] - self.ref) / self.user.settings.half_life)

    def _pair(self, key: tuple[str, str]) -> int | None:
        previous, text = key
        lm = self.lattice.lm
        prev = lm.BOS if previous == START else self.ids.get(previous)
        return None if prev is None or text not in self.ids else (prev << lm.ID_BITS) | self.ids[text]

    def _homophones(self, text: str, reading: Reading) -> tuple[int, float]:
        """(group, q) of a word the homophone bonus may raise: its spelling's group and its share
        q of the n-gram's unigram mass there; (-1, 0) for a single character or a user's phrase."""
        wid = self.ids[text]
        if wid >= self.vocab or len(text) < 2:
            return -1, 0.0
        spelling = "".join(reading)
        group = self.groups.setdefault(spelling, len(self.groups))
        return group, max(_unigram_shares(self.lattice, spelling).get(wid, 0.0), 1e-9)

    def _bonus(self) -> np.ndarray:
        """(U,) ``homophone_weight * max(0, log(p_user(w | s) / q(w | s)))``: ``p_user`` the word's
        share of the history's counts spelled ``s``, with ``homophone_prior`` pseudo-counts of
        ``q`` (:class:`~pinhan.infer.user.UserSettings`); 0 outside a group."""
        settings = self.user.settings
        eligible = self.group >= 0
        bonus = np.zeros(len(self.uni))
        if settings.homophone_weight <= 0 or not eligible.any():
            return bonus
        counts = self.counts[eligible] * 0.5 ** ((self.user.tick - self.ref) / settings.half_life)  # weights now
        groups, q, prior = self.group[eligible], self.share[eligible], settings.homophone_prior
        committed = np.bincount(groups, weights=counts, minlength=len(self.groups))
        p_user = (counts + prior * q) / (committed[groups] + prior)
        bonus[eligible] = settings.homophone_weight * np.maximum(0.0, np.log(p_user / q))
        return bonus

    def _view(self) -> UserView:
        user, a = self.user, self.lattice.arrays
        settings = user.settings
        prior = settings.unigram_prior * 2.0 ** ((user.tick - self.ref) / settings.half_life)  # in the counts' units
        arrays = UserArrays(
            float(settings.weight), self.vocab, np.float32(a.gamma0 - a.log_vocab), self.uni, self.counts,
            float(self.counts.sum() + prior), self.ctx, self.ctx_totals, self.keys, self.values,
            float(settings.bigram_share), self.lattice.lm.ID_BITS, self._bonus())
        max_letters = max([len(k) for k in self.spelled] + [len(k) for k in self.abbreviated] + [0])
        return UserView(user.version, arrays, self.vocab, tuple(self.phrases), tuple(self.readings), dict(self.spelled),
                        dict(self.abbreviated), max_letters)


@lru_cache(maxsize=65_536)
def _unigram_shares(lattice: WordLattice, spelling: str) -> dict[int, float]:
    """word id -> its share of the n-gram's unigram mass among the lexicon's words spelled
    ``spelling`` (a word it does not store: none). Cached: the shares never change, and a view is
    built again from the whole history after every prune."""
    homophones, unigram = lattice.lexicon.spelled.get(spelling, ()), lattice.arrays.unigram
    mass = [math.exp(float(unigram[w])) if unigram[w] == unigram[w] else 0.0 for w in homophones]  # NaN: unstored
    total = sum(mass)
    return {w: m / total for w, m in zip(homophones, mass)} if total > 0 else {}


@lru_cache(maxsize=65_536)
def _spellings(lexicon, wid: int) -> frozenset[str]:
    return frozenset("".join(toneless(s) for s in reading) for reading in lexicon.readings[wid])


# --- search -------------------------------------------------------------------------------------
def user_nbest(lattice: WordLattice, view: UserView, letters: str, n: int = 16,
               boundaries: frozenset[int] = frozenset(), abbreviations: bool = True,
               beam: int | None = None, context: UserArrays = NO_USER) -> list[LatticePath]:
    """:meth:`WordLattice.nbest` with the history: the lexicon's arcs (from the lattice's cache)
    and the user's phrase arcs, searched with the history mixed into the scores (and then
    ``context``, a second history of lexicon words only: :func:`lexicon_arrays`)."""
    return lattice.nbest(letters, n, boundaries, abbreviations,
                         extra=_phrase_arcs(lattice, view, letters, boundaries, abbreviations), user=view.arrays,
                         context=context, beam=beam)


def lexicon_arrays(view: UserView, lattice: WordLattice) -> UserArrays:
    """A view's arrays without its own phrases (ids from ``view.vocab`` up), so that they can be
    mixed in beside another history, whose phrases number from the same id."""
    u, vocab, bos = view.arrays, view.vocab, lattice.lm.BOS
    if not view.phrases:
        return u
    keep = u.ids < vocab
    previous, word = u.bigram_keys >> u.bits, u.bigram_keys & ((1 << u.bits) - 1)
    pairs = ((previous < vocab) | (previous == bos)) & (word < vocab)
    contexts = (u.ctx_ids < vocab) | (u.ctx_ids == bos)
    return u._replace(ids=u.ids[keep], counts=u.counts[keep], bonus=u.bonus[keep], ctx_ids=u.ctx_ids[contexts],
                      ctx_totals=u.ctx_totals[contexts], bigram_keys=u.bigram_keys[pairs],
                      bigram_counts=u.bigram_counts[pairs])


def _phrase_arcs(lattice: WordLattice, view: UserView, letters: str, boundaries: frozenset[int],
                 abbreviations: bool) -> dict[int, list[tuple]]:
    """start -> [(end, id, cost, reading, abbreviated)] for the user's own phrases; none crosses
    an apostrophe (a conservative rule: a phrase is typed whole)."""
    out: dict[int, list[tuple]] = defaultdict(list)
    if not view.phrases:
        return out
    L = len(letters)
    for start in range(L):
        for end in range(start + 1, min(L, start + view.max_letters) + 1):
            if any(start < b < end for b in boundaries):
                break
            piece = letters[start:end]
            for wid in view.spelled.get(piece, ()):
                out[start].append((end, wid, 0.0, view.readings[wid - view.vocab], False))
            if abbreviations and len(piece) < 2 * view.max_letters:
                for wid in view.abbreviated.get(shorten(piece), ()):
                    reading = view.readings[wid - view.vocab]
                    if "".join(reading) != piece:  # spelled already
                        out[start].append((end, wid, lattice.settings.abbreviation_cost * len(reading), reading, True))
    return out



def path_text(lattice: WordLattice, view: UserView | None, path: LatticePath, letters: str) -> str:
    """The hanzi of a path (copied letters as typed, the user's phrases by their text)."""
    if view is None:
        return lattice.text(path, letters)
    return "".join(letters[s:e] if w == COPY else view.text(w, lattice) for w, (s, e) in zip(path.words, path.spans))


# --- learning -----------------------------------------------------------------------------------
def segment(lattice: WordLattice, text: str, pinyin: tuple[str, ...] | None,
            max_chars: int = 8) -> list[tuple[str, Reading]]:
    """Committed text cut into lexicon words that read as it was typed (fewest words; a hanzi the
    lexicon lacks stands alone), with toneless readings; characters that are not hanzi (typed
    through) are left out. ``pinyin`` None: text whose typing is unknown (the context before the
    cursor), each word read as the lexicon most often reads it, a hanzi the lexicon has no word
    for left out."""
    lexicon = lattice.lexicon
    n = len(text)
    if pinyin is None:
        plain = None
        read = [_is_hanzi(ch) for ch in text]
    else:
        plain = [toneless(p).lower() if p.isascii() and p.isalnum() else "" for p in pinyin]
        if len(plain) != n:
            return []
        read = [_is_hanzi(ch) and syllable.isalpha() for ch, syllable in zip(text, plain)]
    # run_end[i]: where the run of read hanzi holding position i ends (a word stays inside one)
    run_end, end = [0] * n, n
    for i in range(n - 1, -1, -1):
        if not read[i]:
            end = i
        run_end[i] = end
    best: list[tuple[int, int] | None] = [None] * (n + 1)  # (words so far, where the last word starts)
    best[0] = (0, -1)
    for i in range(n):
        if best[i] is None:
            continue
        if run_end[i] == i:  # not a read hanzi
            if best[i + 1] is None or best[i][0] < best[i + 1][0]:
                best[i + 1] = (best[i][0], -(i + 2))  # skipped
            continue
        if plain is None and text[i] not in lexicon.word_id:
            # no reading to learn it by: left out, counted as a word (fewest words must not
            # prefer leaving characters out to reading them in a word: 意 of 意大利)
            if best[i + 1] is None or best[i][0] + 1 < best[i + 1][0]:
                best[i + 1] = (best[i][0] + 1, -(i + 2))
        for j in range(i + 1, min(run_end[i], i + max_chars) + 1):
            wid = lexicon.word_id.get(text[i:j])
            fits = wid is not None and wid != EOS and (plain is None or "".join(plain[i:j]) in _spellings(lexicon, wid))
            if (fits or (j == i + 1 and plain is not None)) and (best[j] is None or best[i][0] + 1 < best[j][0]):
                best[j] = (best[i][0] + 1, i)
    out, at = [], n
    while at > 0 and best[at] is not None:
        start = best[at][1]
        if start < 0:  # a skipped character
            at -= 1
            continue
        word = text[start:at]
        reading = (tuple(plain[start:at]) if plain is not None
                   else tuple(toneless(s) for s in lexicon.reading_logp(lexicon.word_id[word])[0]))
        out.append((word, reading))
        at = start
    return out[::-1]


def _is_hanzi(ch: str) -> bool:
    code = ord(ch)
    return 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x2FFFF


def learn_pieces(user: UserModel, lattice: WordLattice, pieces) -> None:
    """Learn one conversion's commits: each piece (text, pinyin per character) as its words, in
    order; a conversion committed in more than one piece is learned whole too (意大利 + 面)."""
    previous, text, reading = START, "", []
    for piece, pinyin in pieces:
        words = segment(lattice, piece, tuple(pinyin))
        if words:
            user.learn(words, previous)
            previous = words[-1][0]
        text += piece
        reading += [r for _, word_reading in words for r in word_reading]
    if len(pieces) > 1 and len(reading) == len(text):
        user.add_phrase(text, tuple(reading))
