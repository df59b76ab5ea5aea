"""Fine-tuning a trained model on a domain corpus: the training loop of ``pinhan train``, started
from a checkpoint, with the vocabulary grown for the domain's new characters.

Modes: ``full`` (every weight), ``freeze-embeddings`` (input tables fixed), ``freeze-encoder``
(embeddings and encoder fixed) and ``lora`` (only low-rank adapters on the attention projections,
merged into the weights on save).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from pinhan.errors import ConfigError
from pinhan.model.transformer import PinhanModel
from pinhan.train.data import RunData

MODES = ("full", "freeze-embeddings", "freeze-encoder", "lora")


@dataclass
class FinetuneConfig:
    """How much of the model moves.

    Args:
        mode: ``full``, ``freeze-embeddings``, ``freeze-encoder`` or ``lora``.
        lora_rank: rank r of the LoRA updates.
        lora_alpha: LoRA scale numerator (the update is multiplied by alpha / r).
    """

    mode: str = "full"
    lora_rank: int = 8
    lora_alpha: float = 16.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"finetune.mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.lora_rank < 1 or self.lora_alpha <= 0:
            raise ConfigError("finetune.lora_rank must be >= 1 and finetune.lora_alpha > 0")


def grow_vocabulary(model: PinhanModel, n_chars: int) -> PinhanModel:
    """A copy of ``model`` with ``n_chars`` character rows; old rows kept, new ones initialised
    like fresh embeddings (N(0, 0.02), zero biases)."""
    if n_chars == model.config.n_chars:
        return model
    grown = PinhanModel(model.config.replace(n_chars=n_chars))
    state = grown.state_dict()
    for name, old in model.state_dict().items():
        new = state[name]
        if old.shape == new.shape:
            state[name] = old
        else:  # a character-indexed tensor: dim 0 grew
            new = new.clone()
            new[: old.shape[0]] = old
            state[name] = new
    grown.load_state_dict(state)
    return grown


def prepare_model(model: PinhanModel, data: RunData, config: FinetuneConfig):
    """Grow, freeze or adapt ``model`` for ``config.mode``; returns (model, export function or None)."""
    old_n = model.config.n_chars
    model = grow_vocabulary(model, len(data.vocab.chars))
    export = None
    if config.mode == "freeze-embeddings":
        for p in model.embed.parameters():
            p.requires_grad_(False)
    elif config.mode == "freeze-encoder":
        for part in (model.embed, model.encoder_layers, model.encoder_norm):
            for p in part.parameters():
                p.requires_grad_(False)
    elif config.mode == "lora":
        from pinhan.train.lora import add_lora, merged_copy

        add_lora(model, config.lora_rank, config.lora_alpha)
        export = merged_copy
    if config.mode != "full" and len(data.vocab.chars) > old_n:
        # New characters must learn their rows even where the rest is frozen: train the
        # character-indexed tensors, but zero the gradient of the pretrained rows.
        for param in (model.embed.chars.weight, model.heads.char_bias, model.heads.nar_bias):
            param.requires_grad_(True)
            param.register_hook(lambda grad, n=old_n: torch.cat([torch.zeros_like(grad[:n]), grad[n:]]))
    if not any(p.requires_grad for p in model.parameters()):
        raise ConfigError("finetune: nothing left to train")
    return model, export


def trainable_fraction(model: torch.nn.Module) -> float:
    total = sum(p.numel() for p in model.parameters())
    return sum(p.numel() for p in model.parameters() if p.requires_grad) / max(total, 1)


def finetune_out_default(model_dir: Path, data_dir: Path) -> Path:
    return Path("runs") / f"{model_dir.name}-ft-{data_dir.name}"
