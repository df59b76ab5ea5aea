"""Learning-rate schedule: linear warm-up, then cosine decay to ``lr * min_lr_ratio``."""

from __future__ import annotations

import math


def lr_at(step: int, cfg) -> float:
    """Learning rate for optimizer step ``step`` (0-based) of a run configured by ``cfg``."""
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    span = max(cfg.max_steps - cfg.warmup_steps, 1)
    progress = min(max(step - cfg.warmup_steps, 0) / span, 1.0)
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + (cfg.lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))
