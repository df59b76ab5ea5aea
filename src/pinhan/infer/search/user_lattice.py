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

import math
import weakref
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from pinhan.infer.search.lattice import LatticePath, WordLattice
from pinhan.infer.search.lattice_search import COPY, UserArrays
from pinhan.infer.user import START, Reading, UserModel
from pinhan.lm.words import EOS, abbreviation, shorten, toneless

_VIEWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # UserModel -> {id(lexicon): UserView}


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
    """The history's view for the lattice's lexicon, rebuilt when the history changed."""
    views = _VIEWS.setdefault(user, {})
    view = views.get(id(lattice.lexicon))
    if view is None or view.version != user.version:
        view = _build_view(user, lattice)
        views[id(lattice.lexicon)] = view
    return view


def _build_view(user: UserModel, lattice: WordLattice) -> UserView:
    lexicon, lm = lattice.lexicon, lattice.lm
    vocab = len(lexicon)
    ids: dict[str, int] = {}
    phrases, readings = [], []
    spelled, abbreviated = defaultdict(list), defaultdict(list)
    for text, entry in user.words.items():
        reading = entry[2]
        wid = lexicon.word_id.get(text)
        if wid is None or wid == EOS or "".join(reading) not in _spellings(lexicon, wid):
            wid = vocab + len(phrases)
            phrases.append(text)
            readings.append(reading)
            spelled["".join(reading)].append(wid)
            abbreviated[abbreviation(reading)].append(wid)
        ids[text] = wid
    counts = {ids[t]: user.weight(e) for t, e in user.words.items()}
    uni = np.array(sorted(counts), dtype=np.int64)
    bits = lm.ID_BITS
    pairs: dict[int, float] = {}
    contexts: dict[int, float] = defaultdict(float)
    for (previous, text), entry in user.bigrams.items():
        prev = lm.BOS if previous == START else ids.get(previous)
        if prev is None or text not in ids:
            continue
        weight = user.weight(entry)
        pairs[(prev << bits) | ids[text]] = weight
        contexts[prev] += weight
    keys, ctx = np.array(sorted(pairs), dtype=np.int64), np.array(sorted(contexts), dtype=np.int64)
    a = lattice.arrays
    settings = user.settings
    bonus = _homophone_bonus(user, lattice, ids, counts) if settings.homophone_weight > 0 else {}
    arrays = UserArrays(
        float(settings.weight), vocab, np.float32(a.gamma0 - a.log_vocab), uni,
        np.array([counts[i] for i in uni], dtype=np.float64), float(sum(counts.values()) + settings.unigram_prior),
        ctx, np.array([contexts[c] for c in ctx], dtype=np.float64),
        keys, np.array([pairs[k] for k in keys], dtype=np.float64), float(settings.bigram_share), bits,
        np.array([bonus.get(i, 0.0) for i in uni], dtype=np.float64))
    max_letters = max([len(k) for k in spelled] + [len(k) for k in abbreviated] + [0])
    return UserView(user.version, arrays, vocab, tuple(phrases), tuple(readings), dict(spelled), dict(abbreviated),
                    max_letters)


def _homophone_bonus(user: UserModel, lattice: WordLattice, ids: dict[str, int], counts: dict[int, float]) -> dict[int, float]:
    """word id -> ``homophone_weight * max(0, log(p_user(w | s) / q(w | s)))`` for the history's
    lexicon words of two or more characters (:class:`~pinhan.infer.user.UserSettings`): ``q`` the
    word's share of the n-gram's unigram mass among the words spelled ``s``, ``p_user`` the
    history's share of its counts spelled ``s``, with ``homophone_prior`` pseudo-counts of ``q``."""
    lexicon, settings = lattice.lexicon, user.settings
    vocab = len(lexicon)
    by_spelling: dict[str, list[int]] = defaultdict(list)
    for text, entry in user.words.items():
        wid = ids[text]
        if wid < vocab and len(text) > 1:
            by_spelling["".join(entry[2])].append(wid)
    out, prior = {}, settings.homophone_prior
    for spelling, wids in by_spelling.items():
        shares = _unigram_shares(lattice, spelling)
        committed = sum(counts[w] for w in wids)
        for wid in wids:
            q = max(shares.get(wid, 0.0), 1e-9)
            p_user = (counts[wid] + prior * q) / (committed + prior)
            out[wid] = settings.homophone_weight * max(0.0, math.log(p_user / q))
    return out


@lru_cache(maxsize=65_536)
def _unigram_shares(lattice: WordLattice, spelling: str) -> dict[int, float]:
    """word id -> its share of the n-gram's unigram mass among the lexicon's words spelled
    ``spelling`` (a word it does not store: none). Cached: a history rebuilds its view after every
    commit, and the shares never change."""
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
               beam: int | None = None) -> list[LatticePath]:
    """:meth:`WordLattice.nbest` with the history: the lexicon's arcs (from the lattice's cache)
    and the user's phrase arcs, searched with the history mixed into the scores."""
    return lattice.nbest(letters, n, boundaries, abbreviations,
                         extra=_phrase_arcs(lattice, view, letters, boundaries, abbreviations), user=view.arrays,
                         beam=beam)


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
                    if "".join(view.readings[wid - view.vocab]) != piece:  # spelled already
                        out[start].append((end, wid, lattice.settings.abbreviation_cost,
                                           view.readings[wid - view.vocab], True))
    return out



def path_text(lattice: WordLattice, view: UserView | None, path: LatticePath, letters: str) -> str:
    """The hanzi of a path (copied letters as typed, the user's phrases by their text)."""
    if view is None:
        return lattice.text(path, letters)
    return "".join(letters[s:e] if w == COPY else view.text(w, lattice) for w, (s, e) in zip(path.words, path.spans))


# --- learning -----------------------------------------------------------------------------------
def segment(lattice: WordLattice, text: str, pinyin: tuple[str, ...], max_chars: int = 8) -> list[tuple[str, Reading]]:
    """Committed text cut into lexicon words that read as it was typed (fewest words; a hanzi the
    lexicon lacks stands alone), with toneless readings; characters that are not hanzi (typed
    through) are left out."""
    lexicon = lattice.lexicon
    plain = [toneless(p).lower() if p.isascii() and p.isalnum() else "" for p in pinyin]
    n = len(text)
    if len(plain) != n:
        return []
    best: list[tuple[int, int] | None] = [None] * (n + 1)  # (words so far, where the last word starts)
    best[0] = (0, -1)
    for i in range(n):
        if best[i] is None:
            continue
        if not (_is_hanzi(text[i]) and plain[i].isalpha()):
            if best[i + 1] is None or best[i][0] < best[i + 1][0]:
                best[i + 1] = (best[i][0], -(i + 2))  # skipped
            continue
        for j in range(i + 1, min(n, i + max_chars) + 1):
            if not all(plain[m].isalpha() and _is_hanzi(text[m]) for m in range(i, j)):
                break
            wid = lexicon.word_id.get(text[i:j])
            fits = wid is not None and wid != EOS and "".join(plain[i:j]) in _spellings(lexicon, wid)
            if (fits or j == i + 1) and (best[j] is None or best[i][0] + 1 < best[j][0]):
                best[j] = (best[i][0] + 1, i)
    out, at = [], n
    while at > 0 and best[at] is not None:
        start = best[at][1]
        if start < 0:  # a skipped character
            at -= 1
            continue
        out.append((text[start:at], tuple(plain[start:at])))
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
