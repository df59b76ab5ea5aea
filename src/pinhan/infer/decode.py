"""Constrained decoding over a :class:`~pinhan.infer.runner.Runner`: one beam search for all three
tasks (greedy = a beam of one), sampling for continuation, and the encoder head's fast path.

What differs between tasks is a :class:`Constraint`: which ids each step may emit (p2h: hanzi
readable as the typed syllable; h2p: the readings of the given hanzi; gen: any real character, or
those a pinyin hint allows), and what the decoder is fed back after emitting one (the output pair
of hanzi and reading, exactly as in training). Special tokens never come out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from pinhan import ids
from pinhan.data.candidates import CandidateIndex
from pinhan.data.examples import PinyinTables
from pinhan.infer.runner import Runner

GREEDY_BELOW = 1e-4  # a sampling temperature under this means greedy decoding

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
            cands = self.index.candidates(_key(self.keys[row][step]))
        # nothing in the lexicon reads so (a syllable the corpus never had): any readable hanzi
        return cands if len(cands) else self.index.all_hanzi

    def feed(self, row: int, step: int, token: int) -> Step:
        key = _key(self.keys[row][step])
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
        return _key(hint[step]) if hint is not None and step < len(hint) else None

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


def _key(row: np.ndarray) -> tuple[int, int, int]:
    return (int(row[0]), int(row[1]), int(row[2]))


@dataclass
class Hypothesis:
    tokens: list[int]  # emitted ids (hanzi for p2h / gen, toned syllables for h2p)
    score: float  # summed log-probability under the full softmax, or summed logits


@dataclass
class Trace:
    """The best partial hypotheses of one input row at every step (for prefix candidates):
    ``steps[t]`` lists (first t + 1 tokens, score) pairs, best first."""

    steps: list[list[tuple[tuple[int, ...], float]]] = field(default_factory=list)


@dataclass
class Fusion:
    """Shallow fusion with a character language model: a candidate's step score becomes
    ``score_model + weight * log p_lm(char | context + output so far)``, computed for the ``top``
    candidates the model ranks highest (the others are dropped)."""

    lm: object  # anything with logprob_grid(histories (H, h), chars (H, M)) -> (H, M), and order and
    # unigram_logp, e.g. pinhan.lm.ngram.CharNgram
    weight: float
    contexts: np.ndarray  # (B, h) ids of the committed text before each row's input, BOS-padded on the left
    # 32: on 300 dev clauses fast mode's search gained 0.9 / 4 points (char / sentence) over 16
    # and nothing more with 64; accurate mode's beam search was the same with 16, 32 or 64.
    top: int = 32


def lm_contexts(texts: list[str], vocab, order: int) -> np.ndarray:
    """(B, order-1) ids of each text's last characters for an n-gram, start-of-line padded."""
    from pinhan.lm.ngram import BOS

    width = max(order - 1, 0)
    out = np.full((len(texts), width), BOS, dtype=np.int64)
    for row, text in enumerate(texts):
        tail = [vocab.char_id(ch) for ch in text[len(text) - width:]] if width else []
        if tail:
            out[row, width - len(tail):] = tail
    return out


def candidate_matrix(lists: list[np.ndarray]) -> np.ndarray:
    """(B, C) candidate ids padded with -1."""
    width = max(len(c) for c in lists)
    out = np.full((len(lists), width), -1, dtype=np.int64)
    for row, cands in enumerate(lists):
        out[row, : len(cands)] = cands
    return out


def beam_search(
    runner: Runner,
    encoded,
    constraint: Constraint,
    n_rows: int,
    beam_size: int = 4,
    fusion: Fusion | None = None,
    trace_width: int = 0,
    scoring: str = "softmax",
) -> tuple[list[list[Hypothesis]], list[Trace]]:
    """Constrained beam search with the KV cache over ``n_rows`` encoded inputs.

    ``scoring`` is ``"softmax"`` (each step adds the allowed id's log-probability under the full
    softmax) or ``"logits"`` (hanzi head only: it adds the raw logit, computed for the allowed ids
    alone). Logits are cheaper (no pass over the whole output matrix) and rank the hypotheses of
    one reading of the input as well or better; scores of different readings (a xian against a
    xi'an) are only comparable under the softmax.

    Returns up to ``beam_size`` hypotheses per row (best first, distinct) and, when
    ``trace_width`` > 0, each row's best ``trace_width`` partial hypotheses at every step.
    """
    if scoring not in ("softmax", "logits") or (scoring == "logits" and constraint.head != "chars"):
        raise ValueError(f"scoring {scoring!r} is not available for the {constraint.head} head")
    B, K = n_rows, beam_size
    rows = np.repeat(np.arange(B), K)  # (B*K,) beam -> its input row
    state = runner.start(encoded, rows)
    lengths = np.array([constraint.length(r) for r in range(B)])
    steps = int(lengths.max(initial=0))
    # Only the first beam of each row is live at step 0, so the K beams start distinct.
    scores = np.full((B, K), -np.inf)
    scores[:, 0] = 0.0
    history = np.zeros((B * K, 0), dtype=np.int64)  # (B*K, t) emitted ids
    step_in = {"chars": np.full(B * K, ids.BOS, dtype=np.int64)}
    step_in.update({k: np.zeros(B * K, dtype=np.int64) for k in ("initials", "finals", "tones")})
    traces = [Trace() for _ in range(B)]
    head = runner.char_log_probs if constraint.head == "chars" else runner.syllable_log_probs
    for t in range(steps):
        hidden, state = runner.step(state, step_in)
        done = t >= lengths  # (B,) finished rows extend every beam by PAD at no cost
        cands = candidate_matrix([np.array([ids.PAD]) if done[r] else constraint.allowed(r, t) for r in range(B)])  # (B, C)
        if scoring == "logits":
            lp = runner.char_logits_at(hidden, np.repeat(cands, K, axis=0)).reshape(B, K, -1)  # (B, K, C)
        else:
            # The full softmax: the mass the model puts outside the allowed set is what tells a
            # wrong reading of the keystrokes (xi'an for xian) from the right one. (Normalising
            # over the candidates only scored 5.6 points lower on pd1998-test, first 1000
            # items, 10-minute model.)
            logp = head(hidden).reshape(B, K, -1)  # (B, K, V)
            lp = np.take_along_axis(logp, np.maximum(cands, 0)[:, None, :], axis=2)  # (B, K, C)
            lp = np.where(cands[:, None, :] < 0, -np.inf, lp)
        lp[done] = np.where(cands[done][:, None, :] >= 0, 0.0, -np.inf)
        if fusion is not None:
            lp = _fuse(lp, cands, done, history.reshape(B, K, -1), fusion)
        C = lp.shape[-1]
        total = (scores[:, :, None] + lp).reshape(B, K * C)  # (B, K*C)
        keep = max(K, trace_width)
        order = _best(total, keep)  # (B, <= keep) flat positions, best first
        n = min(K, order.shape[1])  # fewer than K when a step allows fewer ids than beams: dead slots
        top = np.zeros((B, K), dtype=np.int64)
        top[:, :n] = order[:, :n]
        top_scores = np.full((B, K), -np.inf)
        top_scores[:, :n] = np.take_along_axis(total, order[:, :n], axis=1)
        beam, pos = top // C, top % C  # (B, K)
        source = (np.arange(B)[:, None] * K + beam).reshape(-1)  # (B*K,) rows of the old beams
        chosen = np.maximum(cands[np.arange(B)[:, None], pos], ids.PAD).reshape(-1)  # (B*K,) dead beams: PAD
        if trace_width:
            _record(traces, order[:, :trace_width], total, history, cands, C, K, done)
        scores = top_scores
        history = np.concatenate([history[source], chosen[:, None]], axis=1)
        state = runner.reorder(state, source)
        feed = np.zeros((B * K, 4), dtype=np.int64)
        for i, token in enumerate(chosen.tolist()):
            r = i // K
            if not done[r] and np.isfinite(scores[r, i % K]):
                feed[i] = constraint.feed(r, t, token)
        step_in = {"chars": feed[:, 0], "initials": feed[:, 1], "finals": feed[:, 2], "tones": feed[:, 3]}
    results = []
    for r in range(B):
        n = int(lengths[r])
        hyps = [Hypothesis(history[r * K + k, :n].tolist(), float(scores[r, k])) for k in range(K)
                if np.isfinite(scores[r, k])]
        results.append(hyps or [Hypothesis([], float("-inf"))])
    return results, traces


def _best(scores: np.ndarray, n: int) -> np.ndarray:
    """(B, W) scores -> (B, min(n, W)) column indices of the n best per row, best first (ties by
    column, so results are deterministic)."""
    W = scores.shape[1]
    if n < W:
        part = np.argpartition(-scores, n - 1, axis=1)[:, :n]  # (B, n) unordered
    else:
        part = np.broadcast_to(np.arange(W), scores.shape)
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)  # by score, then by column
    return np.take_along_axis(part, order, axis=1)


def _record(traces, best, total, history, cands, C, K, done) -> None:
    """Append each live row's best partial hypotheses (``best`` (B, M) flat beam*C positions)."""
    for r, trace in enumerate(traces):
        if done[r]:
            continue
        entries = []
        for flat in best[r].tolist():
            score = float(total[r, flat])
            if not np.isfinite(score):
                break
            beam, pos = divmod(flat, C)
            entries.append((tuple(history[r * K + beam].tolist()) + (int(cands[r, pos]),), score))
        trace.steps.append(entries)


def _fuse(lp: np.ndarray, cands: np.ndarray, done: np.ndarray, history: np.ndarray, fusion: Fusion) -> np.ndarray:
    """(B, K, C) step scores over candidates -> fused scores for each beam's ``fusion.top``
    candidates, -inf for the rest; rows already done keep their scores. One vectorised LM query."""
    B, K, C = lp.shape
    M = min(fusion.top, C)
    # Preselect with the n-gram's unigram as well: among an abbreviation's hundreds of candidates
    # the model's own best are often rare characters (100 abbreviated pd1998 clauses: 10.5 ->
    # 22.9 % char accuracy here, 1.5 -> 15 % in fast mode's search, which preselects the same way
    # in _fusion_candidates); for a full syllable's few candidates it changes nothing.
    prior = lp + fusion.weight * fusion.lm.unigram_logp[np.maximum(cands, 0)][:, None, :]  # (B, K, C)
    top_pos = np.argsort(-prior, axis=2, kind="stable")[:, :, :M]  # (B, K, M)
    top_lp = np.take_along_axis(lp, top_pos, axis=2)  # (B, K, M)
    chars = np.take_along_axis(np.broadcast_to(cands[:, None, :], (B, K, C)), top_pos, axis=2)  # (B, K, M)
    live = ~done[:, None, None] & (chars >= 0) & np.isfinite(top_lp)  # (B, K, M)
    text = np.concatenate([np.broadcast_to(fusion.contexts[:, None, :], (B, K, fusion.contexts.shape[1])), history], axis=2)
    asked = np.where(live, chars, -1).reshape(B * K, M)  # each beam's history asks about its M characters
    lm = fusion.lm.logprob_grid(text.reshape(B * K, -1), asked).reshape(B, K, M)
    fused = np.full_like(lp, -np.inf)
    scored = np.where(live, top_lp + fusion.weight * lm, -np.inf)  # (B, K, M)
    np.put_along_axis(fused, top_pos, scored, axis=2)
    fused[done] = lp[done]
    return fused


def sample(
    runner: Runner,
    encoded,
    constraint: Constraint,
    n_rows: int,
    rng: np.random.Generator,
    temperature: float = 1.0,
    top_p: float = 1.0,
) -> list[Hypothesis]:
    """Ancestral sampling (temperature, nucleus ``top_p``) under the constraint; one hypothesis
    per row, scored by its log-probability under the untempered model. ``temperature`` 0 is greedy."""
    B = n_rows
    state = runner.start(encoded, np.arange(B))
    lengths = [constraint.length(r) for r in range(B)]
    step_in = {"chars": np.full(B, ids.BOS, dtype=np.int64)}
    step_in.update({k: np.zeros(B, dtype=np.int64) for k in ("initials", "finals", "tones")})
    tokens: list[list[int]] = [[] for _ in range(B)]
    scores = np.zeros(B)
    head = runner.char_log_probs if constraint.head == "chars" else runner.syllable_log_probs
    for t in range(max(lengths, default=0)):
        hidden, state = runner.step(state, step_in)
        logp = head(hidden)  # (B, V)
        feed = np.zeros((B, 4), dtype=np.int64)
        for r in range(B):
            if t >= lengths[r]:
                continue
            cands = constraint.allowed(r, t)
            lp = logp[r, cands].astype(np.float64)  # (C,)
            if temperature < GREEDY_BELOW:  # greedy (and no overflow from dividing by a tiny temperature)
                pick = int(np.argmax(lp))
            else:
                p = np.exp((lp - lp.max()) / temperature)
                p /= p.sum()
                order = np.argsort(-p, kind="stable")
                keep = np.cumsum(p[order]) - p[order] < top_p  # smallest set with mass >= top_p
                kept = order[keep]
                pick = int(rng.choice(kept, p=p[kept] / p[kept].sum()))
            token = int(cands[pick])
            tokens[r].append(token)
            scores[r] += lp[pick]
            feed[r] = constraint.feed(r, t, token)
        step_in = {"chars": feed[:, 0], "initials": feed[:, 1], "finals": feed[:, 2], "tones": feed[:, 3]}
    return [Hypothesis(tokens[r], float(scores[r])) for r in range(B)]


def nar_log_probs(runner: Runner, encoded, segments: np.ndarray, allowed: list[list[np.ndarray]],
                  scoring: str = "softmax") -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """The fast path: the encoder hanzi head at every target position, restricted to the allowed
    ids. ``segments`` (B, S); ``allowed[r][t]`` ids for row r's t-th target position. Returns per
    row, per position, (candidate ids, their scores) sorted best first: log-probabilities under
    the full softmax, or with ``scoring="logits"`` raw logits of the candidates alone (the same
    order within a position, at a fraction of the cost)."""
    rows, positions = np.nonzero(segments == ids.SEG_TARGET)  # row-major: each row's targets in order
    if not len(rows):
        return [[] for _ in allowed]
    flat = [a for row in allowed for a in row]  # row-major, one list per target position
    if len(flat) != len(rows):
        raise ValueError(f"{len(flat)} candidate lists for {len(rows)} target positions")
    cands = candidate_matrix(flat)  # (N, C)
    if scoring == "logits":
        scores = runner.nar_logits_at(encoded, rows, positions, cands)  # (N, C)
    else:
        logp = runner.nar_log_probs(encoded, rows, positions)  # (N, V)
        scores = np.where(cands < 0, -np.inf, np.take_along_axis(logp, np.maximum(cands, 0), axis=1))
    result: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in allowed]
    for i, r in enumerate(rows.tolist()):
        n = len(flat[i])
        order = np.argsort(-scores[i, :n], kind="stable")
        result[r].append((cands[i, order], scores[i, order]))
    return result


def _fusion_candidates(cands: np.ndarray, cand_scores: np.ndarray, fusion: Fusion) -> tuple[np.ndarray, np.ndarray]:
    """A position's candidates for the n-gram: its ``fusion.top`` best, preselected with the
    n-gram's unigram too when there are more (an abbreviation), in their original order."""
    M = min(fusion.top, len(cands))
    if len(cands) > M:
        prior = cand_scores + fusion.weight * fusion.lm.unigram_logp[cands]
        pick = np.sort(np.argpartition(-prior, M - 1)[:M])
    else:
        pick = np.arange(M)
    return cands[pick].astype(np.int64), cand_scores[pick]


def nar_fused_search(rows: list[list[tuple[np.ndarray, np.ndarray]]], fusion: Fusion, beam_size: int = 4,
                     trace_width: int = 0) -> list[tuple[list[Hypothesis], Trace]]:
    """The fast path with an n-gram: a beam search over each row's encoder-head scores (from
    :func:`nar_log_probs`, best first per position) where each position's candidates (see
    :func:`_fusion_candidates`) add ``fusion.weight * log p_lm(char | context + earlier choices)``.
    No decoder runs: the n-gram supplies the dependencies between positions that the encoder
    head, scoring every position at once, cannot. All rows advance together, one vectorised
    n-gram query per position (a micro-batch costs little more than one request); a row that
    has ended extends its beams by PAD at no cost. ``fusion.contexts`` is (B, h)."""
    B, lengths = len(rows), [len(row) for row in rows]
    tokens = np.zeros((B, 1, 0), dtype=np.int64)  # (B, K, t) the beams' choices
    scores = np.zeros((B, 1))  # (B, K); -inf: no such beam
    traces = [Trace() for _ in rows]
    need = max(fusion.lm.order - 1, 0)  # the n-gram reads only the last order - 1 ids (it pads shorter ones)
    recent = np.asarray(fusion.contexts, dtype=np.int64).reshape(B, 1, -1)  # (B, K, <= need) context + choices
    for t in range(max(lengths, default=0)):
        picked = [_fusion_candidates(*rows[r][t], fusion) if t < lengths[r] else (np.array([ids.PAD]), np.zeros(1))
                  for r in range(B)]
        M, K = max(len(c) for c, _ in picked), scores.shape[1]
        chars, own = np.full((B, M), -1, dtype=np.int64), np.full((B, M), -np.inf)  # (B, M)
        for r, (c, sc) in enumerate(picked):
            chars[r, : len(c)], own[r, : len(c)] = c, sc
        live = np.isfinite(scores)[:, :, None] & (chars >= 0)[:, None, :]  # (B, K, M)
        ask = live & np.array([t < n for n in lengths])[:, None, None]  # ended rows add nothing
        asked = np.where(ask, chars[:, None, :], -1).reshape(B * K, M)  # (B*K, M) each beam's questions
        lm = fusion.lm.logprob_grid(recent.reshape(B * K, -1), asked).reshape(B, K, M).astype(np.float64)  # 0: not asked
        total = np.where(live, scores[:, :, None] + own[:, None, :] + fusion.weight * lm, -np.inf).reshape(B, K * M)
        order = _best(total, max(beam_size, trace_width))  # (B, n) flat positions, best first
        beams, picks = np.divmod(order, M)
        chosen = np.take_along_axis(chars, picks, axis=1)[:, :, None]  # (B, n, 1)
        grown = np.concatenate([np.take_along_axis(tokens, beams[:, :, None], axis=1), chosen], axis=2)  # (B, n, t + 1)
        recent = np.concatenate([np.take_along_axis(recent, beams[:, :, None], axis=1), chosen], axis=2)
        recent = recent[:, :, max(recent.shape[2] - need, 0):]
        best = np.take_along_axis(total, order, axis=1)  # (B, n)
        if trace_width:
            for r in (r for r in range(B) if t < lengths[r]):
                traces[r].steps.append([(tuple(grown[r, i].tolist()), float(best[r, i]))
                                        for i in range(min(trace_width, order.shape[1])) if np.isfinite(best[r, i])])
        keep = min(beam_size, order.shape[1])
        tokens, scores, recent = grown[:, :keep], best[:, :keep], recent[:, :keep]
    return [([Hypothesis(tokens[r, k, : lengths[r]].tolist(), float(scores[r, k]))
              for k in range(scores.shape[1]) if np.isfinite(scores[r, k])], traces[r]) for r in range(B)]


def greedy_p2h(runner: Runner, enc: dict[str, np.ndarray], keys_per_row: list[np.ndarray], index: CandidateIndex,
               tables: PinyinTables) -> list[list[int]]:
    """Greedy constrained decoding (a beam of one); returns hanzi ids per row."""
    encoded = runner.encode(enc)
    hyps, _ = beam_search(runner, encoded, P2HConstraint(keys_per_row, index, tables), len(keys_per_row), beam_size=1)
    return [h[0].tokens for h in hyps]


def nar_p2h(runner: Runner, enc: dict[str, np.ndarray], keys_per_row: list[np.ndarray], index: CandidateIndex,
            tables: PinyinTables) -> list[list[int]]:
    """The fast path's top-1: constrained argmax of the encoder hanzi head; hanzi ids per row."""
    constraint = P2HConstraint(keys_per_row, index, tables)
    allowed = [[constraint.allowed(r, t) for t in range(len(k))] for r, k in enumerate(keys_per_row)]
    scored = nar_log_probs(runner, runner.encode(enc), enc["segments"], allowed)
    return [[int(c[0]) for c, _ in row] for row in scored]


def teacher_forced(runner: Runner, encoded, constraint: Constraint, targets: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Score given outputs: per row, the log-probability of each target token (T,) and its rank
    among the ids the constraint allows at that step (0 = the model's first choice), the decoder
    being fed the targets (perplexity and next-token recall of continuations)."""
    B = len(targets)
    state = runner.start(encoded, np.arange(B))
    step_in = {"chars": np.full(B, ids.BOS, dtype=np.int64)}
    step_in.update({k: np.zeros(B, dtype=np.int64) for k in ("initials", "finals", "tones")})
    logps = [np.zeros(len(t)) for t in targets]
    ranks = [np.zeros(len(t), dtype=np.int64) for t in targets]
    head = runner.char_log_probs if constraint.head == "chars" else runner.syllable_log_probs
    for t in range(max((len(x) for x in targets), default=0)):
        hidden, state = runner.step(state, step_in)
        logp = head(hidden)  # (B, V)
        feed = np.zeros((B, 4), dtype=np.int64)
        for r, target in enumerate(targets):
            if t >= len(target):
                continue
            gold = int(target[t])
            allowed = logp[r, constraint.allowed(r, t)]
            logps[r][t] = logp[r, gold]
            ranks[r][t] = int((allowed > logp[r, gold]).sum())
            feed[r] = constraint.feed(r, t, gold)
        step_in = {"chars": feed[:, 0], "initials": feed[:, 1], "finals": feed[:, 2], "tones": feed[:, 3]}
    return list(zip(logps, ranks))
