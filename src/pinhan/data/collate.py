"""Batches: pad examples into the model's tensors, with hanzi candidate lists per step.

The hanzi softmax over the whole vocabulary is the main training cost. With ``max_cands`` set,
every decoder step and encoder target position gets the hanzi its pinyin allows (the lexicon's,
most frequent first, the gold always included), cut to ``max_cands`` and padded with -1; the
model then scores only those. Steps that nothing restricts (continuations) are flagged in
``tgt_char_full`` and scored over the whole vocabulary: generation samples from the full softmax,
and a few uniform negatives left it uncalibrated (a continuation model trained so preferred to
repeat its input character, and never learned that BOS cannot follow).
"""

from __future__ import annotations

import numpy as np
import torch

from pinhan.data.tables import CandidateIndex
from pinhan.data.examples import Example
from pinhan import ids

CAND_PAD = -1


def _pad(arrays: list[np.ndarray], value: int) -> torch.Tensor:
    width = max((len(a) for a in arrays), default=0)
    out = np.full((len(arrays), width), value, dtype=np.int64)
    for row, a in enumerate(arrays):
        out[row, : len(a)] = a
    return torch.from_numpy(out)


def collate(
    examples: list[Example],
    *,
    cand_index: CandidateIndex | None = None,
    max_cands: int = 0,
) -> dict[str, torch.Tensor]:
    """Pad ``examples`` into a batch dict (keys as in ``pinhan.model.losses``).

    With ``max_cands > 0`` (and ``cand_index``) the batch also carries ``tgt_char_cands``
    (B, T, C), ``enc_tgt_char_cands`` (B, S, C) and ``tgt_char_full`` (B, T).
    """
    batch = {f"enc_{k}": _pad([e.enc[k] for e in examples], 0) for k in ("chars", "initials", "finals", "tones", "segments")}
    batch.update({f"dec_{k}": _pad([e.dec[k] for e in examples], 0) for k in ("chars", "initials", "finals", "tones")})
    batch["task"] = torch.tensor([e.task for e in examples], dtype=torch.long)
    batch["tgt_chars"] = _pad([e.tgt_chars for e in examples], ids.IGNORE)
    batch["tgt_syllables"] = _pad([e.tgt_syllables for e in examples], ids.IGNORE)
    batch["enc_tgt_chars"] = _pad([e.enc_tgt_chars for e in examples], ids.IGNORE)
    if max_cands > 0:
        if cand_index is None:
            raise ValueError("restricted candidates need cand_index")
        B, T = batch["tgt_chars"].shape
        S = batch["enc_tgt_chars"].shape[1]
        dec_cands = np.full((B, T, max_cands), CAND_PAD, dtype=np.int64)
        enc_cands = np.full((B, S, max_cands), CAND_PAD, dtype=np.int64)
        full = np.zeros((B, T), dtype=bool)
        for row, e in enumerate(examples):
            # p2h target positions end the encoder and carry the same hanzi as the decoder steps
            nar_offset = len(e.enc_tgt_chars) - len(e.tgt_chars) if (e.enc_tgt_chars != ids.IGNORE).any() else None
            for t, gold in enumerate(e.tgt_chars):
                full[row, t] = e.keys[t][0] < 0
                cands = _candidates(int(gold), e.keys[t], cand_index, max_cands)
                dec_cands[row, t, : len(cands)] = cands
                if nar_offset is not None:
                    enc_cands[row, nar_offset + t, : len(cands)] = cands
        batch["tgt_char_cands"] = torch.from_numpy(dec_cands)
        batch["enc_tgt_char_cands"] = torch.from_numpy(enc_cands)
        batch["tgt_char_full"] = torch.from_numpy(full)
    return batch


def _candidates(gold: int, key: np.ndarray, index: CandidateIndex, k: int) -> np.ndarray:
    """Gold first, then the allowed hanzi (just the gold for a step nothing restricts: it is
    scored over the whole vocabulary instead)."""
    if key[0] < 0:
        return np.array([gold], dtype=np.int64)
    allowed = index.candidates((int(key[0]), int(key[1]), int(key[2])))
    return np.concatenate([[gold], allowed[allowed != gold][: k - 1]]).astype(np.int64)
