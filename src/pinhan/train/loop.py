"""The training loop shared by ``pinhan train`` and ``pinhan finetune``.

Single process: ``pinhan train --config configs/small.yaml``.
Many processes: ``torchrun --nproc_per_node 2 -m pinhan.cli train --config configs/small.yaml``
(each rank draws its own examples; gradients are averaged by DistributedDataParallel; rank 0
logs, evaluates and saves).

Examples are a pure function of (seed, step, micro-batch, example index), the dropout RNG and the
optimizer moments are saved with every ``last`` checkpoint, so ``--resume`` continues exactly
where the run stopped: same data order, same weights as an uninterrupted run.
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from pinhan.data.candidates import CandidateIndex
from pinhan.data.collate import collate
from pinhan.data.examples import ExampleSampler
from pinhan.errors import PinhanError
from pinhan import ids
from pinhan.model.transformer import PinhanModel
from pinhan.train import distributed
from pinhan.train.checkpoint import TrainState, load_training, recover, save_checkpoint, seed_everything
from pinhan.train.config import RunConfig
from pinhan.train.data import RunData
from pinhan.train.dev_eval import DevEvaluator
from pinhan.train.logging import MetricsLog
from pinhan.train.schedule import lr_at

SCORE_KEY = "dev_char_acc"


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


def fit(
    run: RunConfig,
    data: RunData,
    out_dir: Path,
    *,
    model: PinhanModel | None = None,
    resume: bool = False,
    progress: bool = True,
    recipe_extra: dict | None = None,
    export: Callable[[torch.nn.Module], torch.nn.Module] | None = None,
) -> dict:
    """Train ``model`` (a new one of ``run.model`` when None) on ``data``; checkpoints in ``out_dir``.

    ``export`` turns the training model into the model to save (fine-tuning merges LoRA there).
    Returns a summary: steps, tokens, seconds, last and best dev metrics, why it stopped.
    """
    cfg = run.train
    device = pick_device(cfg.device)
    dist_info = distributed.init(device.type)
    if device.type == "cuda" and dist_info.enabled:
        device = torch.device("cuda", dist_info.local_rank)
        torch.cuda.set_device(device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    main_rank = dist_info.rank == 0
    out_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed + dist_info.rank)

    vocab = data.vocab
    if model is None:
        model = PinhanModel(run.model_config({"n_chars": len(vocab.chars), "n_syllables": len(vocab.syllables),
                                               "n_initials": len(vocab.initials), "n_finals": len(vocab.finals)}))
    model.to(device)
    optimizer = torch.optim.AdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                                  fused=device.type == "cuda")
    state = TrainState()
    if resume:
        recover(out_dir, "last")
        last = out_dir / "last"
        if not last.is_dir():
            raise TrainingError(f"--resume: no checkpoint at {last}")
        from pinhan.model.io import load_model

        loaded = load_model(last)
        if loaded.config != model.config:
            raise TrainingError(f"--resume: {last} holds a different architecture than this run's config")
        model.load_state_dict(loaded.state_dict())
        state = load_training(last, optimizer)
        _record_resume(state, last, cfg)
        if dist_info.rank:  # every rank restored rank 0's RNG; keep the ranks' dropout streams apart
            torch.manual_seed(cfg.seed + dist_info.rank + state.step)
    recipe = {**run.to_dict(), **(recipe_extra or {})}

    sampler = ExampleSampler(data.train, vocab, run.examples, char_map=data.char_map)
    index = CandidateIndex(vocab, data.lexicon)
    evaluator = DevEvaluator(data, run.examples, batch_size=cfg.batch_size, n_batches=cfg.eval_batches,
                             n_clauses=cfg.eval_clauses, max_cands=cfg.max_cands, index=index) if main_rank else None
    log = MetricsLog(out_dir, resume_step=state.step if resume else None) if main_rank else None
    train_model = distributed.wrap(model, dist_info, device)
    if cfg.compile:
        train_model = torch.compile(train_model)
    use_bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported())
    autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if use_bf16 else nullcontext

    def batch_for(step: int, micro: int) -> dict[str, torch.Tensor]:
        # Global example j of this micro-batch depends only on (seed, step, micro, j); rank r takes
        # its slice, so N ranks see exactly the examples one process would at the same global batch.
        first = dist_info.rank * cfg.batch_size
        examples = [sampler.sample(np.random.default_rng([cfg.seed, step, micro, j])) for j in range(first, first + cfg.batch_size)]
        batch = collate(examples, cand_index=index, max_cands=cfg.max_cands)
        return {k: v.to(device, non_blocking=True) for k, v in batch.items()}

    def save(name: str, metrics: dict, with_state: bool) -> None:
        to_save = export(model) if export else model
        save_checkpoint(out_dir, name, to_save, recipe=recipe, vocab=vocab, lexicon=data.lexicon, metrics=metrics,
                        state=state if with_state else None, optimizer=optimizer if with_state else None)

    def evaluate() -> dict:
        metrics = evaluator(model, run.loss, device) if evaluator else {}
        return {"step": state.step, "tokens": state.tokens, **metrics}

    started = time.perf_counter() - state.elapsed_seconds
    bar = tqdm(total=cfg.max_steps, initial=state.step, desc="train", unit="step", disable=not (progress and main_rank),
               dynamic_ncols=True)
    window = {"loss_total": 0.0, "loss_main": 0.0, "loss_cross": 0.0, "loss_nar": 0.0, "n": 0, "tokens": 0, "t0": time.perf_counter()}
    stop_reason = "max_steps"
    last_metrics: dict = {}
    train_model.train()
    try:
        while state.step < cfg.max_steps:
            lr = lr_at(state.step, cfg)
            for group in optimizer.param_groups:
                group["lr"] = lr
            step_losses = {}
            step_tokens = 0
            for micro in range(cfg.grad_accum):
                batch = batch_for(state.step, micro)
                sync = nullcontext() if (micro == cfg.grad_accum - 1 or not dist_info.enabled) else train_model.no_sync()
                with sync, autocast():
                    losses = train_model(batch, run.loss)
                    (losses["total"] / cfg.grad_accum).backward()
                for key, value in losses.items():
                    step_losses[key] = step_losses.get(key, 0.0) + float(value.detach()) / cfg.grad_accum
                step_tokens += int((batch["enc_segments"] != ids.SEG_PAD).sum() + (batch["tgt_chars"] != ids.IGNORE).sum())
            bad = not all(math.isfinite(v) for v in step_losses.values())
            if distributed.any_rank(bad, dist_info):
                raise TrainingError(
                    f"the loss became NaN/inf at step {state.step + 1} ({step_losses}); stopped without saving. The last "
                    f"good checkpoint (if any) is {out_dir / 'last'}; lower train.lr or raise train.warmup_steps and resume")
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            state.step += 1
            state.tokens += step_tokens * dist_info.world_size
            state.elapsed_seconds = time.perf_counter() - started
            for key in ("total", "main", "cross", "nar"):
                window[f"loss_{key}"] += step_losses[key]
            window["n"] += 1
            window["tokens"] += step_tokens * dist_info.world_size
            bar.update(1)

            if state.step % cfg.log_every == 0 or state.step == cfg.max_steps:
                logged = distributed.mean_over_ranks({k: window[k] / window["n"] for k in window if k.startswith("loss_")}, dist_info)
                rate = window["tokens"] / max(time.perf_counter() - window["t0"], 1e-9)
                bar.set_postfix(loss=f"{logged['loss_total']:.3f}", tok_s=f"{rate:,.0f}", lr=f"{lr:.2e}")
                if log:
                    log.write({"step": state.step, "tokens": state.tokens, "elapsed_s": round(state.elapsed_seconds, 1),
                               "lr": lr, "tokens_per_s": round(rate), **logged})
                window = {k: 0.0 for k in window} | {"n": 0, "tokens": 0, "t0": time.perf_counter()}

            due = [m for m in cfg.snapshot_minutes if state.elapsed_seconds >= m * 60 and f"{m:g}" not in state.extra.get("snapshots", [])]
            if due and main_rank:
                name = f"{due[-1]:g}"
                save(f"snapshots/{float(name):05.1f}min", {"step": state.step, "tokens": state.tokens,
                                                           "elapsed_s": round(state.elapsed_seconds, 1)}, with_state=False)
                state.extra.setdefault("snapshots", []).extend(f"{m:g}" for m in due)
            out_of_time = cfg.max_minutes > 0 and state.elapsed_seconds > cfg.max_minutes * 60
            out_of_time = distributed.any_rank(out_of_time, dist_info)
            stop_here = state.step == cfg.stop_at_step
            if state.step % cfg.eval_every == 0 or state.step == cfg.max_steps or out_of_time or stop_here:
                stop = _evaluate_and_save(state, cfg, evaluate, save, log, main_rank)
                last_metrics = stop.pop("metrics", last_metrics)
                if distributed.any_rank(stop["early_stop"], dist_info):
                    stop_reason = "early_stopping"
                    break
            if out_of_time or stop_here:
                stop_reason = "max_minutes" if out_of_time else "stop_at_step"
                break
    finally:
        bar.close()
        if log:
            log.close()
        distributed.shutdown()
    return {"steps": state.step, "tokens": state.tokens, "seconds": round(state.elapsed_seconds, 1),
            "stopped_by": stop_reason, "best_step": state.best_step, "best_score": state.best_score, "last": last_metrics,
            "state": asdict(state)}


def _record_resume(state: TrainState, last: Path, cfg) -> None:
    """Note in the training state what a resume changed of the schedule (max_steps shapes the
    learning-rate decay), so that a checkpoint's history tells how it was trained."""
    from pinhan.model.io import read_config

    before = (read_config(last).get("recipe") or {}).get("train") or {}
    changed = {k: [before.get(k), getattr(cfg, k)] for k in ("max_steps", "max_minutes", "stop_at_step")
               if k in before and before[k] != getattr(cfg, k)}
    if changed:
        state.extra.setdefault("resumes", []).append({"step": state.step, "changed": changed})


def _evaluate_and_save(state: TrainState, cfg, evaluate, save, log, main_rank: bool) -> dict:
    """Dev metrics, best/last checkpoints and the early-stopping decision (rank 0 does the work)."""
    if not main_rank:
        return {"early_stop": False}
    metrics = evaluate()
    score = metrics.get(SCORE_KEY)
    if score is not None and (state.best_score is None or score > state.best_score):
        state.best_score, state.best_step, state.evals_since_best = score, state.step, 0
        save("best", metrics, with_state=False)
    elif score is not None:
        state.evals_since_best += 1
    save("last", metrics, with_state=True)
    if log:
        log.write({"step": state.step, "tokens": state.tokens, "elapsed_s": round(state.elapsed_seconds, 1), **metrics})
        log.plot()
    if score is not None:
        tqdm.write(f"step {state.step}: dev char acc {score:.4f} (encoder head {metrics.get('dev_nar_char_acc', 0):.4f}), "
                   f"sentence {metrics.get('dev_sentence_acc', 0):.4f}, dev loss {metrics.get('dev_loss_total', float('nan')):.4f}")
    early = cfg.patience > 0 and state.evals_since_best >= cfg.patience
    return {"early_stop": early, "metrics": metrics}
