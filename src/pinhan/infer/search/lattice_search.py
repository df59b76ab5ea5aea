"""The word lattice's beam search and its n-gram queries, compiled (numba).

The lattice asks the word n-gram about every (state, arc) pair of every letter position: some
100,000 log-probabilities for a 17-syllable clause. As numpy calls that cost ~20 calls a position
and a binary search over the whole key array per pair (RESULTS.md, "Word lattice"). Compiled, each
state looks up its contexts once (:func:`context_of`: whether they are stored, and their backoff
weights) and each arc then finds its bigram and trigram in open-addressing hash tables
(:func:`logprob`): one or two memory reads where a binary search within the context's block of
sorted keys took a dozen (4x faster over whole clauses, the same numbers). The arithmetic is
:meth:`pinhan.lm.ngram.KneserNeyNgram.logprob_grid`'s, in the same float32 steps, so both give
identical numbers (tested). The queries live in this module, not in ``pinhan.lm``, because
numba's cache does not notice a change to a compiled function in another file.

The search of :mod:`pinhan.infer.search.lattice` over letter positions: a state is (position,
last two words); the states reaching a position keep the best path per history and the ``beam``
best histories. Arcs come flattened, sorted by start and, within a start, by end (``starts[p]``
is the first arc leaving position p). States are kept in (positions + 1, beam) tables so that
the caller walks the back-pointers in Python. Every candidate that reaches a kept history, not
only its best, is also kept as an edge of the graph of kept states, in which :func:`kbest` finds
the N best paths (A* from the end, the Viterbi scores as its exact estimate).

Tie order is fixed: the candidates reaching a position are listed by (source position, source
state, arc), equal scores keep that order when a history keeps its best path, and equal scores
among the kept histories keep history order (previous word, word). The numpy implementation that
preceded it did the same; the behaviour fixture pins it.

A user history (:class:`UserArrays`) changes only the n-gram term of the arcs of words it holds;
:data:`NO_USER` is none (``weight`` 0: the mixing is skipped, so its numbers are the plain
search's).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

COPY = -1  # the word id of a letter copied as typed: scored 0, and the history starts again


# --- the word n-gram's queries -------------------------------------------------------------
class NgramArrays(NamedTuple):
    """A word n-gram's arrays as the kernels take them (keys as int64: 3 x 21 bits fit).

    Orders below 3 of a lower-order model are empty arrays; ``order`` says how many are used."""

    order: int
    unigram: np.ndarray  # (V,) float32 stored log p(word), NaN where not stored (a lookup, not a search)
    ctx1: np.ndarray  # (C1,) int64 stored one-word contexts, sorted
    gamma1: np.ndarray  # (C1,) float32 log backoff weights
    ctx2: np.ndarray  # (C2,) int64 stored two-word contexts
    gamma2: np.ndarray
    defaults: np.ndarray  # (3,) float32 log weight of an unstored context, per context length
    gamma0: np.float32  # the empty context's log backoff weight (to the uniform distribution)
    log_vocab: np.float32  # log vocabulary size
    bits: int
    hash1: np.ndarray  # (2^b1,) int64 bigram keys (previous << 21 | word) by slot, -1 empty (:func:`_hash_table`)
    hval1: np.ndarray  # (2^b1,) float32 their log p
    shift1: int  # 64 - b1
    hash2: np.ndarray  # (2^b2,) trigram keys (two before << 42 | previous << 21 | word) by slot
    hval2: np.ndarray
    shift2: int


def ngram_arrays(lm) -> NgramArrays:
    """The kernels' view of a :class:`~pinhan.lm.ngram.WordNgram` (its own tables: for the shipped
    word trigram about 62 MB, 50 MB of it the bigram hash table)."""
    empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)

    def order_k(arrays, k, dtype):
        return np.ascontiguousarray(arrays[k], dtype=dtype) if k < lm.order else (empty_i if dtype == np.int64 else empty_f)

    ctx0_stored = len(lm.ctx_keys[0]) > 0 and int(lm.ctx_keys[0][0]) == 0
    gamma0 = np.float32(lm.ctx_log_gamma[0][0]) if ctx0_stored else np.float32(lm.default_log_gamma[0])
    unigram = np.full(lm.vocab_size, np.nan, dtype=np.float32)
    unigram[lm.keys[0].astype(np.int64)] = lm.logp[0].astype(np.float32)
    defaults = np.array([lm.default_log_gamma[k] if k < lm.order else 0.0 for k in range(3)], dtype=np.float32)
    return NgramArrays(
        lm.order, unigram,
        order_k(lm.ctx_keys, 1, np.int64), order_k(lm.ctx_log_gamma, 1, np.float32),
        order_k(lm.ctx_keys, 2, np.int64), order_k(lm.ctx_log_gamma, 2, np.float32),
        defaults, gamma0, np.float32(math.log(lm.vocab_size)), lm.ID_BITS,
        *_hash_table(order_k(lm.keys, 1, np.int64), order_k(lm.logp, 1, np.float32)),
        *_hash_table(order_k(lm.keys, 2, np.int64), order_k(lm.logp, 2, np.float32)))


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the key times 2^64 / phi, top bits


@numba.njit(cache=True, nogil=True)
def _slot(key: int, shift: int) -> int:
    return np.int64((np.uint64(key) * _GOLDEN) >> np.uint64(shift))


@numba.njit(cache=True, nogil=True)
def _fill(keys: np.ndarray, logp: np.ndarray, table: np.ndarray, values: np.ndarray, shift: int) -> None:
    mask = len(table) - 1
    for i in range(len(keys)):
        h = _slot(keys[i], shift)
        while table[h] != -1:
            h = (h + 1) & mask
        table[h], values[h] = keys[i], logp[i]


def _hash_table(keys: np.ndarray, logp: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(slots, values, shift): an open-addressing table of ``keys`` -> ``logp`` (linear probing,
    at most half full; a key's first slot is the top bits of its Fibonacci hash)."""
    bits = max(1, int(2 * len(keys)).bit_length())
    table, values = np.full(1 << bits, -1, dtype=np.int64), np.zeros(1 << bits, dtype=np.float32)
    _fill(keys, logp, table, values, 64 - bits)
    return table, values, 64 - bits


@numba.njit(cache=True, nogil=True)
def _hashed(table: np.ndarray, values: np.ndarray, shift: int, key: int):
    """(found, log p) of ``key`` in a :func:`_hash_table`."""
    mask = len(table) - 1
    h = _slot(key, shift)
    while True:
        k = table[h]
        if k == key:
            return True, values[h]
        if k == -1:
            return False, np.float32(0.0)
        h = (h + 1) & mask


@numba.njit(cache=True, nogil=True)
def _first_at_least(keys: np.ndarray, value: int, lo: int, hi: int) -> int:
    """The first index in keys[lo:hi] holding a key >= value (hi if none)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if keys[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


@numba.njit(cache=True, nogil=True)
def context_of(ctx_keys: np.ndarray, ctx_gamma: np.ndarray, context: int):
    """(stored, log gamma): whether ``context`` is stored, and its backoff weight."""
    at = _first_at_least(ctx_keys, context, 0, len(ctx_keys))
    if at == len(ctx_keys) or ctx_keys[at] != context:
        return False, np.float32(0.0)
    return True, ctx_gamma[at]


@numba.njit(cache=True, nogil=True)
def logprob(a, word: int, stored2: bool, gamma2, context2: int, stored1: bool, gamma1, context1: int) -> np.float32:
    """log p(word | the history whose contexts :func:`context_of` described), float32.

    ``a`` is an :class:`NgramArrays`; an order the model lacks is skipped (its context unstored
    and its default weight 0)."""
    backoff = np.float32(0.0)
    if a.order >= 3:
        found, value = _hashed(a.hash2, a.hval2, a.shift2, (context2 << a.bits) | word) if stored2 else (False, np.float32(0.0))
        if found:
            return backoff + value
        backoff += gamma2 if stored2 else a.defaults[2]
    if a.order >= 2:
        found, value = _hashed(a.hash1, a.hval1, a.shift1, (context1 << a.bits) | word) if stored1 else (False, np.float32(0.0))
        if found:
            return backoff + value
        backoff += gamma1 if stored1 else a.defaults[1]
    stored = a.unigram[word]
    if not np.isnan(stored):
        return backoff + stored
    backoff += a.gamma0
    return backoff - a.log_vocab


# --- the search ------------------------------------------------------------------------------
class SearchTables(NamedTuple):
    """Per position p (0..L) and kept state i < count[p]: history, score and back-pointer."""

    count: np.ndarray  # (L+1,) states kept at each position (0: none reaches it)
    prev: np.ndarray  # (L+1, beam) int64 the word before last
    word: np.ndarray  # (L+1, beam) int64 the last word
    score: np.ndarray  # (L+1, beam) float64 path score so far
    from_pos: np.ndarray  # (L+1, beam) int64 the position the last arc left from
    from_state: np.ndarray  # (L+1, beam) int64 the state there
    from_arc: np.ndarray  # (L+1, beam) int64 the arc (global index)
    # every candidate that reached a kept history, the best one included: the state graph that
    # :func:`kbest` walks (node = position * beam + state)
    edge_to: np.ndarray  # (E,) int64 the node it reaches
    edge_from: np.ndarray  # (E,) int64 the node it leaves
    edge_arc: np.ndarray  # (E,) int64 its arc
    edge_score: np.ndarray  # (E,) float64 its n-gram log-probability plus the arc's cost


@numba.njit(cache=True, nogil=True)
def _state_contexts(a: NgramArrays, prev: int, word: int):
    """The two contexts of history (prev, word): stored?, gamma, and the two-word context's
    packed key (the one-word context's key is ``word``)."""
    context2 = (prev << a.bits) | word
    stored2, gamma2 = False, np.float32(0.0)
    if a.order >= 3:
        stored2, gamma2 = context_of(a.ctx2, a.gamma2, context2)
    stored1, gamma1 = False, np.float32(0.0)
    if a.order >= 2:
        stored1, gamma1 = context_of(a.ctx1, a.gamma1, word)
    return stored2, gamma2, context2, stored1, gamma1


class UserArrays(NamedTuple):
    """A user history as the search takes it (:mod:`pinhan.infer.search.user_lattice` builds it).

    An arc's word w that the history holds scores ``log(p_ngram + weight * p_user(w | previous))``
    with ``p_user(w | prev) = share * c(prev, w) / c(prev, .) + (1 - share) * c(w) / total`` (the
    unigram alone where the history has no bigram after prev); other
    words score as without a history. Ids from ``vocab`` up are the user's own phrases, which the
    n-gram scores as an unseen word (``unknown``)."""

    weight: float  # 0: no history (the search is then the plain one, number for number)
    vocab: int  # first id of the user's own phrases
    unknown: np.float32  # the n-gram's log p of a word it does not know
    ids: np.ndarray  # (U,) int64 word ids the history holds, sorted
    counts: np.ndarray  # (U,) float64 their recency-weighted counts
    total: float  # the counts' sum plus the unigram prior
    ctx_ids: np.ndarray  # (C,) int64 previous words of stored bigrams (BOS for a conversion's start), sorted
    ctx_totals: np.ndarray  # (C,) float64 the bigram counts after each
    bigram_keys: np.ndarray  # (B,) int64 previous << bits | word, sorted
    bigram_counts: np.ndarray  # (B,) float64
    prior: float  # the bigram's share in p_user
    bits: int
    bonus: np.ndarray  # (U,) float64 added to each history word's mixed score (UserSettings.homophone_weight)


NO_USER = UserArrays(0.0, 1 << 62, np.float32(0.0), np.zeros(0, dtype=np.int64), np.zeros(0), 1.0,
                     np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0), 1.0, 21,
                     np.zeros(0))


@numba.njit(cache=True, nogil=True)
def _lookup(keys: np.ndarray, values: np.ndarray, key: int) -> float:
    at = _first_at_least(keys, key, 0, len(keys))
    return values[at] if at < len(keys) and keys[at] == key else 0.0


@numba.njit(cache=True, nogil=True)
def history_rows(u: UserArrays, words: np.ndarray) -> np.ndarray:
    """(A,) each arc's word's row in the history (its count and its bonus), -1 where the history
    lacks it or counts it 0. Found once per search, not once per state an arc leaves: a call
    that takes the history's arrays costs more than the mixing itself (2.3 against 0.9 ms a
    pd1998 clause's search when every arc and state looked its word up)."""
    rows = np.full(len(words), -1, dtype=np.int64)
    if u.weight > 0.0:
        for arc in range(len(words)):
            at = _first_at_least(u.ids, words[arc], 0, len(u.ids))
            if at < len(u.ids) and u.ids[at] == words[arc] and u.counts[at] != 0.0:
                rows[arc] = at
    return rows


@numba.njit(cache=True, nogil=True)
def user_mix(u: UserArrays, prev: int, word: int, at: int, lm) -> np.float32:
    """``lm`` (log p_ngram(word | ...)) mixed with the history (see :class:`UserArrays`);
    ``at``: the word's row in it (:func:`history_rows`)."""
    p_user = u.counts[at] / u.total
    context = _lookup(u.ctx_ids, u.ctx_totals, prev)
    if context > 0.0:
        bigram = _lookup(u.bigram_keys, u.bigram_counts, (prev << u.bits) | word)
        p_user = u.prior * bigram / context + (1.0 - u.prior) * p_user
    return np.float32(math.log(math.exp(np.float64(lm)) + u.weight * p_user) + u.bonus[at])


@numba.njit(cache=True, nogil=True)
def lattice_search(a: NgramArrays, u: UserArrays, c: UserArrays, n_letters: int, starts: np.ndarray, ends: np.ndarray,
                   words: np.ndarray, costs: np.ndarray, beam: int, bos: int, edges: bool):
    """Viterbi with a beam over letter positions, a user history ``u`` mixed into the arcs'
    n-gram scores, then a second one ``c`` into the result (the context's words, which hold
    lexicon ids only; :data:`NO_USER`: none); returns the state tables (:class:`SearchTables` fields
    in order). ``starts`` (L+1,) arc offsets per start; ``ends``/``words``/``costs`` (A,);
    ``edges``: keep the state graph's edges (False: one path is wanted, the tables' own)."""
    L = n_letters
    count = np.zeros(L + 1, dtype=np.int64)
    prev = np.zeros((L + 1, beam), dtype=np.int64)
    word = np.zeros((L + 1, beam), dtype=np.int64)
    score = np.zeros((L + 1, beam), dtype=np.float64)
    from_pos = np.full((L + 1, beam), -1, dtype=np.int64)
    from_state = np.full((L + 1, beam), -1, dtype=np.int64)
    from_arc = np.full((L + 1, beam), -1, dtype=np.int64)
    # per state: its contexts, looked up once (stored2, context2, stored1)
    ctx_int = np.zeros((L + 1, beam, 3), dtype=np.int64)
    ctx_gamma = np.zeros((L + 1, beam, 2), dtype=np.float32)
    cursor = starts[:-1].copy()  # per source position: its first arc not yet consumed (ends ascend)
    count[0], prev[0, 0], word[0, 0] = 1, bos, bos
    _remember_contexts(a, prev, word, ctx_int, ctx_gamma, 0, 0)
    capacity = 1024
    c_prev = np.empty(capacity, dtype=np.int64)
    c_word = np.empty(capacity, dtype=np.int64)
    c_score = np.empty(capacity, dtype=np.float64)
    c_from = np.empty((capacity, 3), dtype=np.int64)
    table, stamps = np.zeros(2 * capacity, dtype=np.int64), np.full(2 * capacity, -1, dtype=np.int64)  # _settle's
    c_history, state_of = np.empty(capacity, dtype=np.int64), np.full(capacity, -1, dtype=np.int64)  # _settle's, _add_edges'
    n_edges, (e_to, e_from, e_arc, e_score) = 0, _edge_arrays(4096)
    rows, context_rows = history_rows(u, words), history_rows(c, words)  # (A,) each
    for pos in range(1, L + 1):
        n = 0
        for src in range(pos):
            lo = cursor[src]
            hi = lo
            while hi < starts[src + 1] and ends[hi] == pos:
                hi += 1
            cursor[src] = hi
            if count[src] == 0 or hi == lo:
                continue
            need = n + count[src] * (hi - lo)
            if need > capacity:
                while capacity < need:
                    capacity *= 2
                c_prev, c_word, c_score, c_from = _grow(c_prev, c_word, c_score, c_from, capacity)
                table, stamps = np.zeros(2 * capacity, dtype=np.int64), np.full(2 * capacity, -1, dtype=np.int64)
                c_history, state_of = np.empty(capacity, dtype=np.int64), np.full(capacity, -1, dtype=np.int64)
            for s in range(count[src]):
                ci = ctx_int[src, s]
                cg = ctx_gamma[src, s]
                base = score[src, s]
                for arc in range(lo, hi):
                    w = words[arc]
                    if w == COPY:
                        lm = np.float32(0.0)
                        c_prev[n], c_word[n] = bos, bos
                    else:
                        if w >= u.vocab:  # a phrase of the user's own: unknown to the n-gram
                            lm = u.unknown
                        else:
                            lm = logprob(a, w, ci[0] != 0, cg[0], ci[1], ci[2] != 0, cg[1], word[src, s])
                        if rows[arc] >= 0:
                            lm = user_mix(u, word[src, s], w, rows[arc], lm)
                        if context_rows[arc] >= 0:
                            lm = user_mix(c, word[src, s], w, context_rows[arc], lm)
                        c_prev[n], c_word[n] = word[src, s], w
                    c_score[n] = (base + lm) + costs[arc]
                    c_from[n, 0], c_from[n, 1], c_from[n, 2] = src, s, arc
                    n += 1
        if n == 0:
            continue
        kept = _settle(c_prev[:n], c_word[:n], c_score[:n], beam, a.bits, table, stamps, pos, c_history)
        count[pos] = len(kept)
        for i in range(len(kept)):
            j = kept[i]
            prev[pos, i], word[pos, i], score[pos, i] = c_prev[j], c_word[j], c_score[j]
            from_pos[pos, i], from_state[pos, i], from_arc[pos, i] = c_from[j, 0], c_from[j, 1], c_from[j, 2]
            if pos < L:
                _remember_contexts(a, prev, word, ctx_int, ctx_gamma, pos, i)
        if edges:
            n_edges, e_to, e_from, e_arc, e_score = _add_edges(pos, beam, kept, n, c_history, c_from, c_score, score,
                                                               state_of, n_edges, e_to, e_from, e_arc, e_score)
    return (count, prev, word, score, from_pos, from_state, from_arc,
            e_to[:n_edges], e_from[:n_edges], e_arc[:n_edges], e_score[:n_edges])


@numba.njit(cache=True, nogil=True)
def _add_edges(pos, beam, kept, n, c_history, c_from, c_score, score, state_of, n_edges, e_to, e_from, e_arc, e_score):
    """Every candidate of a kept history at ``pos`` as an edge of the state graph (appended
    from ``n_edges`` on, the arrays grown as needed); returns the new count and the arrays.
    ``state_of`` (per history number: its kept state, else -1) is all -1 before and after."""
    for i in range(len(kept)):
        state_of[c_history[kept[i]]] = i
    for j in range(n):
        i = state_of[c_history[j]]
        if i < 0:
            continue
        if n_edges == len(e_to):
            e_to, e_from, e_arc, e_score = _grow_edges(e_to, e_from, e_arc, e_score)
        src, s = c_from[j, 0], c_from[j, 1]
        e_to[n_edges], e_from[n_edges] = pos * beam + i, src * beam + s
        e_arc[n_edges], e_score[n_edges] = c_from[j, 2], c_score[j] - score[src, s]
        n_edges += 1
    for i in range(len(kept)):
        state_of[c_history[kept[i]]] = -1
    return n_edges, e_to, e_from, e_arc, e_score


@numba.njit(cache=True, nogil=True)
def _edge_arrays(n: int):
    """Empty edge arrays for ``n`` edges: to, from, arc (int64), score (float64)."""
    return (np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64),
            np.empty(n, dtype=np.float64))


@numba.njit(cache=True, nogil=True)
def _grow_edges(e_to, e_from, e_arc, e_score):
    """The edge arrays at twice their length, their contents kept."""
    n = 2 * len(e_to)
    return _resize(e_to, n), _resize(e_from, n), _resize(e_arc, n), _resize(e_score, n)


@numba.njit(cache=True, nogil=True)
def kbest(score: np.ndarray, final_nodes: np.ndarray, final_score: np.ndarray, edge_to: np.ndarray,
          edge_from: np.ndarray, edge_score: np.ndarray, k: int, max_pops: int):
    """The ``k`` best complete paths of the state graph (:class:`SearchTables`), best first.

    A* from the end backwards: a partial path is a suffix from one of ``final_nodes`` (its
    ``final_score`` is the end-of-input term) back to some node, ranked by its own score plus
    that node's Viterbi score (``score``, flattened: the best way to reach the node, so the
    ranking is exact and the first ``k`` suffixes reaching node 0 are the ``k`` best paths).
    Ties pop in push order. Returns (done, parent, edge, total): the items that reached the start,
    and per item its parent item (the suffix it extends; -1 for a final node), its edge (-1 for a
    final node) and its total. A path's edges, start first, are its ``edge`` values walking
    ``parent`` from a ``done`` item. ``max_pops`` bounds the work on a pathological graph."""
    n_nodes = len(score)
    first = np.zeros(n_nodes + 1, dtype=np.int64)  # incoming edges of node v: order[first[v]:first[v + 1]]
    for e in range(len(edge_to)):
        first[edge_to[e] + 1] += 1
    for v in range(n_nodes):
        first[v + 1] += first[v]
    order = np.empty(len(edge_to), dtype=np.int64)
    fill = first[:-1].copy()
    for e in range(len(edge_to)):  # stable: a node's edges in the order the search met them
        order[fill[edge_to[e]]] = e
        fill[edge_to[e]] += 1
    cap = 1024
    node = np.empty(cap, dtype=np.int64)
    suffix = np.empty(cap, dtype=np.float64)
    parent = np.empty(cap, dtype=np.int64)
    edge = np.empty(cap, dtype=np.int64)
    heap = np.empty(cap, dtype=np.int64)  # item ids, a binary max-heap on (priority, -item)
    prio = np.empty(cap, dtype=np.float64)
    n_items, n_heap = 0, 0
    done = np.empty(k, dtype=np.int64)
    n_done, pops = 0, 0
    for f in range(len(final_nodes)):
        node[n_items], suffix[n_items], parent[n_items], edge[n_items] = final_nodes[f], final_score[f], -1, -1
        prio[n_items] = score[final_nodes[f]] + final_score[f]
        n_heap = _push(heap, prio, n_heap, n_items)
        n_items += 1
    while n_heap > 0 and n_done < k and pops < max_pops:
        item = heap[0]
        n_heap = _pop(heap, prio, n_heap)
        pops += 1
        v = node[item]
        if v == 0:
            done[n_done] = item
            n_done += 1
            continue
        need = n_items + first[v + 1] - first[v]
        if need > cap:
            while cap < need:
                cap *= 2
            node, suffix, parent, edge, prio, heap = (_resize(node, cap), _resize(suffix, cap), _resize(parent, cap),
                                                      _resize(edge, cap), _resize(prio, cap), _resize(heap, cap))
        for j in range(first[v], first[v + 1]):
            e = order[j]
            u = edge_from[e]
            node[n_items], suffix[n_items], parent[n_items], edge[n_items] = u, suffix[item] + edge_score[e], item, e
            prio[n_items] = score[u] + suffix[n_items]
            n_heap = _push(heap, prio, n_heap, n_items)
            n_items += 1
    return done[:n_done], parent[:n_items], edge[:n_items], prio[:n_items]


@numba.njit(cache=True, nogil=True)
def _resize(a, cap):
    """``a`` (1-d) in a new array of length ``cap``, its values first."""
    out = np.empty(cap, dtype=a.dtype)
    out[: len(a)] = a
    return out


@numba.njit(cache=True, nogil=True)
def _above(prio, i, j) -> bool:
    """Item i pops before item j: a higher priority, or an equal one pushed earlier."""
    return prio[i] > prio[j] or (prio[i] == prio[j] and i < j)


@numba.njit(cache=True, nogil=True)
def _push(heap, prio, n, item) -> int:
    heap[n] = item
    at = n
    while at > 0:
        up = (at - 1) >> 1
        if not _above(prio, heap[at], heap[up]):
            break
        heap[at], heap[up] = heap[up], heap[at]
        at = up
    return n + 1


@numba.njit(cache=True, nogil=True)
def _pop(heap, prio, n) -> int:
    n -= 1
    heap[0] = heap[n]
    at = 0
    while True:
        left, best = 2 * at + 1, at
        if left < n and _above(prio, heap[left], heap[best]):
            best = left
        if left + 1 < n and _above(prio, heap[left + 1], heap[best]):
            best = left + 1
        if best == at:
            return n
        heap[at], heap[best] = heap[best], heap[at]
        at = best


@numba.njit(cache=True, nogil=True)
def _remember_contexts(a, prev, word, ctx_int, ctx_gamma, pos, i):
    stored2, gamma2, context2, stored1, gamma1 = _state_contexts(a, prev[pos, i], word[pos, i])
    ctx_int[pos, i, 0], ctx_int[pos, i, 1], ctx_int[pos, i, 2] = 1 if stored2 else 0, context2, 1 if stored1 else 0
    ctx_gamma[pos, i, 0], ctx_gamma[pos, i, 1] = gamma2, gamma1


@numba.njit(cache=True, nogil=True)
def _grow(c_prev, c_word, c_score, c_from, capacity):
    n = len(c_prev)
    p, w, s, f = (np.empty(capacity, dtype=np.int64), np.empty(capacity, dtype=np.int64),
                  np.empty(capacity, dtype=np.float64), np.empty((capacity, 3), dtype=np.int64))
    p[:n], w[:n], s[:n], f[:n] = c_prev, c_word, c_score, c_from
    return p, w, s, f


@numba.njit(cache=True, nogil=True)
def _settle(c_prev: np.ndarray, c_word: np.ndarray, c_score: np.ndarray, beam: int, bits: int,
            table: np.ndarray, stamps: np.ndarray, stamp: int, history: np.ndarray) -> np.ndarray:
    """Candidate indices kept: the best per history (earliest on ties), then the ``beam`` best
    of those, by score then history (previous word, word). ``history[i]`` is set to candidate
    i's history, numbered in order of first sight.

    One pass, no sort: an open-addressing table (``table``/``stamps``, a power of two at least
    twice the candidates; a slot is in use when its stamp is this call's ``stamp``, so nothing
    is cleared between positions) maps each history to its best candidate so far; the kept few
    are then chosen by insertion into a list of at most ``beam``."""
    mask = len(table) - 1
    low = (1 << bits) - 1
    best = np.empty(len(c_prev), dtype=np.int64)  # per distinct history, in order of first sight
    n_best = 0
    for i in range(len(c_prev)):
        key = (c_prev[i] << bits) | c_word[i]
        slot = ((key >> bits) * 1000003 + (key & low) * 2654435761) & mask
        while True:
            if stamps[slot] != stamp:  # free: a history not seen at this position yet
                stamps[slot], table[slot] = stamp, n_best
                best[n_best] = i
                history[i] = n_best
                n_best += 1
                break
            j = best[table[slot]]
            if (c_prev[j] << bits) | c_word[j] == key:
                history[i] = table[slot]
                if c_score[i] > c_score[j]:
                    best[table[slot]] = i
                break
            slot = (slot + 1) & mask
    kept = np.empty(min(beam, n_best), dtype=np.int64)
    n_kept = 0
    for u in range(n_best):
        i = best[u]
        key = (c_prev[i] << bits) | c_word[i]
        at = n_kept  # where it goes: after every kept one that is better (or as good with a smaller key)
        while at > 0:
            j = kept[at - 1]
            other = (c_prev[j] << bits) | c_word[j]
            if c_score[j] > c_score[i] or (c_score[j] == c_score[i] and other < key):
                break
            at -= 1
        if at >= len(kept):
            continue
        last = min(n_kept, len(kept) - 1)
        for m in range(last, at, -1):
            kept[m] = kept[m - 1]
        kept[at] = i
        n_kept = min(n_kept + 1, len(kept))
    return kept


@numba.njit(cache=True, nogil=True)
def start_scores(a: NgramArrays, words: np.ndarray, bos: int) -> np.ndarray:
    """(W,) log p(word | the start of a conversion) of each word id, float32 (the numbers of
    ``logprob_grid`` after (BOS, BOS), without its per-call numpy work)."""
    stored2, gamma2, context2, stored1, gamma1 = _state_contexts(a, bos, bos)
    out = np.zeros(len(words), dtype=np.float32)
    for i in range(len(words)):
        out[i] = logprob(a, words[i], stored2, gamma2, context2, stored1, gamma1, bos)
    return out


@numba.njit(cache=True, nogil=True)
def final_scores(a: NgramArrays, prev: np.ndarray, word: np.ndarray, eos: int) -> np.ndarray:
    """(k,) log p(</s> | history) of each final state, float32."""
    out = np.zeros(len(prev), dtype=np.float32)
    for i in range(len(prev)):
        stored2, gamma2, context2, stored1, gamma1 = _state_contexts(a, prev[i], word[i])
        out[i] = logprob(a, eos, stored2, gamma2, context2, stored1, gamma1, word[i])
    return out
