"""Fine-tuning a trained model on a domain corpus: the training loop of ``pinhan train``, started
from a checkpoint, with the vocabulary grown for the domain's new characters.

Modes: ``full`` (every weight), ``freeze-embeddings`` (input tables fixed), ``freeze-encoder``
(embeddings and encoder fixed) and ``lora`` (only low-rank adapters on the attention projections,
merged into the weights on save).

:func:`finetune` is ``pinhan finetune``: the configs (the base model's recipe <- the fine-tuning
defaults :data:`FINETUNE_DEFAULTS` <- overrides), the dev accuracy before, the run, the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch

from pinhan.config import from_mapping, merge, resolve_config
from pinhan.data.model_dir import ModelDir
from pinhan.data.tables import CandidateIndex
from pinhan.errors import ConfigError
from pinhan.model.transformer import PinhanModel
from pinhan.train import distributed
from pinhan.train.config import RunConfig
from pinhan.train.data import RunData, load_run_data
from pinhan.train.dev_eval import DevEvaluator
from pinhan.train.loop import fit
from pinhan.train.runs import check_fresh

MODES = ("full", "freeze-embeddings", "freeze-encoder", "lora")
# Fine-tuning defaults: a gentler, shorter schedule than training from scratch (they override the
# base model's recipe; the command line overrides them).
FINETUNE_DEFAULTS: dict[str, Any] = {"train": {"lr": 3e-4, "warmup_steps": 50, "max_steps": 1000, "eval_every": 200}}


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


@dataclass
class FinetuneRun:
    """A fine-tune's config: the run (``train``, ``examples``, ``loss``; the architecture is the
    pretrained model's) and the ``finetune`` section. Built by ``resolve_config(FinetuneRun, ...)``."""

    run: RunConfig = field(default_factory=RunConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> FinetuneRun:
        if not isinstance(data, Mapping):
            raise ConfigError("the fine-tune config must be a mapping with sections train, examples, loss, finetune")
        ft = from_mapping(FinetuneConfig, data.get("finetune", {}), where="finetune")
        if "model" in data:
            raise ConfigError("finetune keeps the pretrained architecture; model.* cannot be overridden")
        return cls(RunConfig.from_mapping({k: v for k, v in data.items() if k != "finetune"}), ft)


def finetune(model_dir: Path, data_dir: Path, out: Path, overrides: Sequence[str] = (), *, resume: bool = False,
             progress: bool = True) -> dict:
    """Fine-tune the model in ``model_dir`` on prepared ``data_dir`` into run directory ``out``;
    returns the report: mode, trainable fraction, new characters, dev accuracy before and after."""
    model, base_vocab, base_lexicon = ModelDir(model_dir).load_model()
    base = {k: v for k, v in ModelDir(model_dir).recipe().items() if k in ("train", "examples", "loss")}
    config = resolve_config(FinetuneRun, None, list(overrides), base=merge(base, FINETUNE_DEFAULTS))
    run, ft = config.run, config.finetune
    if resume and ft.mode == "lora":
        raise ConfigError("--resume is not supported for LoRA fine-tunes (checkpoints hold merged weights)")
    if not resume:
        check_fresh(out)
    data = load_run_data(data_dir, base_vocab=base_vocab, base_lexicon=base_lexicon)
    model, export = prepare_model(model, data, ft)
    before = _dev_metrics(model, data, run) if distributed.is_main() and not resume else {}
    summary = fit(run, data, out, model=model, resume=resume, progress=progress, export=export,
                  recipe_extra={"data": str(data_dir), "finetune": {"from": str(model_dir), **vars(ft)}})
    return {"mode": ft.mode, "trainable_fraction": round(trainable_fraction(model), 4),
            "new_characters": len(data.vocab.chars) - len(base_vocab.chars),
            "dev_char_acc_before": before.get("dev_char_acc"), "dev_char_acc_after": summary["last"].get("dev_char_acc"),
            "steps": summary["steps"], "seconds": summary["seconds"]}


def _dev_metrics(model: PinhanModel, data: RunData, run: RunConfig) -> dict[str, float]:
    """The starting point's dev metrics, measured as the run's evaluations will be."""
    cfg = run.train
    evaluator = DevEvaluator(data, run.examples, batch_size=cfg.batch_size, n_batches=cfg.eval_batches,
                             n_clauses=cfg.eval_clauses, max_cands=cfg.max_cands, index=CandidateIndex(data.vocab, data.lexicon))
    return evaluator(model, run.loss, torch.device("cpu"))


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
