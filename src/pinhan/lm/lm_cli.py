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
    from pinhan.infer.api import InferenceConfig, load
    from pinhan.lm.build import choose_gen_weight, choose_weight, continuation_cases, dev_items, train_ids
    from pinhan.lm.ngram import LM_FILE, CharNgram

    model_dir, data_dir = Path(args.model), Path(args.data)
    if any(w < 0 for w in args.weights):
        raise ConfigError("fusion weights must be >= 0")
    min_count = args.min_count[0] if len(args.min_count) == 1 else args.min_count
    pinhan = load(model_dir, threads=args.threads, config=InferenceConfig(lm_weight=0, fast_lm_weight=0, gen_lm_weight=0))
    started = time.perf_counter()
    lm = CharNgram.build(train_ids(data_dir, pinhan.vocab), len(pinhan.vocab.chars), args.order, min_count)
    print(f"{args.order}-gram from {data_dir}/train: {lm.info['characters']:,} characters, n-grams kept / counted "
          + ", ".join(f"{k:,} / {c:,}" for k, c in zip(lm.info["ngrams_kept"], lm.info["ngrams_counted"]))
          + f", {lm.nbytes() / 1e6:.1f} MB, {time.perf_counter() - started:.0f} s")
    chosen, tables = {}, {}
    items = dev_items(data_dir, args.dev_items) if len(args.weights) > 1 else []
    converter = pinhan.converter
    converter.lm = lm
    for mode, attr in (("accurate", "lm_weight"), ("fast", "fast_lm_weight")):
        if not items:
            chosen[mode], tables[mode] = args.weights[0], []
            continue

        def top1(inputs, w, mode=mode, attr=attr):
            setattr(converter, attr, w)
            return converter.top1_batch(inputs, abbreviations=False, mode=mode)

        chosen[mode], tables[mode] = choose_weight(top1, items, args.weights)
        print(f"\n{mode} mode ({len(items)} clauses of {data_dir}/dev.jsonl)\n\n"
              "| fusion weight | dev char % | dev sentence % |\n|---:|---:|---:|")
        for row in tables[mode]:
            print(f"| {row['weight']:g} | {100 * row['char']:.1f} | {100 * row['sentence']:.1f} |")
    if items:  # continuation: the first greedy character after mid-clause prefixes
        generator = pinhan.generator
        generator.lm = lm

        def first(prefixes, w):
            generator.lm_weight = w
            return [c[0].text if c else "" for c in generator.generate_batch(prefixes, max_new_tokens=1)]

        chosen["gen"], tables["gen"] = choose_gen_weight(first, continuation_cases(items), args.weights)
        print("\ncontinuation (greedy next character after mid-clause prefixes)\n\n| fusion weight | dev next char % |\n|---:|---:|")
        for row in tables["gen"]:
            print(f"| {row['weight']:g} | {100 * row['next_char']:.1f} |")
    else:
        chosen["gen"] = args.weights[0]
    lm.info.update({"fusion_weight": chosen["accurate"], "fast_fusion_weight": chosen["fast"],
                    "gen_fusion_weight": chosen["gen"], "data": str(data_dir), "dev_tables": tables})
    lm.save(model_dir / LM_FILE)
    print(f"\nwrote {model_dir / LM_FILE} (fusion weights: accurate {chosen['accurate']:g}, fast {chosen['fast']:g}, "
          f"continuation {chosen['gen']:g})")
    return 0
