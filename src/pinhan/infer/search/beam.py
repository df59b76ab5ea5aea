"""Constrained decoding with the decoder over a :class:`~pinhan.infer.runner.Runner`: one beam
search for all three tasks (greedy = a beam of one), ancestral sampling for continuation, and
teacher-forced scoring of given outputs."""

from __future__ import annotations

import numpy as np

from pinhan import ids
from pinhan.data.tables import CandidateIndex, PinyinTables
from pinhan.infer.runner import STEP_KEYS, Runner
from pinhan.infer.search.common import GREEDY_BELOW, Hypothesis, Trace, best_columns, candidate_matrix, start_inputs, step_inputs
from pinhan.infer.search.constraints import Constraint, P2HConstraint
from pinhan.infer.search.fusion import Fusion, fuse


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
    step_in = start_inputs(B * K)
    traces = [Trace() for _ in range(B)]
    for t in range(steps):
        hidden, state = runner.step(state, step_in)
        done = t >= lengths  # (B,) finished rows extend every beam by PAD at no cost
        cands = candidate_matrix([np.array([ids.PAD]) if done[r] else constraint.allowed(r, t) for r in range(B)])  # (B, C)
        lp = _step_scores(runner, hidden, cands, K, constraint.head, scoring)  # (B, K, C)
        lp[done] = np.where(cands[done][:, None, :] >= 0, 0.0, -np.inf)
        if fusion is not None:
            lp = fuse(lp, cands, done, history.reshape(B, K, -1), fusion)
        C = lp.shape[-1]
        total = (scores[:, :, None] + lp).reshape(B, K * C)  # (B, K*C)
        keep = max(K, trace_width)
        order = best_columns(total, keep)  # (B, <= keep) flat positions, best first
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
        live = ~np.repeat(done, K) & np.isfinite(scores).reshape(-1)  # (B*K,) beams that emitted a real id
        step_in = step_inputs(_feed(constraint, t, chosen, live, K))
    results = []
    for r in range(B):
        n = int(lengths[r])
        hyps = [Hypothesis(history[r * K + k, :n].tolist(), float(scores[r, k])) for k in range(K)
                if np.isfinite(scores[r, k])]
        results.append(hyps or [Hypothesis([], float("-inf"))])
    return results, traces


def _step_scores(runner: Runner, hidden, cands: np.ndarray, K: int, head: str, scoring: str) -> np.ndarray:
    """(B*K, d) decoder states and (B, C) candidate ids (-1: padding) -> (B, K, C) step scores."""
    B = cands.shape[0]
    if scoring == "logits":
        return runner.char_logits_at(hidden, np.repeat(cands, K, axis=0)).reshape(B, K, -1)  # (B, K, C)
    # The full softmax: the mass the model puts outside the allowed set is what tells a wrong
    # reading of the keystrokes (xi'an for xian) from the right one. (Normalising over the
    # candidates only scored 5.6 points lower on pd1998-test, first 1000 items, 10-minute model.)
    log_probs = runner.char_log_probs if head == "chars" else runner.syllable_log_probs
    logp = log_probs(hidden).reshape(B, K, -1)  # (B, K, V)
    lp = np.take_along_axis(logp, np.maximum(cands, 0)[:, None, :], axis=2)  # (B, K, C)
    return np.where(cands[:, None, :] < 0, -np.inf, lp)


def _feed(constraint: Constraint, t: int, chosen: np.ndarray, live: np.ndarray, K: int) -> np.ndarray:
    """(B*K,) ids emitted at step ``t`` -> (B*K, 4) decoder inputs; dead or finished beams get zeros."""
    feed = np.zeros((len(chosen), 4), dtype=np.int64)
    for i in np.flatnonzero(live).tolist():
        feed[i] = constraint.feed(i // K, t, int(chosen[i]))
    return feed


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
    step_in = start_inputs(B)
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
        step_in = step_inputs(feed)
    return [Hypothesis(tokens[r], float(scores[r])) for r in range(B)]


def teacher_forced(runner: Runner, encoded, constraint: Constraint, targets: list[np.ndarray],
                   rows: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Score given outputs: per row, the log-probability of each target token (T,) and its rank
    among the ids the constraint allows at that step (0 = the model's first choice), the decoder
    being fed the targets (perplexity and next-token recall of continuations; reranking).
    ``rows`` (B,) names the encoded input each target reads (default: one input per target)."""
    B = len(targets)
    state = runner.start(encoded, np.arange(B) if rows is None else rows)
    step_in = start_inputs(B)
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
        step_in = step_inputs(feed)
    return list(zip(logps, ranks))


def greedy_p2h(runner: Runner, enc: dict[str, np.ndarray], keys_per_row: list[np.ndarray], index: CandidateIndex,
               tables: PinyinTables) -> list[list[int]]:
    """Greedy constrained decoding (a beam of one); returns hanzi ids per row."""
    encoded = runner.encode(enc)
    hyps, _ = beam_search(runner, encoded, P2HConstraint(keys_per_row, index, tables), len(keys_per_row), beam_size=1)
    return [h[0].tokens for h in hyps]


def forced_logits(runner: Runner, encoded, constraint: Constraint, targets: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(H, T) given hanzi ids (-1 past a shorter row's end), each row read by encoder row
    ``rows[h]`` -> (H,) the decoder's summed raw logits of them, teacher-forced in one decoder
    pass (:meth:`Runner.tree_logits`; one column of the output matrix a step: cheap). Raw
    logits rank given readings better than the full softmax, whose mass outside the allowed
    hanzi the model was never trained to calibrate (RESULTS.md, "Word lattice").

    Rows of one encoder row that begin alike share those steps: a step is the same wherever
    it has the same parent step and input, so the rows become a tree per encoder row (a trie
    of what they feed the decoder) and each step is computed once (the 8 readings accurate
    mode rescores share about half their steps)."""
    H, T = targets.shape
    tokens = targets.tolist()
    bos = tuple(int(start_inputs(1)[k][0]) for k in STEP_KEYS)
    tree_of: dict[int, int] = {}  # encoder row -> tree
    steps: list[dict[tuple, int]] = []  # per tree: (parent step, input) -> step
    parents: list[list[int]] = []  # per tree, per step: its parent (-1 at a root)
    fed: list[list[tuple]] = []  # per tree, per step: its input
    picks, owner = [], []  # (tree, step, target) and the row each pick scores
    for h in range(H):
        g = tree_of.setdefault(int(rows[h]), len(tree_of))
        if g == len(steps):
            steps.append({}), parents.append([]), fed.append([])
        parent, step_in = -1, bos
        for t in range(T):
            if tokens[h][t] < 0:
                break
            step = steps[g].get((parent, step_in))
            if step is None:
                step = steps[g][(parent, step_in)] = len(parents[g])
                parents[g].append(parent)
                fed[g].append(step_in)
            picks.append((g, step, tokens[h][t]))
            owner.append(h)
            if t + 1 < T and tokens[h][t + 1] >= 0:
                step_in = constraint.feed(h, t, tokens[h][t])
            parent = step
    if not picks:
        return np.zeros(H)
    G, M = len(steps), max(map(len, parents))
    feed = np.zeros((G, M, 4), dtype=np.int64)  # (G, M, 4) each step's input; padding 0
    positions = np.zeros((G, M), dtype=np.int64)  # (G, M) each step's depth
    steps_mask = np.zeros((G, M, M), dtype=bool)  # (G, M, M) step i attends j: its ancestors and itself
    for g in range(G):
        feed[g, : len(fed[g])] = fed[g]
        for i, parent in enumerate(parents[g]):  # a parent comes before its children
            if parent >= 0:
                steps_mask[g, i] = steps_mask[g, parent]
                positions[g, i] = positions[g, parent] + 1
            steps_mask[g, i, i] = True
        steps_mask[g, np.arange(len(fed[g]), M), np.arange(len(fed[g]), M)] = True  # padding: itself alone
    inputs = {k: feed[:, :, i] for i, k in enumerate(STEP_KEYS)}
    trees = np.array(list(tree_of), dtype=np.int64)  # (G,) encoder row of each tree
    logits = runner.tree_logits(encoded, trees, inputs, positions, steps_mask, np.array(picks, dtype=np.int64))
    return np.bincount(np.array(owner), weights=logits.astype(np.float64), minlength=H)  # (H,)
