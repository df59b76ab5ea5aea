"""Build the character n-gram a model fuses into decoding: pinhan lm --model DIR --data DIR
[--order 4] [--min-count 2] [--weights 0 0.5 1 1.5] [--dev-items 300]

Counts the data directory's train split (the model's own data), prunes rare n-grams, chooses the
fusion weights (accurate mode's beam search, fast mode's search over the encoder head,
continuation) on the data directory's dev clauses and writes ``DIR/lm.safetensors``, which
``pinhan.load`` and every command then use (``InferenceConfig``'s ``lm_weight``,
``fast_lm_weight`` and ``gen_lm_weight`` = 0 turn it off).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model directory to give the n-gram to")
    parser.add_argument("--data", required=True, help="prepared data directory whose train split is counted")
    parser.add_argument("--order", type=int, default=4, help="n-gram order, 1 to 4 (default 4)")
    parser.add_argument("--min-count", type=int, nargs="+", default=[2],
                        help="prune n-grams seen fewer times: one value, or one per order from 2 up (default 2)")
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.5, 1.0, 1.5],
                        help="fusion weights to try on dev; one value skips the search")
    parser.add_argument("--dev-items", type=int, default=300, help="dev clauses to choose the weight on")
    parser.add_argument("--threads", type=int, help="torch threads for the dev conversions")


def run(args: argparse.Namespace) -> int:
    from pinhan.errors import ConfigError
    from pinhan.eval.tuning import format_table, tune_fusion
    from pinhan.loader import load
    from pinhan.infer.config import InferenceConfig
    from pinhan.lm.build import build_ngram, dev_items, save_ngram

    model_dir, data_dir = Path(args.model), Path(args.data)
    if any(w < 0 for w in args.weights):
        raise ConfigError("fusion weights must be >= 0")
    min_count = args.min_count[0] if len(args.min_count) == 1 else args.min_count
    model = load(model_dir, threads=args.threads, config=InferenceConfig(lm_weight=0, fast_lm_weight=0, gen_lm_weight=0))
    started = time.perf_counter()
    lm = build_ngram(data_dir, model.vocab, args.order, min_count)
    print(f"{args.order}-gram from {data_dir}/train: {lm.info['characters']:,} characters, n-grams kept / counted "
          + ", ".join(f"{k:,} / {c:,}" for k, c in zip(lm.info["ngrams_kept"], lm.info["ngrams_counted"]))
          + f", {lm.nbytes() / 1e6:.1f} MB, {time.perf_counter() - started:.0f} s")
    chosen = {mode: args.weights[0] for mode in ("accurate", "fast", "gen")}  # one weight: no search
    tables: dict[str, list[dict]] = {"accurate": [], "fast": []}
    if len(args.weights) > 1:
        items = dev_items(data_dir, args.dev_items)
        for mode, weight, table in tune_fusion(model, lm, items, args.weights):
            chosen[mode], tables[mode] = weight, table
            print("\n" + format_table(mode, table, f"{len(items)} clauses of {data_dir}/dev.jsonl"))
    path = save_ngram(lm, model_dir, chosen, data_dir, tables)
    print(f"\nwrote {path} (fusion weights: accurate {chosen['accurate']:g}, fast {chosen['fast']:g}, "
          f"continuation {chosen['gen']:g})")
    return 0
