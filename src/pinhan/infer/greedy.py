"""Constrained decoding of p2h: greedy over the autoregressive decoder, or one encoder pass.

Every emitted hanzi must be readable as the syllable typed at its step (the lexicon decides);
special tokens never come out. Beam search with top-k candidates builds on the same pieces.
"""

from __future__ import annotations

import numpy as np
import torch

from pinhan.data.candidates import CandidateIndex
from pinhan.data.examples import PinyinTables
from pinhan import ids
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


@torch.no_grad()
def greedy_p2h(
    model: PinhanModel,
    enc: dict[str, torch.Tensor],
    keys_per_row: list[np.ndarray],
    index: CandidateIndex,
    tables: PinyinTables,
    scores: list[float] | None = None,
) -> list[list[int]]:
    """Greedy constrained decoding with the KV cache; returns hanzi ids per row.

    With ``scores`` (an empty list), it is filled with each row's summed log-probability of its
    output under the constraint, to compare readings of one input (e.g. ``xian`` vs ``xi'an``).
    """
    model.eval()
    n_chars = model.config.n_chars
    out = model.encode(enc)
    B = len(keys_per_row)
    steps = max((len(k) for k in keys_per_row), default=0)
    step_in = {k: torch.zeros((B, 1), dtype=torch.long) for k in ("chars", "initials", "finals", "tones")}
    step_in["chars"][:] = ids.BOS
    cache = None
    result: list[list[int]] = [[] for _ in range(B)]
    total = torch.zeros(B)
    for t in range(steps):
        h, cache = model.decode(step_in, out.memory if cache is None else None, out.mask, cache=cache)  # (B, 1, d)
        logits = model.char_logits(h[:, -1])  # (B, n_chars)
        logits = logits.masked_fill(~allowed_mask(keys_per_row, t, index, n_chars), float("-inf"))
        chosen = logits.argmax(-1)  # (B,)
        if scores is not None:
            logp = torch.log_softmax(logits.float(), dim=-1).gather(1, chosen[:, None])[:, 0]  # (B,)
            live = torch.tensor([t < len(k) for k in keys_per_row])
            total += torch.where(live, logp, torch.zeros_like(logp))
        factors = np.zeros((B, 3), dtype=np.int64)
        for row in range(B):
            if t < len(keys_per_row[row]):
                c = int(chosen[row])
                result[row].append(c)
                syllable = index.reading(c, tuple(int(k) for k in keys_per_row[row][t]))
                factors[row] = tables.factors[syllable] if syllable >= ids.N_SPECIAL else keys_per_row[row][t]
        f = torch.from_numpy(factors)
        step_in = {"chars": chosen[:, None], "initials": f[:, 0:1], "finals": f[:, 1:2], "tones": f[:, 2:3]}
    if scores is not None:
        scores.extend(total.tolist())
    return result


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
