"""The mixed training objective: task head + cross-modal head + non-autoregressive hanzi head.

Batch keys (all ``torch.long``; B examples, S encoder positions, T decoder steps, C candidates):

==========================  ===========  ======================================================
key                         shape        meaning
==========================  ===========  ======================================================
``enc_chars``               (B, S)       hanzi ids (MASK where unknown), PAD at padding
``enc_initials``            (B, S)       initial ids (0 none/pad, 1 unknown)
``enc_finals``              (B, S)       final ids
``enc_tones``               (B, S)       tone ids (tones 1..5 = ids 2..6)
``enc_segments``            (B, S)       0 padding, 1 context, 2 target
``task``                    (B,)         0 p2h, 1 h2p, 2 gen
``dec_chars`` (+ initials,  (B, T)       decoder input: previous output pair, BOS first
finals, tones)
``tgt_chars``               (B, T)       hanzi to emit at each step, IGNORE (-100) = no loss
``tgt_syllables``           (B, T)       toned syllable at each step, IGNORE = no loss
``enc_tgt_chars``           (B, S)       hanzi at encoder target positions, IGNORE elsewhere
``tgt_char_cands``          (B, T, C)    optional: distinct hanzi candidates per step (gold in),
                                         padded with -1; restricts the decoder hanzi softmax
``enc_tgt_char_cands``      (B, S, C)    optional: the same for the encoder hanzi head
``tgt_char_full``           (B, T)       optional bool: steps scored over the whole vocabulary
                                         even though ``tgt_char_cands`` is given (continuations)
==========================  ===========  ======================================================

Losses (token-level means over the batch, each returned separately):

- ``main``: the task's own head — hanzi head for p2h and gen, syllable head for h2p;
- ``cross``: the other decoder head — pinyin of each emitted hanzi (p2h, gen), hanzi of each
  emitted syllable (h2p);
- ``nar``: the encoder hanzi head at ``enc_tgt_chars``;
- ``total`` = ``weights.main * main + weights.cross * cross + weights.nar * nar``.

A loss with no target token in the batch is 0 (still attached to the graph).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

import torch.nn.functional as F
from torch import Tensor

from pinhan import ids
from pinhan.model.transformer import DecoderInputs, EncoderInputs

if TYPE_CHECKING:
    from pinhan.model.transformer import PinhanModel

LOSS_KEYS = ("main", "cross", "nar", "total")


@dataclass
class LossWeights:
    """Weights of the three losses in ``total``.

    Args:
        main: Weight of the task head's cross-entropy.
        cross: Weight of the other decoder head's cross-entropy.
        nar: Weight of the encoder (non-autoregressive) hanzi head's cross-entropy.
    """

    main: float = 1.0
    cross: float = 0.3
    nar: float = 0.3

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"loss weight {f.name} must be a number >= 0, got {value!r}")
            setattr(self, f.name, float(value))

    def to_dict(self) -> dict[str, float]:
        """Return the weights as a plain dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LossWeights:
        """Build from :meth:`to_dict` output; unknown keys raise ``ValueError`` naming them."""
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown loss weight keys: {', '.join(unknown)}")
        return cls(**data)


def token_nll(
    h: Tensor,
    targets: Tensor,
    logits_fn: Callable[[Tensor, Tensor | None], Tensor],
    cands: Tensor | None = None,
    name: str = "targets",
) -> tuple[Tensor, Tensor]:
    """Per-token negative log-likelihood at the positions that have a target.

    Logits are computed only where ``targets != IGNORE`` (padding and context positions cost
    nothing), over the full vocabulary or, with ``cands``, over each position's candidates.

    Args:
        h: (B, L, d) hidden states.
        targets: (B, L) gold ids, ``IGNORE`` where no loss is taken.
        logits_fn: ``(h (N, d), cands (N, C) | None) -> logits (N, V) | (N, C)``.
        cands: (B, L, C) candidate ids (gold included, -1 padding), or None for a full softmax.
        name: Batch key of ``targets``, for error messages.

    Returns:
        ``(nll, valid)``: (N,) losses of the N positions with a target, and the (B, L) bool
        mask of those positions (row-major order, matching ``nll``).

    Raises:
        ValueError: if shapes disagree or a gold id is missing from its candidate list.
    """
    if targets.shape != h.shape[:-1]:
        raise ValueError(f"{name} has shape {tuple(targets.shape)}, expected {tuple(h.shape[:-1])}")
    valid = targets != ids.IGNORE  # (B, L)
    hv = h[valid]  # (N, d)
    gold = targets[valid]  # (N,)
    if cands is None:
        logits = logits_fn(hv, None)  # (N, V)
        return F.cross_entropy(logits.float(), gold, reduction="none"), valid
    if cands.dim() != 3 or cands.shape[:2] != targets.shape:
        raise ValueError(
            f"candidates for {name} have shape {tuple(cands.shape)}, expected "
            f"{tuple(targets.shape)} + (C,)"
        )
    cv = cands[valid]  # (N, C)
    hit = cv == gold[:, None]  # (N, C)
    found = hit.any(dim=-1)  # (N,)
    if not bool(found.all()):
        missing = int((~found).sum())
        raise ValueError(f"{missing} gold ids of {name} are not in their candidate lists")
    index = hit.int().argmax(dim=-1)  # (N,) position of the gold in its list
    logits = logits_fn(hv, cv)  # (N, C)
    return F.cross_entropy(logits.float(), index, reduction="none"), valid


def _char_nll(model: PinhanModel, hidden: Tensor, batch: Mapping[str, Tensor]) -> tuple[Tensor, Tensor]:
    """Decoder hanzi NLL: over each step's candidates, except steps flagged ``tgt_char_full``,
    which get the full softmax. Returns (Nc,) losses in row-major order and the (B, T) mask."""
    targets, cands, full = batch["tgt_chars"], batch.get("tgt_char_cands"), batch.get("tgt_char_full")
    if cands is None or full is None or not bool(full.any()):
        return token_nll(hidden, targets, model.char_logits, cands, "tgt_chars")
    if full.shape != targets.shape:
        raise ValueError(f"tgt_char_full has shape {tuple(full.shape)}, expected {tuple(targets.shape)}")
    restricted, valid_r = token_nll(hidden, targets.masked_fill(full, ids.IGNORE), model.char_logits, cands, "tgt_chars")
    whole, valid_f = token_nll(hidden, targets.masked_fill(~full, ids.IGNORE), model.char_logits, None, "tgt_chars")
    dense = restricted.new_zeros(targets.shape)  # (B, T): both kinds back in row-major order
    dense = dense.index_put((valid_r.nonzero(as_tuple=True)), restricted).index_put(valid_f.nonzero(as_tuple=True), whole)
    valid = valid_r | valid_f
    return dense[valid], valid


def compute_losses(
    model: PinhanModel, batch: Mapping[str, Tensor], weights: LossWeights | None = None
) -> dict[str, Tensor]:
    """Run encoder and decoder on a training batch and return its losses.

    Args:
        model: The model.
        batch: Tensors under the keys in this module's docstring (mixed tasks allowed).
        weights: Loss weights for ``total``; ``LossWeights()`` (1.0 / 0.3 / 0.3) if None.

    Returns:
        Scalar tensors ``main``, ``cross``, ``nar`` and ``total``.
    """
    weights = weights or LossWeights()
    missing = [k for k in ("tgt_chars", "tgt_syllables", "enc_tgt_chars") if k not in batch]
    if missing:
        raise KeyError(f"training batch is missing keys: {', '.join(missing)}")
    enc = model.encode(EncoderInputs.from_batch(batch))
    hidden, _ = model.decode(DecoderInputs.from_batch(batch), enc.memory, enc.mask)  # (B, T, d)

    task = batch["task"]  # (B,)
    char_is_main = (task != ids.TASK_H2P)[:, None]  # (B, 1): hanzi head is the task head
    char_nll, char_valid = _char_nll(model, hidden, batch)  # (Nc,), (B, T)
    syl_nll, syl_valid = token_nll(
        hidden, batch["tgt_syllables"], model.syllable_logits, None, "tgt_syllables"
    )  # (Ns,), (B, T)
    char_main = char_is_main.expand_as(char_valid)[char_valid].to(char_nll.dtype)  # (Nc,)
    syl_main = (~char_is_main).expand_as(syl_valid)[syl_valid].to(syl_nll.dtype)  # (Ns,)

    main_sum = (char_nll * char_main).sum() + (syl_nll * syl_main).sum()
    main_n = char_main.sum() + syl_main.sum()
    cross_sum = (char_nll * (1 - char_main)).sum() + (syl_nll * (1 - syl_main)).sum()
    cross_n = (1 - char_main).sum() + (1 - syl_main).sum()

    nar_nll, _ = token_nll(
        enc.memory,
        batch["enc_tgt_chars"],
        model.encoder_char_logits,
        batch.get("enc_tgt_char_cands"),
        "enc_tgt_chars",
    )  # (Nn,)
    main = main_sum / main_n.clamp(min=1)
    cross = cross_sum / cross_n.clamp(min=1)
    nar = nar_nll.sum() / max(nar_nll.numel(), 1)
    total = weights.main * main + weights.cross * cross + weights.nar * nar
    return {"main": main, "cross": cross, "nar": nar, "total": total}
