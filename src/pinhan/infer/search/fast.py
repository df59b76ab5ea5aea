"""The fast path: the encoder's hanzi head scores every target position at once (no decoder);
with an n-gram, a beam search over those scores supplies the dependencies between positions."""

from __future__ import annotations

import numpy as np

from pinhan import ids
from pinhan.data.tables import CandidateIndex, PinyinTables
from pinhan.infer.runner import Runner
from pinhan.infer.search.common import Hypothesis, Trace, best_columns, candidate_matrix
from pinhan.infer.search.constraints import P2HConstraint
from pinhan.infer.search.fusion import Fusion, fusion_candidates


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


def nar_fused_search(rows: list[list[tuple[np.ndarray, np.ndarray]]], fusion: Fusion, beam_size: int = 4,
                     trace_width: int = 0) -> list[tuple[list[Hypothesis], Trace]]:
    """The fast path with an n-gram: a beam search over each row's encoder-head scores (from
    :func:`nar_log_probs`, best first per position) where each position's candidates (see
    :func:`fusion_candidates`) add ``fusion.weight * log p_lm(char | context + earlier choices)``.
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
        picked = [fusion_candidates(*rows[r][t], fusion) if t < lengths[r] else (np.array([ids.PAD]), np.zeros(1))
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
        order = best_columns(total, max(beam_size, trace_width))  # (B, n) flat positions, best first
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


def nar_p2h(runner: Runner, enc: dict[str, np.ndarray], keys_per_row: list[np.ndarray], index: CandidateIndex,
            tables: PinyinTables) -> list[list[int]]:
    """The fast path's top-1: constrained argmax of the encoder hanzi head; hanzi ids per row."""
    constraint = P2HConstraint(keys_per_row, index, tables)
    allowed = [[constraint.allowed(r, t) for t in range(len(k))] for r, k in enumerate(keys_per_row)]
    scored = nar_log_probs(runner, runner.encode(enc), enc["segments"], allowed)
    return [[int(c[0]) for c, _ in row] for row in scored]
