"""Pre-norm Transformer blocks built on ``F.scaled_dot_product_attention``.

- :class:`EncoderBlock`: bidirectional self-attention over real positions (padding masked).
- :class:`DecoderBlock`: causal self-attention with a KV cache, cross-attention to the encoder
  memory (its keys/values computed once and cached), feed-forward.

Masks are boolean, ``True`` = may attend. Decoder inputs are right-padded: with causal
attention, padding after a position never changes that position's output.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pinhan.model.cache import LayerCache
from pinhan.model.config import ModelConfig


def key_padding_mask(mask: Tensor) -> Tensor:
    """Turn a (B, S) bool "is real" mask into an SDPA mask (B, 1, 1, S).

    A row with no real position (an empty example) may attend everything instead, so that
    softmax never sees an all-masked row (which would give NaN); its outputs are ignored anyway.
    """
    empty = ~mask.any(dim=-1, keepdim=True)  # (B, 1)
    return (mask | empty)[:, None, None, :]  # (B, 1, 1, S)


def _split_heads(x: Tensor, n_heads: int) -> Tensor:
    B, L, d = x.shape
    return x.view(B, L, n_heads, d // n_heads).transpose(1, 2)  # (B, H, L, dh)


def _merge_heads(x: Tensor) -> Tensor:
    B, H, L, dh = x.shape
    return x.transpose(1, 2).reshape(B, L, H * dh)  # (B, L, d)


class SelfAttention(nn.Module):
    """Multi-head self-attention, bidirectional (with a key mask) or causal (with a KV cache)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.n_heads = config.n_heads
        self.dropout = config.dropout
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model, bias=False)
        self.out = nn.Linear(config.d_model, config.d_model, bias=False)

    def forward(
        self,
        x: Tensor,
        *,
        attn_mask: Tensor | None = None,
        causal: bool = False,
        past: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Attend ``x`` (B, T, d) to itself (and to ``past`` keys/values when given).

        Args:
            x: (B, T, d) normalised inputs.
            attn_mask: (B, 1, 1, T) bool key mask for bidirectional attention.
            causal: If true, step t attends only steps <= t (cached steps included).
            past: (k, v), each (B, H, L, dh), of L earlier steps.

        Returns:
            (B, T, d) outputs and the (k, v) of all L + T steps, each (B, H, L + T, dh).
        """
        q, k, v = self.qkv(x).chunk(3, dim=-1)  # 3 x (B, T, d)
        q = _split_heads(q, self.n_heads)  # (B, H, T, dh)
        k = _split_heads(k, self.n_heads)  # (B, H, T, dh)
        v = _split_heads(v, self.n_heads)  # (B, H, T, dh)
        past_len = 0
        if past is not None:
            past_len = past[0].shape[2]
            k = torch.cat([past[0], k], dim=2)  # (B, H, L + T, dh)
            v = torch.cat([past[1], v], dim=2)  # (B, H, L + T, dh)
        # A single new step (T == 1) may see every key, cached or not: no mask. Testing T before
        # the cache length keeps the one-step path free of shape branches, so it exports with a
        # dynamic cache length (PinhanModel.decode_step).
        is_causal = False
        T = x.shape[1]
        if causal and T > 1:
            if past_len == 0:
                is_causal = True
            else:  # several new steps after cached ones: step i sees keys <= past_len + i
                keys = torch.arange(past_len + T, device=x.device)  # (L + T,)
                steps = torch.arange(past_len, past_len + T, device=x.device)  # (T,)
                attn_mask = keys[None, :] <= steps[:, None]  # (T, L + T)
        y = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=attn_mask,
            dropout_p=self.dropout if self.training else 0.0,
            is_causal=is_causal,
        )  # (B, H, T, dh)
        return self.out(_merge_heads(y)), (k, v)  # (B, T, d)

    def attend_at(self, x: Tensor, attn_mask: Tensor, rows: Tensor, positions: Tensor) -> Tensor:
        """Bidirectional self-attention output at N chosen positions only: keys and values of
        every position, queries and the output projection at ``(rows[i], positions[i])``.

        The B rows' keys are laid end to end (B * S) and each query attends those of its own row
        (a block mask), so the N queries need no padding to a common count per row and no copy
        of their row's keys.

        Args:
            x: (B, S, d) normalised inputs.
            attn_mask: (B, 1, 1, S) bool key mask (:func:`key_padding_mask`).
            rows, positions: (N,) long, the positions wanted.

        Returns:
            (N, d), equal to ``forward(x, attn_mask=attn_mask)[0][rows, positions]``.
        """
        B, S, d = x.shape
        H = self.n_heads
        w_q, w_kv = self.qkv.weight[:d], self.qkv.weight[d:]  # (d, d), (2d, d): chunk order q, k, v
        k, v = F.linear(x, w_kv).reshape(B * S, 2 * d).chunk(2, dim=-1)  # 2 x (B * S, d)
        q = F.linear(x[rows, positions], w_q)  # (N, d)
        key_rows = torch.div(torch.arange(B * S, device=x.device), S, rounding_mode="floor")  # (B * S,) each key's row
        allowed = (rows[:, None] == key_rows[None, :]) & attn_mask.reshape(1, B * S)  # (N, B * S)
        y = F.scaled_dot_product_attention(
            _split_heads(q[None], H), _split_heads(k[None], H), _split_heads(v[None], H),
            attn_mask=allowed[None, None], dropout_p=self.dropout if self.training else 0.0,
        )  # (1, H, N, dh): one batch of all rows' keys
        return self.out(_merge_heads(y)[0])  # (N, d)


class CrossAttention(nn.Module):
    """Multi-head attention from decoder steps to the encoder memory."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.n_heads = config.n_heads
        self.dropout = config.dropout
        self.q = nn.Linear(config.d_model, config.d_model, bias=False)
        self.kv = nn.Linear(config.d_model, 2 * config.d_model, bias=False)
        self.out = nn.Linear(config.d_model, config.d_model, bias=False)

    def memory_kv(self, memory: Tensor) -> tuple[Tensor, Tensor]:
        """Project the encoder memory (B, S, d) to keys and values, each (B, H, S, dh)."""
        k, v = self.kv(memory).chunk(2, dim=-1)  # 2 x (B, S, d)
        return _split_heads(k, self.n_heads), _split_heads(v, self.n_heads)

    def forward(self, x: Tensor, k: Tensor, v: Tensor, attn_mask: Tensor) -> Tensor:
        """Attend ``x`` (B, T, d) to memory keys/values; ``attn_mask`` is (B, 1, 1, S)."""
        q = _split_heads(self.q(x), self.n_heads)  # (B, H, T, dh)
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=self.dropout if self.training else 0.0
        )  # (B, H, T, dh)
        return self.out(_merge_heads(y))  # (B, T, d)


class FeedForward(nn.Module):
    """Position-wise ``Linear -> GELU -> Linear``."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.up = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.down = nn.Linear(config.d_ff, config.d_model, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.down(F.gelu(self.up(x)))  # (B, L, d)


class EncoderBlock(nn.Module):
    """Pre-norm block: ``x + SelfAttn(LN(x))`` then ``x + FF(LN(x))``."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(config.d_model)
        self.attn = SelfAttention(config)
        self.norm2 = nn.LayerNorm(config.d_model)
        self.ff = FeedForward(config)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: Tensor, attn_mask: Tensor) -> Tensor:
        """``x`` (B, S, d), ``attn_mask`` (B, 1, 1, S) from :func:`key_padding_mask`."""
        h, _ = self.attn(self.norm1(x), attn_mask=attn_mask)  # (B, S, d)
        x = x + self.drop(h)
        x = x + self.drop(self.ff(self.norm2(x)))  # (B, S, d)
        return x

    def forward_at(self, x: Tensor, attn_mask: Tensor, rows: Tensor, positions: Tensor) -> Tensor:
        """The block's output at N positions only, ``forward(x, attn_mask)[rows, positions]``
        (N, d): every position gives keys and values, but the queries, the output projection
        and the feed-forward (five sixths of the block's work) run at those N alone."""
        h = x[rows, positions] + self.drop(self.attn.attend_at(self.norm1(x), attn_mask, rows, positions))  # (N, d)
        return h + self.drop(self.ff(self.norm2(h)))  # (N, d)


class DecoderBlock(nn.Module):
    """Pre-norm block: causal self-attention, cross-attention to the memory, feed-forward."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(config.d_model)
        self.self_attn = SelfAttention(config)
        self.norm2 = nn.LayerNorm(config.d_model)
        self.cross_attn = CrossAttention(config)
        self.norm3 = nn.LayerNorm(config.d_model)
        self.ff = FeedForward(config)
        self.drop = nn.Dropout(config.dropout)

    def forward(
        self,
        x: Tensor,
        memory: Tensor | None,
        memory_attn_mask: Tensor,
        cache: LayerCache | None = None,
        steps_mask: Tensor | None = None,
    ) -> tuple[Tensor, LayerCache]:
        """Run T decoder steps.

        Args:
            x: (B, T, d) decoder states of the new steps.
            memory: (B, S, d) encoder output; only read when ``cache`` is None.
            memory_attn_mask: (B, 1, 1, S) from :func:`key_padding_mask`.
            cache: This layer's cache of earlier steps, or None on the first call.
            steps_mask: (B, 1, T, T) bool, the steps each step attends instead of the causal
                order (a tree of steps: each attends its ancestors and itself); no cache then.

        Returns:
            (B, T, d) outputs and the updated cache (earlier steps + these T steps).
        """
        if steps_mask is not None:
            if cache is not None:
                raise ValueError("a steps mask reads no cached steps")
            h, (k, v) = self.self_attn(self.norm1(x), attn_mask=steps_mask)  # (B, T, d)
        else:
            past = None if cache is None else (cache.self_k, cache.self_v)
            h, (k, v) = self.self_attn(self.norm1(x), causal=True, past=past)  # (B, T, d)
        x = x + self.drop(h)
        if cache is None:
            if memory is None:
                raise ValueError("memory is required when no cache is given")
            cross_k, cross_v = self.cross_attn.memory_kv(memory)  # 2 x (B, H, S, dh)
        else:
            cross_k, cross_v = cache.cross_k, cache.cross_v
        x = x + self.drop(self.cross_attn(self.norm2(x), cross_k, cross_v, memory_attn_mask))
        x = x + self.drop(self.ff(self.norm3(x)))  # (B, T, d)
        return x, LayerCache(self_k=k, self_v=v, cross_k=cross_k, cross_v=cross_v)
