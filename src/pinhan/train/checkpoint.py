"""Checkpoint directories: a self-describing model directory plus, for ``last``, the training state.

::

    out/last/   config.json (architecture + recipe), model.safetensors, vocab.json, lexicon.json,
                metrics.json, train_state.safetensors (optimizer moments, RNG), train_state.json
    out/best/   the same without the training state: the model to ship

A checkpoint is written into ``out/.NAME.tmp`` and swapped in with two renames (old -> .NAME.old,
tmp -> NAME). A kill between them leaves ``.NAME.old`` and no ``NAME``; :func:`recover` puts the
old one back, so ``--resume`` always finds a complete checkpoint (:func:`resumable`).

The model's files are :class:`~pinhan.data.model_dir.ModelDir`'s; the training-state files
(``STATE_TENSORS``, ``STATE_JSON``) are training's and named here.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from pinhan.data.model_dir import ModelDir
from pinhan.data.vocab import Lexicon, Vocab
from pinhan.model.io import CheckpointError, save_model

STATE_TENSORS = "train_state.safetensors"
STATE_JSON = "train_state.json"


@dataclass
class TrainState:
    """Where a run stands; with the optimizer and RNG tensors it is all ``--resume`` needs.

    The example stream is a function of (seed, step), so ``step`` is also the data position.
    """

    step: int = 0
    tokens: int = 0
    elapsed_seconds: float = 0.0
    best_score: float | None = None
    best_step: int | None = None
    evals_since_best: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def save_checkpoint(
    out_dir: Path,
    name: str,
    model: torch.nn.Module,
    *,
    recipe: dict,
    vocab: Vocab,
    lexicon: Lexicon,
    metrics: dict,
    state: TrainState | None = None,
    optimizer: torch.optim.Optimizer | None = None,
) -> Path:
    """Write checkpoint ``out_dir/name`` atomically (see the module docstring)."""
    final = out_dir / name
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.tmp"
    old = final.parent / f".{final.name}.old"
    if tmp.exists():
        shutil.rmtree(tmp)
    save_model(model, tmp, extra={"recipe": recipe})
    ModelDir(tmp).write_tables(vocab, lexicon, metrics)
    if state is not None:
        tensors, meta = _optimizer_tensors(optimizer) if optimizer is not None else ({}, {})
        tensors["rng.torch"] = torch.get_rng_state()
        if torch.cuda.is_available():
            tensors["rng.cuda"] = torch.cuda.get_rng_state()
        save_file(tensors, str(tmp / STATE_TENSORS))
        (tmp / STATE_JSON).write_text(json.dumps({"state": asdict(state), "optimizer": meta}, indent=1), encoding="utf-8")
    if final.exists():
        if old.exists():
            shutil.rmtree(old)
        os.replace(final, old)
    os.replace(tmp, final)
    if old.exists():
        shutil.rmtree(old)
    return final


def recover(out_dir: Path, name: str) -> None:
    """Finish a swap that a kill interrupted, and drop a half-written temporary checkpoint."""
    final, tmp, old = out_dir / name, out_dir / f".{name}.tmp", out_dir / f".{name}.old"
    if not final.exists() and old.exists():
        os.replace(old, final)
    if tmp.exists():
        shutil.rmtree(tmp)


def resumable(out_dir: Path) -> Path:
    """The ``last`` checkpoint of run directory ``out_dir``, an interrupted swap finished first;
    a CheckpointError when there is none to resume."""
    recover(out_dir, "last")
    last = out_dir / "last"
    if not last.is_dir():
        raise CheckpointError(f"--resume: no checkpoint at {last}")
    return last


def load_training(directory: Path, optimizer: torch.optim.Optimizer | None) -> TrainState:
    """Restore optimizer moments and RNG from ``directory``; returns the TrainState."""
    try:
        meta = json.loads((directory / STATE_JSON).read_text(encoding="utf-8"))
        tensors = load_file(str(directory / STATE_TENSORS))
        state = TrainState(**meta["state"])
    except FileNotFoundError as exc:
        raise CheckpointError(f"{directory} has no training state ({exc.filename}); it cannot be resumed") from None
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise CheckpointError(f"training state in {directory} is unreadable: {exc}") from None
    if optimizer is not None:
        _restore_optimizer(optimizer, tensors, meta.get("optimizer", {}))
    torch.set_rng_state(tensors["rng.torch"])
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])
    return state


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Optimizer state as flat safetensors entries plus JSON for the rest (no pickle)."""
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, entry in sd["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"opt.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _restore_optimizer(optimizer: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("opt."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = value
    for name, value in meta.get("scalars", {}).items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    try:
        optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"optimizer state does not fit this model: {exc}") from None
