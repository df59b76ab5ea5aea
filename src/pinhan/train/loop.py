"""The training loop shared by ``pinhan train`` and ``pinhan finetune``.

Single process: ``pinhan train --config configs/small.yaml``.
Many processes: ``torchrun --nproc_per_node 2 -m pinhan.cli train --config configs/small.yaml``
(each rank draws its own examples; gradients are averaged by DistributedDataParallel; rank 0
logs, evaluates and saves).

Examples are a pure function of (seed, step, micro-batch, example index), the dropout RNG and the
optimizer moments are saved with every ``last`` checkpoint, so ``--resume`` continues exactly
where the run stopped: same data order, same weights as an uninterrupted run.

:class:`Trainer` holds a run (model, optimizer, state, logs); :meth:`Trainer.run` loops
:meth:`~Trainer.step`, :meth:`~Trainer.log` and :meth:`~Trainer.evaluate_and_save`; :func:`fit` is
the one call that builds and runs it.
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from pinhan import ids
from pinhan.data.collate import collate
from pinhan.data.examples import ExampleSampler
from pinhan.data.model_dir import ModelDir
from pinhan.data.tables import CandidateIndex
from pinhan.errors import PinhanError
from pinhan.model.io import load_model
from pinhan.model.transformer import PinhanModel
from pinhan.train import distributed
from pinhan.train.checkpoint import TrainState, load_training, resumable, save_checkpoint, seed_everything
from pinhan.train.config import RunConfig
from pinhan.train.data import RunData
from pinhan.train.dev_eval import DevEvaluator
from pinhan.train.logging import MetricsLog
from pinhan.train.schedule import lr_at

SCORE_KEY = "dev_char_acc"
LOSS_KEYS = ("total", "main", "cross", "nar")


class TrainingError(PinhanError):
    """Training cannot go on (a NaN loss, a checkpoint that does not fit, ...)."""


def pick_device(name: str) -> torch.device:
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise TrainingError("train.device=cuda but no CUDA device is available")
        return torch.device("cuda")
    return torch.device("cpu")


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Decay matrices of linear layers; not biases, norms or embeddings (AdamW practice)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (decay if p.dim() >= 2 and "embed" not in name else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]



@dataclass
class _Window:
    """Train losses and tokens summed since the last metrics row."""

    losses: dict[str, float] = field(default_factory=lambda: dict.fromkeys(LOSS_KEYS, 0.0))
    steps: int = 0
    tokens: int = 0
    started: float = field(default_factory=time.perf_counter)

    def add(self, step_losses: dict[str, float], tokens: int) -> None:
        for key in LOSS_KEYS:
            self.losses[key] += step_losses[key]
        self.steps += 1
        self.tokens += tokens

    def means(self) -> dict[str, float]:
        return {f"loss_{key}": value / self.steps for key, value in self.losses.items()}

    def tokens_per_second(self) -> float:
        return self.tokens / max(time.perf_counter() - self.started, 1e-9)


class Trainer:
    """One training run in ``out_dir``: a new model of ``run.model`` (or ``model``) trained on
    ``data``, or with ``resume`` the run's ``last`` checkpoint continued.

    ``export`` turns the training model into the model to save (fine-tuning merges LoRA there).
    """

    def __init__(self, run: RunConfig, data: RunData, out_dir: Path, *, model: PinhanModel | None = None,
                 resume: bool = False, progress: bool = True, recipe_extra: dict | None = None,
                 export: Callable[[torch.nn.Module], torch.nn.Module] | None = None) -> None:
        self.run_config, self.cfg, self.data, self.out_dir = run, run.train, data, out_dir
        self.progress, self.export = progress, export
        self.device, self.dist = self._start()
        self.main_rank = self.dist.rank == 0
        out_dir.mkdir(parents=True, exist_ok=True)
        seed_everything(self.cfg.seed + self.dist.rank)
        self.model = model if model is not None else self._new_model()
        self.model.to(self.device)
        self.optimizer = torch.optim.AdamW(param_groups(self.model, self.cfg.weight_decay), lr=self.cfg.lr,
                                           betas=(self.cfg.beta1, self.cfg.beta2), fused=self.device.type == "cuda")
        self.state = self._resume() if resume else TrainState()
        self.recipe = {**run.to_dict(), **(recipe_extra or {})}
        self._build_pipeline(resume)
        self.started = time.perf_counter() - self.state.elapsed_seconds
        self.window = _Window()
        self.lr = lr_at(self.state.step, self.cfg)
        self.last_metrics: dict = {}
        self.bar: tqdm | None = None

    # --- setting up ---------------------------------------------------------------------------
    def _start(self) -> tuple[torch.device, distributed.DistInfo]:
        """The device, the process group (under torchrun) and the thread count."""
        device = pick_device(self.cfg.device)
        dist_info = distributed.init(device.type)
        if device.type == "cuda" and dist_info.enabled:
            device = torch.device("cuda", dist_info.local_rank)
            torch.cuda.set_device(device)
        if self.cfg.threads:
            torch.set_num_threads(self.cfg.threads)
        return device, dist_info

    def _new_model(self) -> PinhanModel:
        vocab = self.data.vocab
        return PinhanModel(self.run_config.model_config({"n_chars": len(vocab.chars), "n_syllables": len(vocab.syllables),
                                                         "n_initials": len(vocab.initials), "n_finals": len(vocab.finals)}))

    def _resume(self) -> TrainState:
        """Weights, optimizer moments, RNG and state from the run's ``last`` checkpoint."""
        last = resumable(self.out_dir)
        loaded = load_model(last)
        if loaded.config != self.model.config:
            raise TrainingError(f"--resume: {last} holds a different architecture than this run's config")
        self.model.load_state_dict(loaded.state_dict())
        state = load_training(last, self.optimizer)
        _record_resume(state, last, self.cfg)
        if self.dist.rank:  # every rank restored rank 0's RNG; keep the ranks' dropout streams apart
            torch.manual_seed(self.cfg.seed + self.dist.rank + state.step)
        return state

    def _build_pipeline(self, resume: bool) -> None:
        """Example sampler, dev evaluator and metrics log (rank 0), the wrapped model, autocast."""
        cfg, data = self.cfg, self.data
        self.sampler = ExampleSampler(data.train, data.vocab, self.run_config.examples, char_map=data.char_map)
        self.index = CandidateIndex(data.vocab, data.lexicon)
        self.evaluator = DevEvaluator(data, self.run_config.examples, batch_size=cfg.batch_size, n_batches=cfg.eval_batches,
                                      n_clauses=cfg.eval_clauses, max_cands=cfg.max_cands,
                                      index=self.index) if self.main_rank else None
        self.metrics_log = MetricsLog(self.out_dir, resume_step=self.state.step if resume else None) if self.main_rank else None
        self.train_model = distributed.wrap(self.model, self.dist, self.device)
        if cfg.compile:
            self.train_model = torch.compile(self.train_model)
        use_bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and self.device.type == "cuda"
                                               and torch.cuda.is_bf16_supported())
        self.autocast = (lambda: torch.autocast(self.device.type, dtype=torch.bfloat16)) if use_bf16 else nullcontext

    # --- the loop -----------------------------------------------------------------------------
    def run(self) -> dict:
        """Train until ``max_steps``, the time limit, ``stop_at_step`` or early stopping; returns
        a summary: steps, tokens, seconds, last and best dev metrics, why it stopped."""
        cfg, state = self.cfg, self.state
        self.bar = tqdm(total=cfg.max_steps, initial=state.step, desc="train", unit="step",
                        disable=not (self.progress and self.main_rank), dynamic_ncols=True)
        stop_reason = "max_steps"
        self.train_model.train()
        try:
            while state.step < cfg.max_steps:
                self.step()
                self.bar.update(1)
                if state.step % cfg.log_every == 0 or state.step == cfg.max_steps:
                    self.log()
                self.snapshot()
                out_of_time = distributed.any_rank(cfg.max_minutes > 0 and state.elapsed_seconds > cfg.max_minutes * 60, self.dist)
                stop_here = state.step == cfg.stop_at_step
                if state.step % cfg.eval_every == 0 or state.step == cfg.max_steps or out_of_time or stop_here:
                    if self.evaluate_and_save():
                        stop_reason = "early_stopping"
                        break
                if out_of_time or stop_here:
                    stop_reason = "max_minutes" if out_of_time else "stop_at_step"
                    break
        finally:
            self.bar.close()
            if self.metrics_log:
                self.metrics_log.close()
            distributed.shutdown()
        return {"steps": state.step, "tokens": state.tokens, "seconds": round(state.elapsed_seconds, 1),
                "stopped_by": stop_reason, "best_step": state.best_step, "best_score": state.best_score,
                "last": self.last_metrics, "state": asdict(state)}

    def batch_for(self, step: int, micro: int) -> dict[str, torch.Tensor]:
        # Global example j of this micro-batch depends only on (seed, step, micro, j); rank r takes
        # its slice, so N ranks see exactly the examples one process would at the same global batch.
        cfg = self.cfg
        first = self.dist.rank * cfg.batch_size
        examples = [self.sampler.sample(np.random.default_rng([cfg.seed, step, micro, j])) for j in range(first, first + cfg.batch_size)]
        batch = collate(examples, cand_index=self.index, max_cands=cfg.max_cands)
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def step(self) -> dict[str, float]:
        """One optimizer step over ``grad_accum`` micro-batches; returns the step's mean losses."""
        cfg, state = self.cfg, self.state
        self.lr = lr_at(state.step, cfg)
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr
        step_losses: dict[str, float] = {}
        step_tokens = 0
        for micro in range(cfg.grad_accum):
            batch = self.batch_for(state.step, micro)
            sync = micro == cfg.grad_accum - 1 or not self.dist.enabled  # DDP all-reduces on the last micro-batch
            with nullcontext() if sync else self.train_model.no_sync(), self.autocast():
                losses = self.train_model(batch, self.run_config.loss)
                (losses["total"] / cfg.grad_accum).backward()
            for key, value in losses.items():
                step_losses[key] = step_losses.get(key, 0.0) + float(value.detach()) / cfg.grad_accum
            step_tokens += int((batch["enc_segments"] != ids.SEG_PAD).sum() + (batch["tgt_chars"] != ids.IGNORE).sum())
        bad = not all(math.isfinite(v) for v in step_losses.values())
        if distributed.any_rank(bad, self.dist):
            raise TrainingError(
                f"the loss became NaN/inf at step {state.step + 1} ({step_losses}); stopped without saving. The last "
                f"good checkpoint (if any) is {self.out_dir / 'last'}; lower train.lr or raise train.warmup_steps and resume")
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        state.step += 1
        state.tokens += step_tokens * self.dist.world_size
        state.elapsed_seconds = time.perf_counter() - self.started
        self.window.add(step_losses, step_tokens * self.dist.world_size)
        return step_losses

    def log(self) -> None:
        """The losses since the last row, averaged over ranks: on the progress bar and in metrics.csv."""
        logged = distributed.mean_over_ranks(self.window.means(), self.dist)
        rate = self.window.tokens_per_second()
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{logged['loss_total']:.3f}", tok_s=f"{rate:,.0f}", lr=f"{self.lr:.2e}")
        if self.metrics_log:
            state = self.state
            self.metrics_log.write({"step": state.step, "tokens": state.tokens, "elapsed_s": round(state.elapsed_seconds, 1),
                                    "lr": self.lr, "tokens_per_s": round(rate), **logged})
        self.window = _Window()

    def snapshot(self) -> None:
        """Keep a copy of the model at each of ``train.snapshot_minutes`` (rank 0; once each)."""
        state = self.state
        done = state.extra.get("snapshots", [])
        due = [m for m in self.cfg.snapshot_minutes if state.elapsed_seconds >= m * 60 and f"{m:g}" not in done]
        if due and self.main_rank:
            name = f"{due[-1]:g}"
            self.save(f"snapshots/{float(name):05.1f}min", {"step": state.step, "tokens": state.tokens,
                                                            "elapsed_s": round(state.elapsed_seconds, 1)}, with_state=False)
            state.extra.setdefault("snapshots", []).extend(f"{m:g}" for m in due)

    def save(self, name: str, metrics: dict, with_state: bool) -> None:
        to_save = self.export(self.model) if self.export else self.model
        save_checkpoint(self.out_dir, name, to_save, recipe=self.recipe, vocab=self.data.vocab, lexicon=self.data.lexicon,
                        metrics=metrics, state=self.state if with_state else None,
                        optimizer=self.optimizer if with_state else None)

    def evaluate(self) -> dict:
        metrics = self.evaluator(self.model, self.run_config.loss, self.device) if self.evaluator else {}
        return {"step": self.state.step, "tokens": self.state.tokens, **metrics}

    def evaluate_and_save(self) -> bool:
        """Dev metrics, best/last checkpoints (rank 0 does the work); returns whether to stop
        early, agreed by every rank."""
        return distributed.any_rank(self._evaluate_and_save() if self.main_rank else False, self.dist)

    def _evaluate_and_save(self) -> bool:
        state, cfg = self.state, self.cfg
        metrics = self.last_metrics = self.evaluate()
        score = metrics.get(SCORE_KEY)
        if score is not None and (state.best_score is None or score > state.best_score):
            state.best_score, state.best_step, state.evals_since_best = score, state.step, 0
            self.save("best", metrics, with_state=False)
        elif score is not None:
            state.evals_since_best += 1
        self.save("last", metrics, with_state=True)
        if self.metrics_log:
            self.metrics_log.write({"step": state.step, "tokens": state.tokens, "elapsed_s": round(state.elapsed_seconds, 1), **metrics})
            self.metrics_log.plot()
        if score is not None:
            tqdm.write(f"step {state.step}: dev char acc {score:.4f} (encoder head {metrics.get('dev_nar_char_acc', 0):.4f}), "
                       f"sentence {metrics.get('dev_sentence_acc', 0):.4f}, dev loss {metrics.get('dev_loss_total', float('nan')):.4f}")
        return cfg.patience > 0 and state.evals_since_best >= cfg.patience


def fit(run: RunConfig, data: RunData, out_dir: Path, *, model: PinhanModel | None = None, resume: bool = False,
        progress: bool = True, recipe_extra: dict | None = None,
        export: Callable[[torch.nn.Module], torch.nn.Module] | None = None) -> dict:
    """Train ``model`` (a new one of ``run.model`` when None) on ``data``; checkpoints in ``out_dir``.
    Returns :meth:`Trainer.run`'s summary."""
    return Trainer(run, data, out_dir, model=model, resume=resume, progress=progress, recipe_extra=recipe_extra,
                   export=export).run()


def _record_resume(state: TrainState, last: Path, cfg) -> None:
    """Note in the training state what a resume changed of the schedule (max_steps shapes the
    learning-rate decay), so that a checkpoint's history tells how it was trained."""
    before = ModelDir(last).recipe().get("train") or {}
    changed = {k: [before.get(k), getattr(cfg, k)] for k in ("max_steps", "max_minutes", "stop_at_step")
               if k in before and before[k] != getattr(cfg, k)}
    if changed:
        state.extra.setdefault("resumes", []).append({"step": state.step, "changed": changed})
