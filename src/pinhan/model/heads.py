"""Output heads: hanzi (decoder), toned syllable (decoder) and non-autoregressive hanzi (encoder).

Both hanzi heads project with one hanzi output matrix: the hanzi input embedding when
``tie_char_embeddings`` is set, else a matrix of their own; each head has its own bias. The
encoder head first applies a small transform (Linear, GELU, LayerNorm), as BERT's MLM head does,
since encoder states are not trained to predict the next output the way decoder states are.

Every head can score either the whole vocabulary or only a candidate list per position
(:func:`candidate_logits`): training restricts the expensive hanzi softmax to the candidates the
data side supplies, and constrained decoding scores only the hanzi allowed at each step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pinhan.model.config import ModelConfig

CAND_PAD = -1  # padding id inside candidate lists


def candidate_logits(h: Tensor, weight: Tensor, bias: Tensor, cands: Tensor) -> Tensor:
    """Logits of candidate ids only.

    Args:
        h: (..., d) hidden states.
        weight: (V, d) output matrix; bias: (V,).
        cands: (..., C) long candidate ids per position, padded with ``CAND_PAD`` (-1).

    Returns:
        (..., C) logits; padded slots hold the dtype's lowest finite value (not -inf, so that a
        position whose list is all padding still gives finite softmax values).
    """
    if cands.shape[:-1] != h.shape[:-1]:
        raise ValueError(
            f"candidates have shape {tuple(cands.shape)}, expected {tuple(h.shape[:-1])} + (C,)"
        )
    pad = cands < 0  # (..., C)
    safe = cands.clamp(min=0)  # (..., C)
    rows = F.embedding(safe, weight)  # (..., C, d)
    logits = torch.einsum("...cd,...d->...c", rows, h) + bias[safe]  # (..., C)
    return logits.masked_fill(pad, torch.finfo(logits.dtype).min)  # (..., C)


class OutputHeads(nn.Module):
    """Parameters and projections of the three output heads.

    Args:
        config: The model config. Without ``tie_char_embeddings`` the heads own a
            ``(n_chars, d_model)`` hanzi matrix ``char_weight``; with it, the caller passes the
            input embedding's matrix to :meth:`chars` and :meth:`encoder_chars`.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        d = config.d_model
        self.char_weight = (
            None if config.tie_char_embeddings else nn.Parameter(torch.empty(config.n_chars, d))
        )
        self.char_bias = nn.Parameter(torch.zeros(config.n_chars))
        self.nar_transform = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.LayerNorm(d))
        self.nar_bias = nn.Parameter(torch.zeros(config.n_chars))
        self.syllables = nn.Linear(d, config.n_syllables)

    def chars(self, h: Tensor, weight: Tensor, cands: Tensor | None = None) -> Tensor:
        """Decoder hanzi logits: (..., d) -> (..., n_chars), or (..., C) with ``cands``."""
        if cands is None:
            return F.linear(h, weight, self.char_bias)  # (..., V)
        return candidate_logits(h, weight, self.char_bias, cands)  # (..., C)

    def encoder_chars(self, memory: Tensor, weight: Tensor, cands: Tensor | None = None) -> Tensor:
        """Encoder (non-autoregressive) hanzi logits: (..., d) -> (..., n_chars) or (..., C)."""
        h = self.nar_transform(memory)  # (..., d)
        if cands is None:
            return F.linear(h, weight, self.nar_bias)  # (..., V)
        return candidate_logits(h, weight, self.nar_bias, cands)  # (..., C)

    def syllables_logits(self, h: Tensor, cands: Tensor | None = None) -> Tensor:
        """Toned-syllable logits: (..., d) -> (..., n_syllables), or (..., C) with ``cands``."""
        if cands is None:
            return self.syllables(h)  # (..., n_syllables)
        return candidate_logits(h, self.syllables.weight, self.syllables.bias, cands)
