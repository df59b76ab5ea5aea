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

    from pinhan.train import distributed
    from pinhan.train.data import load_run_data
    from pinhan.train.loop import fit
    from pinhan.train.runs import default_out, new_run, resume

    overrides = list(args.overrides)
    if args.max_minutes is not None:
        overrides.append(f"train.max_minutes={args.max_minutes}")
    if args.max_steps is not None:
        overrides.append(f"train.max_steps={args.max_steps}")
    out = Path(args.out) if args.out else default_out(args.config)
    run_config = resume(out, overrides, preset=args.config) if args.resume else new_run(args.config, out, overrides)
    summary = fit(run_config, load_run_data(Path(args.data)), out, resume=args.resume,
                  progress=not args.quiet and sys.stderr.isatty(), recipe_extra={"data": str(args.data)})
    if distributed.is_main():
        print(json.dumps({k: v for k, v in summary.items() if k != "state"}, indent=1, ensure_ascii=False))
        print(f"checkpoints: {out / 'best'} (best dev accuracy), {out / 'last'} (resumable); curves: {out / 'curves.png'}")
    return 0
