"""Fine-tune a model on a domain corpus: pinhan finetune --from MODEL --data DIR [--out DIR]
[--mode full|freeze-embeddings|freeze-encoder|lora] [key=value ...]

DIR is prepared with `pinhan prepare` from the domain text. Characters new in the domain get new
rows in the vocabulary. Prints the domain dev accuracy before and after.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

EXTRA_ARGS = "overrides"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="overrides, e.g. train.max_steps=500 finetune.lora_rank=4")
    parser.add_argument("--from", dest="model", required=True, help="model directory to start from (a checkpoint's best/ or last/)")
    parser.add_argument("--data", required=True, help="prepared domain data directory")
    parser.add_argument("--out", help="run directory (default: runs/<model>-ft-<data>)")
    parser.add_argument("--mode", help="full (default), freeze-embeddings, freeze-encoder or lora")
    parser.add_argument("--max-steps", type=int)
    parser.add_argument("--resume", action="store_true", help="continue the fine-tune in --out (not for lora)")
    parser.add_argument("--quiet", action="store_true")


def run(args: argparse.Namespace) -> int:
    import sys

    from pinhan.train import distributed
    from pinhan.train.finetune import finetune, finetune_out_default

    model_dir, data_dir = Path(args.model), Path(args.data)
    overrides = list(args.overrides)
    if args.mode:
        overrides.append(f"finetune.mode={args.mode}")
    if args.max_steps is not None:
        overrides.append(f"train.max_steps={args.max_steps}")
    out = Path(args.out) if args.out else finetune_out_default(model_dir, data_dir)
    report = finetune(model_dir, data_dir, out, overrides, resume=args.resume, progress=not args.quiet and sys.stderr.isatty())
    if distributed.is_main():
        print(json.dumps(report, indent=1))
        print(f"checkpoints: {out / 'best'}, {out / 'last'}")
    return 0
