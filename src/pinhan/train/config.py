"""The training recipe: ``RunConfig`` = model size + optimisation + example sampling + losses.

A yaml preset (``configs/small.yaml``) has one section per part::

    model: {size: small, dropout: 0.1}      # a named size plus ModelConfig field overrides
    train: {batch_size: 64, lr: 1.0e-3, max_steps: 20000, ...}
    examples: {task_weights: {p2h: 0.6, h2p: 0.2, gen: 0.2}, ...}
    loss: {main: 1.0, cross: 0.3, nar: 0.3}

``key=value`` overrides address the same tree (``train.lr=3e-4 model.d_model=128``). Unknown
keys and wrong types are errors that name the key. ``pinhan.config.resolve_config(RunConfig,
yaml, overrides)`` builds one. The whole recipe is saved in every checkpoint's ``config.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from pinhan.config import from_mapping, to_mapping
from pinhan.data.examples import ExampleConfig
from pinhan.errors import ConfigError
from pinhan.model.config import NAMED_SIZES, ModelConfig
from pinhan.model.losses import LossWeights

VOCAB_FIELDS = ("n_chars", "n_syllables", "n_initials", "n_finals", "n_tones")


@dataclass
class TrainConfig:
    """Optimisation and bookkeeping.

    Args:
        batch_size: examples per optimizer step and process (before accumulation).
        grad_accum: micro-batches accumulated per optimizer step; the global batch is
            ``batch_size * grad_accum * world_size``.
        lr: peak learning rate of AdamW.
        min_lr_ratio: the cosine decays to ``lr * min_lr_ratio`` at ``max_steps``.
        warmup_steps: linear warm-up from 0 to ``lr``.
        weight_decay: AdamW decoupled weight decay (not applied to biases, norms, embeddings).
        beta1: AdamW beta1.
        beta2: AdamW beta2.
        grad_clip: clip the global gradient norm to this (0 = off).
        max_steps: optimizer steps of the whole run (also shapes the cosine).
        max_minutes: stop (saving a checkpoint) after this much wall-clock time; 0 = no limit.
        stop_at_step: stop (saving a checkpoint) at this step without changing the schedule, to
            continue later with ``--resume`` (perhaps with another ``max_steps``); 0 = no stop.
        max_cands: restrict the hanzi softmax to this many candidates a position's pinyin allows
            (0 = full softmax over the vocabulary).
        eval_every: steps between dev evaluations (and checkpoints).
        eval_batches: dev batches averaged for the dev loss.
        eval_clauses: dev clauses decoded for the p2h character accuracy.
        patience: stop after this many evaluations without a better dev accuracy (0 = never).
        log_every: steps between metric rows in ``metrics.csv``.
        seed: seeds weights, dropout and the example stream.
        threads: torch CPU threads (0 = leave torch's default).
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
        precision: ``auto`` (bf16 autocast on CUDA, fp32 on CPU), ``bf16`` or ``fp32``.
        compile: wrap the model in ``torch.compile``.
        snapshot_minutes: wall-clock minutes of training (resumes included) at which to keep a
            copy of the model in ``snapshots/NNNmin`` (for learning curves).
    """

    batch_size: int = 64
    grad_accum: int = 1
    lr: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 200
    weight_decay: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.98
    grad_clip: float = 1.0
    max_steps: int = 10_000
    max_minutes: float = 0.0
    stop_at_step: int = 0
    max_cands: int = 64
    eval_every: int = 500
    eval_batches: int = 8
    eval_clauses: int = 200
    patience: int = 0
    log_every: int = 50
    seed: int = 0
    threads: int = 0
    device: str = "auto"
    precision: str = "auto"
    compile: bool = False
    snapshot_minutes: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if any(m <= 0 for m in self.snapshot_minutes):
            raise ConfigError("train.snapshot_minutes must be positive minutes")
        self.snapshot_minutes = sorted(self.snapshot_minutes)
        for name in ("batch_size", "grad_accum", "max_steps", "eval_every", "log_every", "eval_batches"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name} must be at least 1, got {getattr(self, name)}")
        for name in ("warmup_steps", "max_cands", "eval_clauses", "patience", "threads", "seed"):
            if getattr(self, name) < 0:
                raise ConfigError(f"train.{name} must be >= 0, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ConfigError(f"train.lr must be positive, got {self.lr}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ConfigError(f"train.min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        if self.max_minutes < 0 or self.grad_clip < 0 or self.weight_decay < 0 or self.stop_at_step < 0:
            raise ConfigError("train.max_minutes, train.stop_at_step, train.grad_clip and train.weight_decay must be >= 0")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"train.device must be auto, cpu or cuda, got {self.device!r}")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise ConfigError(f"train.precision must be auto, bf16 or fp32, got {self.precision!r}")
        if self.max_cands == 1:
            raise ConfigError("train.max_cands must be 0 (full softmax) or at least 2")


@dataclass
class RunConfig:
    """Everything that makes a training run: see the module docstring for the yaml layout.

    Args:
        model: ``{"size": "tiny" | "small" | "base", **ModelConfig overrides}``; the vocabulary
            sizes come from the data directory.
        train: :class:`TrainConfig`.
        examples: :class:`~pinhan.data.examples.ExampleConfig`.
        loss: :class:`~pinhan.model.losses.LossWeights`.
    """

    model: dict[str, Any] = field(default_factory=lambda: {"size": "small"})
    train: TrainConfig = field(default_factory=TrainConfig)
    examples: ExampleConfig = field(default_factory=ExampleConfig)
    loss: LossWeights = field(default_factory=LossWeights)

    def model_config(self, vocab_sizes: Mapping[str, int]) -> ModelConfig:
        """The architecture: named size + overrides + the data's vocabulary sizes."""
        spec = dict(self.model)
        size = spec.pop("size", "small")
        if size not in NAMED_SIZES:
            raise ConfigError(f"model.size must be one of {', '.join(NAMED_SIZES)}, got {size!r}")
        try:
            return NAMED_SIZES[size](**vocab_sizes, **spec)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"model: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return {"model": dict(self.model), "train": to_mapping(self.train),
                "examples": to_mapping(self.examples), "loss": self.loss.to_dict()}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RunConfig:
        """Build and check a RunConfig from its nested-dict form (what
        ``pinhan.config.resolve_config(RunConfig, ...)`` calls)."""
        if not isinstance(data, Mapping):
            raise ConfigError("the run config must be a mapping with sections model, train, examples, loss")
        unknown = sorted(set(data) - {"model", "train", "examples", "loss"})
        if unknown:
            raise ConfigError(f"unknown section(s) in run config: {', '.join(unknown)} (known: model, train, examples, loss)")
        model = data.get("model", {"size": "small"})
        if not isinstance(model, Mapping):
            raise ConfigError("model must be a mapping such as {size: small}")
        clash = sorted(set(model) & set(VOCAB_FIELDS))
        if clash:
            raise ConfigError(f"model.{clash[0]} comes from the data directory's vocabulary; remove it from the config")
        model_fields = set(ModelConfig.__dataclass_fields__) - set(VOCAB_FIELDS)
        bad = sorted(set(model) - model_fields - {"size"})
        if bad:
            raise ConfigError(f"unknown key(s) in model: {', '.join(bad)} (known: size, {', '.join(sorted(model_fields))})")
        return cls(
            model=dict(model),
            train=from_mapping(TrainConfig, data.get("train", {}), where="train"),
            examples=from_mapping(ExampleConfig, data.get("examples", {}), where="examples"),
            loss=from_mapping(LossWeights, data.get("loss", {}), where="loss"),
        )
