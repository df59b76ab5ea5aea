"""The fused input layer: one vector per position from its hanzi slot and its pinyin slot.

Every position carries a hanzi id (``MASK`` where the hanzi is unknown, e.g. p2h targets) and a
factored pinyin reading (initial + final + tone, any of which may be ``UNKNOWN``; all three
``NONE`` for a pass-through character). Its embedding is the sum::

    hanzi[c] + initial[i] + final[f] + tone[t] + position[p] (+ segment[s] + task[k] on the encoder)

followed by LayerNorm and dropout. The hanzi / initial / final / tone tables are shared by the
encoder and the decoder (and the hanzi table by the hanzi output heads when tied); position
tables and the final LayerNorm are separate per side, since the two sides see different inputs.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from pinhan import ids
from pinhan.model.config import ModelConfig


class FusedEmbedding(nn.Module):
    """Token, position, segment and task embeddings for both encoder and decoder inputs.

    Args:
        config: The model config (vocabulary sizes, ``d_model``, ``max_positions``, dropout).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        d = config.d_model
        self.max_positions = config.max_positions
        # shared token tables; id 0 (PAD / NONE) is a zero vector that receives no gradient
        self.chars = nn.Embedding(config.n_chars, d, padding_idx=ids.PAD)
        self.initials = nn.Embedding(config.n_initials, d, padding_idx=ids.NONE)
        self.finals = nn.Embedding(config.n_finals, d, padding_idx=ids.NONE)
        self.tones = nn.Embedding(config.n_tones, d, padding_idx=ids.NONE)
        # encoder-only tables
        self.enc_positions = nn.Embedding(config.max_positions, d)
        self.segments = nn.Embedding(ids.N_SEGMENTS, d, padding_idx=ids.SEG_PAD)
        self.tasks = nn.Embedding(ids.N_TASKS, d)
        self.enc_norm = nn.LayerNorm(d)
        # decoder-only tables
        self.dec_positions = nn.Embedding(config.max_positions, d)
        self.dec_norm = nn.LayerNorm(d)
        self.dropout = nn.Dropout(config.dropout)

    def tokens(self, chars: Tensor, initials: Tensor, finals: Tensor, tones: Tensor) -> Tensor:
        """Sum of the hanzi and factored pinyin embeddings: four (B, L) id tensors -> (B, L, d)."""
        _check_same_shape(chars=chars, initials=initials, finals=finals, tones=tones)
        return (
            self.chars(chars) + self.initials(initials) + self.finals(finals) + self.tones(tones)
        )  # (B, L, d)

    def encoder(
        self,
        chars: Tensor,
        initials: Tensor,
        finals: Tensor,
        tones: Tensor,
        segments: Tensor,
        task: Tensor,
    ) -> Tensor:
        """Embed encoder inputs.

        Args:
            chars, initials, finals, tones, segments: (B, S) long ids; segments 0 = padding,
                1 = context, 2 = target.
            task: (B,) long task ids (0 = p2h, 1 = h2p, 2 = gen), added to every position.

        Returns:
            (B, S, d) embeddings (padding positions hold finite values the encoder masks out).
        """
        _check_same_shape(chars=chars, segments=segments)
        B, S = chars.shape
        if task.shape != (B,):
            raise ValueError(f"task must have shape ({B},), got {tuple(task.shape)}")
        positions = self._positions(0, S, chars.device)  # (S,)
        x = self.tokens(chars, initials, finals, tones)  # (B, S, d)
        x = x + self.enc_positions(positions)  # (B, S, d) + (S, d)
        x = x + self.segments(segments)  # (B, S, d)
        x = x + self.tasks(task)[:, None, :]  # (B, S, d) + (B, 1, d)
        return self.dropout(self.enc_norm(x))  # (B, S, d)

    def decoder(
        self, chars: Tensor, initials: Tensor, finals: Tensor, tones: Tensor, start: int = 0,
        positions: Tensor | None = None,
    ) -> Tensor:
        """Embed decoder inputs (the previous output pair at each step, BOS first).

        Args:
            chars, initials, finals, tones: (B, T) long ids.
            start: Position of the first of the T steps (the KV cache length when decoding
                incrementally).
            positions: (B, T) long, each step's own position instead (the steps of a tree,
                :meth:`PinhanModel.decode_tree`: a step's position is its depth); the caller
                keeps them below ``max_positions``.

        Returns:
            (B, T, d) embeddings.
        """
        x = self.tokens(chars, initials, finals, tones)  # (B, T, d)
        if positions is None:
            positions = self._positions(start, chars.shape[1], chars.device)  # (T,)
        x = x + self.dec_positions(positions)  # (B, T, d) + (T, d) or (B, T, d)
        return self.dropout(self.dec_norm(x))  # (B, T, d)

    def _positions(self, start: int, length: int, device: torch.device) -> Tensor:
        if start + length > self.max_positions:
            raise ValueError(
                f"sequence needs positions up to {start + length}, but max_positions is "
                f"{self.max_positions}"
            )
        return torch.arange(start, start + length, device=device)  # (L,)


def _check_same_shape(**tensors: Tensor) -> None:
    items = list(tensors.items())
    first_name, first = items[0]
    if first.dim() != 2:
        raise ValueError(f"{first_name} must have shape (B, L), got {tuple(first.shape)}")
    for name, t in items[1:]:
        if t.shape != first.shape:
            raise ValueError(
                f"{name} has shape {tuple(t.shape)} but {first_name} has {tuple(first.shape)}"
            )
