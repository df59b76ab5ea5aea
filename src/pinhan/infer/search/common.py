"""What every search shares: hypotheses, traces of partial hypotheses, the decoder's step
inputs, candidate matrices and deterministic top-n selection."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pinhan import ids


GREEDY_BELOW = 1e-4  # a sampling temperature under this means greedy decoding


@dataclass
class Hypothesis:
    tokens: list[int]  # emitted ids (hanzi for p2h / gen, toned syllables for h2p)
    score: float  # summed log-probability under the full softmax, or summed logits


@dataclass
class Trace:
    """The best partial hypotheses of one input row at every step (for prefix candidates):
    ``steps[t]`` lists (first t + 1 tokens, score) pairs, best first."""

    steps: list[list[tuple[tuple[int, ...], float]]] = field(default_factory=list)


def candidate_matrix(lists: list[np.ndarray]) -> np.ndarray:
    """(B, C) candidate ids padded with -1."""
    width = max(len(c) for c in lists)
    out = np.full((len(lists), width), -1, dtype=np.int64)
    for row, cands in enumerate(lists):
        out[row, : len(cands)] = cands
    return out


def best_columns(scores: np.ndarray, n: int) -> np.ndarray:
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


def start_inputs(n: int) -> dict[str, np.ndarray]:
    """The decoder's first input for ``n`` rows: BOS, pinyin factors unknown."""
    step_in = {"chars": np.full(n, ids.BOS, dtype=np.int64)}
    step_in.update({k: np.zeros(n, dtype=np.int64) for k in ("initials", "finals", "tones")})
    return step_in


def step_inputs(feed: np.ndarray) -> dict[str, np.ndarray]:
    """(N, 4) fed-back (hanzi, initial, final, tone) ids -> the decoder's next input."""
    return {"chars": feed[:, 0], "initials": feed[:, 1], "finals": feed[:, 2], "tones": feed[:, 3]}
