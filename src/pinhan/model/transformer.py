"""``PinhanModel``: the encoder–decoder with a fused input layer and three output heads.

::

    model = PinhanModel(tiny(n_chars=..., n_syllables=..., n_initials=..., n_finals=...))
    losses = model(batch)  # training: dict with "main", "cross", "nar", "total"
    enc = model.encode(EncoderInputs.from_batch(batch))
    h, cache = model.decode(bos_step, enc.memory, enc.mask)  # first step, T = 1
    h, cache = model.decode(next_step, None, enc.mask, cache=cache)  # later steps: cache
    logits = model.char_logits(h)  # (B, 1, n_chars)

Decoding one step at a time on plain tensors (what the torch runner and the ONNX export share)::

    cross_k, cross_v = model.cross_kv(enc.memory)  # 2 x (n_layers, B, H, S, dh), once per input
    h, self_k, self_v = model.decode_step(step, pos, self_k, self_v, cross_k, cross_v, enc.mask)

Encoder inputs are (B, S) id tensors ``chars, initials, finals, tones, segments`` plus ``task``
(B,); positions with segment 0 are padding. Decoder inputs are (B, T) ``chars, initials, finals,
tones``: the previous output pair at each step (BOS, pinyin factors 0, at step 0), right-padded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import torch
from torch import Tensor, nn

from pinhan import ids
from pinhan.model.cache import DecoderCache, LayerCache
from pinhan.model.config import ModelConfig
from pinhan.model.embedding import FusedEmbedding
from pinhan.model.heads import OutputHeads
from pinhan.model.layers import DecoderBlock, EncoderBlock, key_padding_mask

if TYPE_CHECKING:
    from pinhan.model.losses import LossWeights

_FACTORS = ("chars", "initials", "finals", "tones")


def _take(batch: Mapping[str, Tensor], keys: list[str], what: str) -> list[Tensor]:
    missing = [k for k in keys if k not in batch]
    if missing:
        raise KeyError(f"{what} is missing keys: {', '.join(missing)}")
    return [batch[k] for k in keys]


@dataclass
class EncoderInputs:
    """Encoder inputs: (B, S) long ids per position, and the (B,) task of each example."""

    chars: Tensor
    initials: Tensor
    finals: Tensor
    tones: Tensor
    segments: Tensor
    task: Tensor

    @classmethod
    def from_batch(cls, batch: Mapping[str, Tensor], prefix: str = "enc_") -> EncoderInputs:
        """Read ``enc_chars, enc_initials, enc_finals, enc_tones, enc_segments`` and ``task``."""
        keys = [prefix + k for k in (*_FACTORS, "segments")] + ["task"]
        return cls(*_take(batch, keys, "encoder batch"))


@dataclass
class DecoderInputs:
    """Decoder inputs: (B, T) long ids of the previous output pair at each step."""

    chars: Tensor
    initials: Tensor
    finals: Tensor
    tones: Tensor

    @classmethod
    def from_batch(cls, batch: Mapping[str, Tensor], prefix: str = "dec_") -> DecoderInputs:
        """Read ``dec_chars, dec_initials, dec_finals, dec_tones``."""
        return cls(*_take(batch, [prefix + k for k in _FACTORS], "decoder batch"))


EncoderLike = EncoderInputs | Mapping[str, Tensor]
DecoderLike = DecoderInputs | Mapping[str, Tensor]


class EncoderOutput(NamedTuple):
    """Result of :meth:`PinhanModel.encode`.

    Attributes:
        memory: (B, S, d) final encoder states (after the last LayerNorm).
        mask: (B, S) bool, True at real (non-padding) positions.
    """

    memory: Tensor
    mask: Tensor


class PinhanModel(nn.Module):
    """Encoder–decoder Transformer for p2h, h2p and gen.

    Args:
        config: The architecture; see :class:`~pinhan.model.config.ModelConfig`.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = FusedEmbedding(config)
        self.encoder_layers = nn.ModuleList(
            EncoderBlock(config) for _ in range(config.n_encoder_layers)
        )
        self.encoder_norm = nn.LayerNorm(config.d_model)
        self.decoder_layers = nn.ModuleList(
            DecoderBlock(config) for _ in range(config.n_decoder_layers)
        )
        self.decoder_norm = nn.LayerNorm(config.d_model)
        self.heads = OutputHeads(config)
        self.reset_parameters()

    # --- init -------------------------------------------------------------------------------
    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Initialise weights: N(0, 0.02), residual output projections scaled down by depth
        (GPT-2), zero biases, zero padding rows, unit LayerNorms."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, std=0.02)
                if module.padding_idx is not None:
                    module.weight[module.padding_idx].zero_()
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        for layers in (self.encoder_layers, self.decoder_layers):
            std = 0.02 / math.sqrt(2 * len(layers))
            for name, p in layers.named_parameters():
                if name.endswith(("attn.out.weight", "ff.down.weight")):
                    nn.init.normal_(p, std=std)
        if self.heads.char_weight is not None:
            nn.init.normal_(self.heads.char_weight, std=0.02)
        nn.init.zeros_(self.heads.char_bias)
        nn.init.zeros_(self.heads.nar_bias)

    def num_parameters(self) -> int:
        """Number of distinct trainable parameters (a tied matrix counts once)."""
        return sum(p.numel() for p in self.parameters())

    # --- encoder / decoder -----------------------------------------------------------------
    def encode(self, enc: EncoderLike, layers: int | None = None) -> EncoderOutput:
        """Run the bidirectional encoder.

        Args:
            enc: :class:`EncoderInputs`, or a mapping with keys ``chars, initials, finals,
                tones, segments`` ((B, S) long) and ``task`` ((B,) long).
            layers: run only the first this many layers (then the final norm), for a reader of
                lower-layer states such as g2p's polyphone head; None: all.

        Returns:
            :class:`EncoderOutput` with ``memory`` (B, S, d) and ``mask`` (B, S).
        """
        x, mask, attn_mask = self._embed_encoder(enc)  # (B, S, d), (B, S), (B, 1, 1, S)
        for layer in self.encoder_layers if layers is None else self.encoder_layers[:layers]:
            x = layer(x, attn_mask)  # (B, S, d)
        return EncoderOutput(memory=self.encoder_norm(x), mask=mask)

    def _embed_encoder(self, enc: EncoderLike) -> tuple[Tensor, Tensor, Tensor]:
        """The encoder's input embeddings (B, S, d), its real-position mask (B, S) and the
        attention key mask (B, 1, 1, S)."""
        if not isinstance(enc, EncoderInputs):
            enc = EncoderInputs.from_batch(enc, prefix="")
        mask = enc.segments != ids.SEG_PAD  # (B, S)
        x = self.embed.encoder(
            enc.chars, enc.initials, enc.finals, enc.tones, enc.segments, enc.task
        )  # (B, S, d)
        attn_mask = key_padding_mask(mask)  # (B, 1, 1, S)
        return x, mask, attn_mask

    def encode_at(self, enc: EncoderLike, rows: Tensor, positions: Tensor, layers: int | None = None) -> Tensor:
        """Encoder states at N chosen positions only: ``encode(enc, layers).memory[rows,
        positions]`` (N, d), with the last layer run at those positions alone
        (:meth:`~pinhan.model.layers.EncoderBlock.forward_at`): what g2p's polyphone head reads,
        at a fraction of the work when it wants few positions of its rows.

        Args:
            enc: as for :meth:`encode`.
            rows, positions: (N,) long, the positions wanted.
            layers: as for :meth:`encode` (None: all).
        """
        x, _, attn_mask = self._embed_encoder(enc)  # (B, S, d), (B, 1, 1, S)
        blocks = list(self.encoder_layers if layers is None else self.encoder_layers[:layers])
        if not blocks:  # layers=0: the embeddings, normalised
            return self.encoder_norm(x[rows, positions])  # (N, d)
        for layer in blocks[:-1]:
            x = layer(x, attn_mask)  # (B, S, d)
        return self.encoder_norm(blocks[-1].forward_at(x, attn_mask, rows, positions))  # (N, d)

    def decode(
        self,
        dec: DecoderLike,
        memory: Tensor | None,
        memory_mask: Tensor,
        cache: DecoderCache | None = None,
    ) -> tuple[Tensor, DecoderCache]:
        """Run the causal decoder over T new steps.

        Args:
            dec: :class:`DecoderInputs`, or a mapping with keys ``chars, initials, finals,
                tones``, each (B, T) long.
            memory: (B, S, d) encoder memory. Only read when ``cache`` is None (its keys and
                values are then projected once and kept in the returned cache); may be None
                when a cache is given.
            memory_mask: (B, S) bool, True at real encoder positions.
            cache: The cache returned by the previous call, or None for the first call. With a
                cache, the T steps take positions ``cache.length .. cache.length + T - 1``.

        Returns:
            ``(hidden, cache)``: (B, T, d) final decoder states (after the last LayerNorm), and
            the cache covering all steps so far.
        """
        if not isinstance(dec, DecoderInputs):
            dec = DecoderInputs.from_batch(dec, prefix="")
        start = 0 if cache is None else cache.length
        if cache is not None and cache.batch_size != dec.chars.shape[0]:
            raise ValueError(
                f"cache holds {cache.batch_size} rows but the decoder input has "
                f"{dec.chars.shape[0]}"
            )
        x = self.embed.decoder(dec.chars, dec.initials, dec.finals, dec.tones, start)  # (B, T, d)
        attn_mask = key_padding_mask(memory_mask)  # (B, 1, 1, S)
        new_layers = []
        for i, layer in enumerate(self.decoder_layers):
            layer_cache = None if cache is None else cache.layers[i]
            x, layer_cache = layer(x, memory, attn_mask, layer_cache)  # (B, T, d)
            new_layers.append(layer_cache)
        return self.decoder_norm(x), DecoderCache(tuple(new_layers))

    def decode_tree(self, dec: DecoderLike, positions: Tensor, steps_mask: Tensor, memory: Tensor,
                    memory_mask: Tensor) -> Tensor:
        """Run the decoder over trees of steps in one pass: the teacher-forced readings of one
        input that share their first hanzi share those steps (a trie of the readings), and each
        step attends its ancestors and itself. A chain with ``positions`` 0..T-1 and a
        lower-triangular mask is :meth:`decode` without a cache.

        Args:
            dec: :class:`DecoderInputs` or a mapping (keys ``chars, initials, finals, tones``),
                each (B, T) long: each step's input (BOS at a root, else what its parent fed back).
            positions: (B, T) long, each step's depth (its position in every reading through it).
            steps_mask: (B, T, T) bool, True where step i may attend step j (its ancestors and
                itself; a padding step itself alone).
            memory: (B, S, d) encoder memory of each tree's input.
            memory_mask: (B, S) bool, True at real encoder positions.

        Returns:
            (B, T, d) final decoder states (after the last LayerNorm).
        """
        if not isinstance(dec, DecoderInputs):
            dec = DecoderInputs.from_batch(dec, prefix="")
        x = self.embed.decoder(dec.chars, dec.initials, dec.finals, dec.tones, positions=positions)  # (B, T, d)
        attn_mask = key_padding_mask(memory_mask)  # (B, 1, 1, S)
        for layer in self.decoder_layers:
            x, _ = layer(x, memory, attn_mask, steps_mask=steps_mask[:, None])  # (B, T, d)
        return self.decoder_norm(x)

    # --- one decoder step on plain tensors ----------------------------------------------------
    def cross_kv(self, memory: Tensor) -> tuple[Tensor, Tensor]:
        """Every decoder layer's cross-attention keys and values of ``memory`` (B, S, d), stacked
        for :meth:`decode_step`: 2 x (n_layers, B, H, S, dh)."""
        kv = [layer.cross_attn.memory_kv(memory) for layer in self.decoder_layers]
        keys = torch.stack([k for k, _ in kv])  # (n_layers, B, H, S, dh)
        return keys, torch.stack([v for _, v in kv])  # 2 x (n_layers, B, H, S, dh)

    def decode_step(
        self,
        dec: DecoderLike,
        position: Tensor,
        self_k: Tensor,
        self_v: Tensor,
        cross_k: Tensor,
        cross_v: Tensor,
        memory_mask: Tensor,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """One decoder step with the cache in stacked tensors, as :meth:`decode` computes it for
        T = 1: the one step beam search takes, in the same code on torch and in the ONNX graph.

        Args:
            dec: The previous output pair of each row: :class:`DecoderInputs` or a mapping with
                keys ``chars, initials, finals, tones``, each (N, 1) long.
            position: (1,) long, the step's position (the number of cached steps, L). A tensor,
                not read off the cache's shape, so that an export has no shape arithmetic; it
                is not range-checked here (callers check it against ``max_positions``).
            self_k, self_v: (n_layers, N, H, L, dh) self-attention keys/values of the steps so
                far; L may be 0.
            cross_k, cross_v: (n_layers, N, H, S, dh) from :meth:`cross_kv`, a row per decoder row.
            memory_mask: (N, S) bool, True at real encoder positions of each row.

        Returns:
            ``(hidden, self_k, self_v)``: (N, d) final decoder states (after the last LayerNorm)
            and the self-attention keys/values with this step, each (n_layers, N, H, L + 1, dh).
        """
        if not isinstance(dec, DecoderInputs):
            dec = DecoderInputs.from_batch(dec, prefix="")
        e = self.embed
        x = e.tokens(dec.chars, dec.initials, dec.finals, dec.tones)  # (N, 1, d)
        x = x + e.dec_positions(position)  # (N, 1, d) + (1, d)
        x = e.dropout(e.dec_norm(x))  # (N, 1, d)
        attn_mask = key_padding_mask(memory_mask)  # (N, 1, 1, S)
        keys, values = [], []
        for i, layer in enumerate(self.decoder_layers):
            cache = LayerCache(self_k[i], self_v[i], cross_k[i], cross_v[i])
            x, cache = layer(x, None, attn_mask, cache)  # (N, 1, d)
            keys.append(cache.self_k)  # (N, H, L + 1, dh)
            values.append(cache.self_v)  # (N, H, L + 1, dh)
        # (N, d), 2 x (n_layers, N, H, L + 1, dh)
        return self.decoder_norm(x)[:, 0], torch.stack(keys), torch.stack(values)

    # --- heads -------------------------------------------------------------------------------
    def char_output_weight(self) -> Tensor:
        """The (n_chars, d) hanzi output matrix (the input embedding's when tied)."""
        if self.heads.char_weight is None:
            return self.embed.chars.weight
        return self.heads.char_weight

    def char_logits(self, h: Tensor, cands: Tensor | None = None) -> Tensor:
        """Decoder hanzi head: (..., d) -> (..., n_chars); with ``cands`` (..., C) -> (..., C)."""
        return self.heads.chars(h, self.char_output_weight(), cands)

    def syllable_logits(self, h: Tensor, cands: Tensor | None = None) -> Tensor:
        """Decoder pinyin head: (..., d) -> (..., n_syllables); with ``cands`` -> (..., C)."""
        return self.heads.syllables_logits(h, cands)

    def encoder_char_logits(self, memory: Tensor, cands: Tensor | None = None) -> Tensor:
        """Non-autoregressive hanzi head on encoder states (use it at target positions):
        (..., d) -> (..., n_chars); with ``cands`` (..., C) -> (..., C)."""
        return self.heads.encoder_chars(memory, self.char_output_weight(), cands)

    # --- training ------------------------------------------------------------------------------
    def forward(
        self, batch: Mapping[str, Tensor], weights: LossWeights | None = None
    ) -> dict[str, Tensor]:
        """Compute the training losses of ``batch``.

        See :func:`pinhan.model.losses.compute_losses` for the batch keys and the losses.
        """
        from pinhan.model.losses import compute_losses

        return compute_losses(self, batch, weights)
