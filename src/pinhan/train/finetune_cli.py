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
# Fine-tuning defaults: a gentler, shorter schedule than training from scratch.
DEFAULTS = ["train.lr=3e-4", "train.warmup_steps=50", "train.max_steps=1000", "train.eval_every=200"]


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

    from pinhan.config import from_mapping, merge, parse_overrides
    from pinhan.errors import ConfigError
    from pinhan.train import distributed
    from pinhan.train.checkpoint import load_checkpoint_model
    from pinhan.train.config import run_config_from_dict
    from pinhan.train.data import load_run_data
    from pinhan.train.dev_eval import DevEvaluator
    from pinhan.train.finetune import FinetuneConfig, finetune_out_default, prepare_model, trainable_fraction
    from pinhan.train.loop import fit
    from pinhan.data.candidates import CandidateIndex

    model_dir, data_dir = Path(args.model), Path(args.data)
    model, base_vocab, base_lexicon, recipe = load_checkpoint_model(model_dir)
    overrides = DEFAULTS + list(args.overrides)
    if args.mode:
        overrides.append(f"finetune.mode={args.mode}")
    if args.max_steps is not None:
        overrides.append(f"train.max_steps={args.max_steps}")
    changes = parse_overrides(overrides)
    ft = from_mapping(FinetuneConfig, changes.pop("finetune", {}), where="finetune")
    if "model" in changes:
        raise ConfigError("finetune keeps the pretrained architecture; model.* cannot be overridden")
    base = {k: v for k, v in recipe.items() if k in ("train", "examples", "loss")}
    run_config = run_config_from_dict(merge(base, changes))
    out = Path(args.out) if args.out else finetune_out_default(model_dir, data_dir)
    if args.resume and ft.mode == "lora":
        raise ConfigError("--resume is not supported for LoRA fine-tunes (checkpoints hold merged weights)")
    if (out / "last").exists() and not args.resume:
        raise ConfigError(f"{out} already holds a run; pass --resume to continue it or choose another --out")

    data = load_run_data(data_dir, base_vocab=base_vocab, base_lexicon=base_lexicon)
    model, export = prepare_model(model, data, ft)
    cfg = run_config.train
    before = {}
    if distributed.is_main() and not args.resume:
        evaluator = DevEvaluator(data, run_config.examples, batch_size=cfg.batch_size, n_batches=cfg.eval_batches,
                                 n_clauses=cfg.eval_clauses, max_cands=cfg.max_cands, index=CandidateIndex(data.vocab, data.lexicon))
        import torch

        before = evaluator(model, run_config.loss, torch.device("cpu"))
    summary = fit(run_config, data, out, model=model, resume=args.resume, progress=not args.quiet and sys.stderr.isatty(),
                  export=export, recipe_extra={"data": str(data_dir), "finetune": {"from": str(model_dir), **vars(ft)}})
    if distributed.is_main():
        after = summary["last"]
        report = {"mode": ft.mode, "trainable_fraction": round(trainable_fraction(model), 4),
                  "new_characters": len(data.vocab.chars) - len(base_vocab.chars),
                  "dev_char_acc_before": before.get("dev_char_acc"), "dev_char_acc_after": after.get("dev_char_acc"),
                  "steps": summary["steps"], "seconds": summary["seconds"]}
        print(json.dumps(report, indent=1))
        print(f"checkpoints: {out / 'best'}, {out / 'last'}")
    return 0
