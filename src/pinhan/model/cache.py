"""The decoder's key/value cache for incremental decoding.

``PinhanModel.decode`` returns a :class:`DecoderCache`; pass it back with the next step's input
(``T`` may be 1) and only the new positions are computed. Per decoder layer it holds the
self-attention keys/values of every step so far and the cross-attention keys/values of the
encoder memory, which are projected once on the first call and reused afterwards.

Caches are immutable: each call returns a new one, so a caller (beam search) may keep old ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass(frozen=True)
class LayerCache:
    """Cached attention keys and values of one decoder layer.

    Attributes:
        self_k, self_v: (B, H, L, head_dim) self-attention keys/values of the L steps so far.
        cross_k, cross_v: (B, H, S, head_dim) cross-attention keys/values of the encoder memory.
    """

    self_k: Tensor
    self_v: Tensor
    cross_k: Tensor
    cross_v: Tensor

    def index_select(self, index: Tensor, cross: bool = True) -> LayerCache:
        """Return the cache of batch rows ``index`` ((B',) long), in that order.

        ``cross=False`` keeps the cross-attention keys/values as they are: exact when every row
        is replaced by a row with the same encoder input (beams of one input), and it saves
        copying the (B, H, S, dh) memory projections at every step.
        """
        return LayerCache(
            self_k=self.self_k.index_select(0, index),  # (B', H, L, dh)
            self_v=self.self_v.index_select(0, index),  # (B', H, L, dh)
            cross_k=self.cross_k.index_select(0, index) if cross else self.cross_k,  # (B', H, S, dh)
            cross_v=self.cross_v.index_select(0, index) if cross else self.cross_v,  # (B', H, S, dh)
        )


@dataclass(frozen=True)
class DecoderCache:
    """Key/value cache of the whole decoder: one :class:`LayerCache` per layer."""

    layers: tuple[LayerCache, ...]

    @property
    def length(self) -> int:
        """Number of decoder steps already cached (the next step's position)."""
        return int(self.layers[0].self_k.shape[2])

    @property
    def batch_size(self) -> int:
        """Number of sequences (rows) in the cache."""
        return int(self.layers[0].self_k.shape[0])

    def index_select(self, index: Tensor, cross: bool = True) -> DecoderCache:
        """Return the cache of batch rows ``index`` ((B',) long), e.g. to reorder beams.

        The encoder ``memory_mask`` passed to ``decode`` must be reordered the same way (and
        ``cross=False`` is only for reorderings that keep each row's encoder input).
        """
        return DecoderCache(tuple(layer.index_select(index, cross) for layer in self.layers))
