"""Train a model from scratch: pinhan train --config configs/small.yaml [--data DIR] [--out DIR]
[--max-minutes M] [--resume] [key=value ...]

Overrides address the preset's sections: train.lr=3e-4 model.d_model=128 examples.max_context=32.
Under torchrun the same command trains data-parallel on every process.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

EXTRA_ARGS = "overrides"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. train.lr=3e-4")
    parser.add_argument("--config", help="a preset yaml (configs/tiny.yaml, small.yaml, base.yaml, release.yaml)")
    parser.add_argument("--data", default="data/bundled", help="prepared data directory (default: data/bundled)")
    parser.add_argument("--out", help="run directory for checkpoints and logs (default: runs/<preset name>)")
    parser.add_argument("--max-minutes", type=float, help="stop after this many minutes (same as train.max_minutes)")
    parser.add_argument("--max-steps", type=int, help="same as train.max_steps")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import sys

    from pinhan.errors import ConfigError
    from pinhan.train import distributed
    from pinhan.train.config import load_run_config, run_config_from_dict
    from pinhan.train.data import load_run_data
    from pinhan.train.loop import fit

    overrides = list(args.overrides)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"unexpected argument {item!r}: overrides look like train.lr=3e-4")
    if args.max_minutes is not None:
        overrides.append(f"train.max_minutes={args.max_minutes}")
    if args.max_steps is not None:
        overrides.append(f"train.max_steps={args.max_steps}")
    out = Path(args.out) if args.out else Path("runs") / (Path(args.config).stem if args.config else "default")
    if args.resume:
        # The recipe comes from the checkpoint; only the run length may change on the command line.
        from pinhan.config import merge, parse_overrides
        from pinhan.model.io import read_config
        from pinhan.train.checkpoint import recover

        recover(out, "last")  # a kill between the two renames of a save leaves .last.old
        recipe = read_config(out / "last").get("recipe", {}) if (out / "last").is_dir() else None
        if recipe is None:
            raise ConfigError(f"--resume: no checkpoint at {out / 'last'}")
        changes = parse_overrides(overrides)
        allowed = {"max_steps", "max_minutes", "stop_at_step", "threads"}  # threads: a machine setting, not the recipe
        train_changes = changes.get("train", {})
        bad = [section for section in changes if section != "train" or not isinstance(train_changes, dict)]
        bad += [f"train.{key}" for key in train_changes if key not in allowed] if isinstance(train_changes, dict) else []
        if bad or args.config:
            raise ConfigError(f"--resume keeps the run's recipe; only train.max_steps, train.max_minutes, train.stop_at_step and train.threads may change (got {', '.join(bad) or '--config'})")
        run_config = run_config_from_dict(merge({k: v for k, v in recipe.items() if k in ("model", "train", "examples", "loss")}, changes))
    else:
        if (out / "last").exists():
            raise ConfigError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
        run_config = load_run_config(args.config, overrides)
    data = load_run_data(Path(args.data))
    summary = fit(run_config, data, out, resume=args.resume, progress=not args.quiet and sys.stderr.isatty(),
                  recipe_extra={"data": str(args.data)})
    if distributed.is_main():
        print(json.dumps({k: v for k, v in summary.items() if k != "state"}, indent=1, ensure_ascii=False))
        print(f"checkpoints: {out / 'best'} (best dev accuracy), {out / 'last'} (resumable); curves: {out / 'curves.png'}")
    return 0
