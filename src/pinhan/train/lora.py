"""LoRA adapters for fine-tuning: low-rank updates beside frozen linear layers, merged on save.

``y = W x + (alpha / r) * B A x`` with A (r, in) random and B (out, r) zero, so training starts
from the pretrained function exactly. :func:`merged_copy` folds ``(alpha / r) B A`` into ``W`` and
returns a plain :class:`PinhanModel`, so a LoRA fine-tune ships as an ordinary checkpoint.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from pinhan.model.transformer import PinhanModel

# Linear layers of the attention blocks (self-attention qkv/out, cross-attention q/kv/out).
DEFAULT_TARGETS = ("qkv", "q", "kv", "out")


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable rank-``r`` update."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.scale = alpha / rank
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (..., in) -> (..., out): the frozen path plus the low-rank path
        return self.base(x) + (x @ self.lora_a.t() @ self.lora_b.t()) * self.scale

    def merged_weight(self) -> torch.Tensor:
        return self.base.weight + self.scale * (self.lora_b @ self.lora_a)  # (out, in)


def add_lora(model: PinhanModel, rank: int, alpha: float, targets=DEFAULT_TARGETS) -> int:
    """Freeze ``model`` and put adapters on the attention projections; returns how many."""
    for p in model.parameters():
        p.requires_grad_(False)
    count = 0
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.Linear) and child_name in targets and "attn" in f"{name}.{child_name}":
                setattr(module, child_name, LoRALinear(child, rank, alpha))
                count += 1
    return count


def merged_copy(model: nn.Module) -> PinhanModel:
    """A plain PinhanModel whose linear weights include the LoRA updates."""
    model = getattr(model, "module", model)  # unwrap DDP
    merged = PinhanModel(model.config)
    state = {}
    for name, module in model.named_modules():
        if isinstance(module, LoRALinear):
            state[f"{name}.weight"] = module.merged_weight().detach().clone()
    for name, tensor in model.state_dict().items():
        if ".lora_" in name:
            continue
        state.setdefault(name.replace(".base.", "."), tensor.detach().clone())
    merged.load_state_dict(state)
    return merged
