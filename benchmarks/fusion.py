"""Shallow fusion of a character n-gram (built from the same train split) into p2h decoding.

Run: ``.venv/bin/python benchmarks/fusion.py MODEL_DIR --data data/bundled [--weights 0 0.2 0.4 0.6]``

The fusion weight is chosen on the data directory's dev clauses (never on a test set); the test
sets are then scored with weight 0 and with the chosen weight. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import pinhan
from pinhan.eval.metrics import char_accuracy, sentence_accuracy
from pinhan.infer.api import Pinhan
from pinhan.lm.build import train_ids
from pinhan.lm.ngram import CharNgram

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"


def score(model: Pinhan, items: list[dict]) -> tuple[float, float]:
    inputs = [("".join(s.rstrip("12345") for s in it["pinyin"]), it.get("context", "")) for it in items]
    preds = [c[0].text if c else "" for c in model.convert_batch(inputs, k=1, abbreviations=False, prefixes=False)]
    golds = [it["hanzi"] for it in items]
    return char_accuracy(preds, golds), sentence_accuracy(preds, golds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", type=Path)
    parser.add_argument("--data", type=Path, default=Path("data/bundled"))
    parser.add_argument("--order", type=int, default=4)
    parser.add_argument("--min-count", type=int, default=1, help="prune n-grams seen fewer times (1: exact model)")
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.2, 0.4, 0.6])
    parser.add_argument("--dev-items", type=int, default=400)
    parser.add_argument("--sets", nargs="+", default=["pd1998-test", "hsk-test"])
    parser.add_argument("--limit", type=int, help="first N items of each test set")
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    plain = pinhan.load(args.model, threads=args.threads,
                        config=pinhan.InferenceConfig(beam_size=args.beam, lm_weight=0, fast_lm_weight=0, gen_lm_weight=0))
    vocab = plain.vocab
    lm = CharNgram.build(train_ids(args.data, vocab), len(vocab.chars), order=args.order, min_count=args.min_count)
    fused = plain.with_ngram(lm)
    print(f"char {args.order}-gram from {args.data}/train: {lm.info['ngrams_kept'][-1]:,} {args.order}-grams kept, "
          f"{lm.nbytes() / 1e6:.1f} MB, {time.perf_counter() - started:.0f} s")
    dev = [json.loads(line) for line in (args.data / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    dev = [dev[i] for i in sorted(np.random.default_rng(0).permutation(len(dev))[: args.dev_items])]
    print("\n| fusion weight | dev char % | dev sentence % |\n|---:|---:|---:|")
    best = (-1.0, 0.0)
    for weight in args.weights:
        acc, sent = score(fused.with_config(lm_weight=weight), dev)
        print(f"| {weight:g} | {100 * acc:.1f} | {100 * sent:.1f} |", flush=True)
        best = max(best, (acc, weight))
    chosen = best[1]
    print(f"\nchosen on dev: weight {chosen:g}\n\n| set | no fusion char / sent % | fusion {chosen:g} char / sent % |\n|---|---:|---:|")
    for name in args.sets:
        items = [json.loads(line) for line in (BENCH / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
        items = items[: args.limit] if args.limit else items
        without = score(plain, items)
        with_lm = score(fused.with_config(lm_weight=chosen), items)
        print(f"| {name} | {100 * without[0]:.1f} / {100 * without[1]:.1f} | {100 * with_lm[0]:.1f} / {100 * with_lm[1]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
