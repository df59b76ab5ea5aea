"""Constrained decoding of p2h: beam search over the autoregressive decoder (greedy = beam 1),
or one pass of the encoder's hanzi head.

Every emitted hanzi must be readable as the syllable typed at its step (the lexicon decides);
special tokens never come out. After emitting a hanzi the decoder is fed that hanzi with the
reading the typed key allows (its most frequent one), exactly as in training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from pinhan import ids
from pinhan.data.candidates import CandidateIndex
from pinhan.data.examples import PinyinTables
from pinhan.model.transformer import PinhanModel


def allowed_mask(keys_per_row: list[np.ndarray], step: int, index: CandidateIndex, n_chars: int) -> torch.Tensor:
    """(B, n_chars) bool: hanzi allowed at ``step`` of each row (rows already done allow PAD)."""
    mask = torch.zeros((len(keys_per_row), n_chars), dtype=torch.bool)
    for row, keys in enumerate(keys_per_row):
        if step < len(keys):
            cands = index.candidates(tuple(int(k) for k in keys[step]))
            if len(cands):
                mask[row, torch.from_numpy(cands)] = True
            else:  # nothing in the lexicon reads so: let the model pick any real character
                mask[row, ids.N_SPECIAL:] = True
        else:
            mask[row, ids.PAD] = True
    return mask


@dataclass
class Hypothesis:
    chars: list[int]
    score: float  # summed log-probability under the constraint


@dataclass
class Fusion:
    """Shallow fusion with a character language model: a candidate's step score becomes
    ``log p_model + weight * log p_lm(char | context + output so far)``, computed for the ``top``
    candidates the model ranks highest (the others are dropped)."""

    lm: object  # anything with logprob(history: str, char: str) -> float
    weight: float
    chars: list[str]  # the vocabulary's characters, to turn ids into text
    contexts: list[str]  # committed text before each row's input
    top: int = 16


@torch.no_grad()
def beam_p2h(
    model: PinhanModel,
    enc: dict[str, torch.Tensor],
    keys_per_row: list[np.ndarray],
    index: CandidateIndex,
    tables: PinyinTables,
    beam_size: int = 4,
    fusion: Fusion | None = None,
) -> list[list[Hypothesis]]:
    """Constrained beam search with the KV cache; up to ``beam_size`` hypotheses per row, best first."""
    model.eval()
    B, K = len(keys_per_row), beam_size
    out = model.encode(enc)
    rows = torch.arange(B).repeat_interleave(K)  # (B*K,) beam -> its input row
    memory, memory_mask = out.memory[rows], out.mask[rows]  # (B*K, S, d), (B*K, S)
    beam_keys = [keys_per_row[r] for r in rows.tolist()]
    steps = max((len(k) for k in keys_per_row), default=0)
    # Only the first beam of each row is live at step 0, so the K beams start distinct.
    scores = torch.full((B, K), float("-inf"))
    scores[:, 0] = 0.0
    history = torch.zeros((B * K, 0), dtype=torch.long)  # (B*K, t) emitted hanzi
    step_in = {k: torch.zeros((B * K, 1), dtype=torch.long) for k in ("chars", "initials", "finals", "tones")}
    step_in["chars"][:] = ids.BOS
    cache = None
    for t in range(steps):
        h, cache = model.decode(step_in, memory if cache is None else None, memory_mask, cache=cache)  # (B*K, 1, d)
        logp = torch.log_softmax(model.char_logits(h[:, -1]).float(), dim=-1)  # (B*K, V)
        allowed = allowed_mask(beam_keys, t, index, model.config.n_chars)  # (B*K, V)
        done = torch.tensor([t >= len(k) for k in beam_keys])  # finished rows keep their score
        logp = torch.where(done[:, None], torch.zeros_like(logp), logp).masked_fill(~allowed, float("-inf"))
        if fusion is not None:
            logp = _fuse(logp, done, history, rows, fusion)
        V = logp.shape[-1]
        total = (scores.reshape(B * K, 1) + logp).reshape(B, K * V)  # (B, K*V)
        top_scores, top = total.topk(K, dim=-1)  # (B, K)
        beam = top // V  # (B, K) which beam each survivor extends
        chars = top % V  # (B, K)
        source = (torch.arange(B)[:, None] * K + beam).reshape(-1)  # (B*K,) rows of the old beams
        scores = top_scores
        chosen = chars.reshape(-1)  # (B*K,)
        history = torch.cat([history[source], chosen[:, None]], dim=1)
        cache = cache.index_select(source)
        factors = np.zeros((B * K, 3), dtype=np.int64)
        for i, c in enumerate(chosen.tolist()):
            keys = beam_keys[i]
            if t < len(keys):
                syllable = index.reading(c, tuple(int(k) for k in keys[t]))
                factors[i] = tables.factors[syllable] if syllable >= ids.N_SPECIAL else keys[t]
        f = torch.from_numpy(factors)
        step_in = {"chars": chosen[:, None], "initials": f[:, 0:1], "finals": f[:, 1:2], "tones": f[:, 2:3]}
    results = []
    for r in range(B):
        n = len(keys_per_row[r])
        hyps = [Hypothesis(history[r * K + k, :n].tolist(), float(scores[r, k])) for k in range(K)
                if torch.isfinite(scores[r, k])]
        results.append(hyps or [Hypothesis([], float("-inf"))])
    return results


def _fuse(logp: torch.Tensor, done: torch.Tensor, history: torch.Tensor, rows: torch.Tensor, fusion: Fusion) -> torch.Tensor:
    """(B*K, V) step log-probs -> fused scores over each beam's top candidates, -inf elsewhere."""
    top_lp, top_ids = logp.topk(min(fusion.top, logp.shape[-1]), dim=-1)  # (B*K, M)
    fused = torch.full_like(logp, float("-inf"))
    for i in range(logp.shape[0]):
        if done[i]:
            fused[i] = logp[i]
            continue
        text = fusion.contexts[int(rows[i])] + "".join(fusion.chars[c] for c in history[i].tolist())
        lm = torch.tensor([fusion.lm.logprob(text, fusion.chars[c]) for c in top_ids[i].tolist()])
        fused[i, top_ids[i]] = top_lp[i] + fusion.weight * lm
    return fused


def greedy_p2h(
    model: PinhanModel,
    enc: dict[str, torch.Tensor],
    keys_per_row: list[np.ndarray],
    index: CandidateIndex,
    tables: PinyinTables,
    scores: list[float] | None = None,
) -> list[list[int]]:
    """Greedy constrained decoding (a beam of one); returns hanzi ids per row.

    With ``scores`` (an empty list), it is filled with each row's summed log-probability, to
    compare readings of one input (e.g. ``xian`` vs ``xi'an``).
    """
    best = [hyps[0] for hyps in beam_p2h(model, enc, keys_per_row, index, tables, beam_size=1)]
    if scores is not None:
        scores.extend(h.score for h in best)
    return [h.chars for h in best]


@torch.no_grad()
def nar_p2h(model: PinhanModel, enc: dict[str, torch.Tensor], keys_per_row: list[np.ndarray], index: CandidateIndex) -> list[list[int]]:
    """The fast path: one encoder pass, constrained argmax of the encoder hanzi head."""
    model.eval()
    out = model.encode(enc)
    logits = model.encoder_char_logits(out.memory)  # (B, S, n_chars)
    result = []
    for row, keys in enumerate(keys_per_row):
        target = (enc["segments"][row] == ids.SEG_TARGET).nonzero().flatten()  # (L,)
        row_ids = []
        for t, pos in enumerate(target.tolist()):
            mask = allowed_mask([keys], t, index, model.config.n_chars)[0]
            row_ids.append(int(logits[row, pos].masked_fill(~mask, float("-inf")).argmax()))
        result.append(row_ids)
    return result
