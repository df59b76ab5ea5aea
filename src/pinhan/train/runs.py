"""Run directories: which :class:`RunConfig` a new run and a resumed run get.

A new run takes a preset and overrides and must not land on an existing run; a resumed run takes
its recipe from its ``last`` checkpoint, and only the run's length (and the machine's thread
count) may change, so that ``--resume`` continues the same training (see ``train.loop``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pinhan.config import parse_overrides, resolve_config
from pinhan.data.model_dir import ModelDir
from pinhan.errors import ConfigError
from pinhan.train.checkpoint import resumable
from pinhan.train.config import RunConfig

# What --resume may change: the run's length; threads is a machine setting, not the recipe.
RESUMABLE_KEYS = ("max_steps", "max_minutes", "stop_at_step", "threads")
RECIPE_SECTIONS = ("model", "train", "examples", "loss")


def default_out(preset: str | None) -> Path:
    """``runs/<preset name>`` (``runs/default`` without a preset)."""
    return Path("runs") / (Path(preset).stem if preset else "default")


def check_fresh(out_dir: Path) -> None:
    """Refuse to start a run over an existing one."""
    if (out_dir / "last").exists():
        raise ConfigError(f"{out_dir} already holds a run; pass --resume to continue it or choose another --out")


def new_run(preset: str | None, out_dir: Path, overrides: Sequence[str] = ()) -> RunConfig:
    """The config of a new run in ``out_dir``: the preset yaml (or the defaults) plus overrides."""
    _check_overrides(overrides)
    check_fresh(out_dir)
    return resolve_config(RunConfig, preset, list(overrides))


def resume(out_dir: Path, overrides: Sequence[str] = (), *, preset: str | None = None) -> RunConfig:
    """The config that continues the run in ``out_dir``: its checkpoint's recipe, with only
    ``train.{max_steps,max_minutes,stop_at_step,threads}`` overridable (``preset`` must be None)."""
    _check_overrides(overrides)
    recipe = ModelDir(resumable(out_dir)).recipe()
    changes = parse_overrides(list(overrides))
    train_changes = changes.get("train", {})
    bad = [section for section in changes if section != "train" or not isinstance(train_changes, dict)]
    bad += [f"train.{key}" for key in train_changes if key not in RESUMABLE_KEYS] if isinstance(train_changes, dict) else []
    if bad or preset:
        raise ConfigError("--resume keeps the run's recipe; only train.max_steps, train.max_minutes, train.stop_at_step "
                          f"and train.threads may change (got {', '.join(bad) or '--config'})")
    base = {k: v for k, v in recipe.items() if k in RECIPE_SECTIONS}
    return resolve_config(RunConfig, None, list(overrides), base=base)


def _check_overrides(overrides: Sequence[str]) -> None:
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"unexpected argument {item!r}: overrides look like train.lr=3e-4")
