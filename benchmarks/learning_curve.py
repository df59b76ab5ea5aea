"""p2h accuracy of a training run's snapshots on benchmark sets (issue: learning curve).

Run: ``.venv/bin/python benchmarks/learning_curve.py runs/small-curve [--sets pd1998-test hsk-test]``

Input is what the benchmarks prescribe: toneless pinyin typed without separators, with the item's
context; the model converts the parser's top readings (constrained beam search) and keeps its best. Prints a Markdown table
(minutes, steps, tokens, char / sentence accuracy per set).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pinhan
from pinhan.data.model_dir import ModelDir
from pinhan.eval.metrics import char_accuracy, sentence_accuracy

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"


def load_items(name: str, limit: int | None) -> list[dict]:
    items = [json.loads(line) for line in (BENCH / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
    return items[:limit] if limit else items


def evaluate(model_dir: Path, items: list[dict], beam_size: int, threads: int) -> dict:
    model = pinhan.load(model_dir, threads=threads, config=pinhan.InferenceConfig(beam_size=beam_size))
    inputs = [("".join(s.rstrip("12345") for s in it["pinyin"]), it.get("context", "")) for it in items]
    started = time.perf_counter()
    preds = [c[0].text if c else "" for c in model.convert_batch(inputs, k=1, abbreviations=False, prefixes=False)]
    golds = [it["hanzi"] for it in items]
    return {"char_acc": char_accuracy(preds, golds), "sentence_acc": sentence_accuracy(preds, golds),
            "seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run", type=Path)
    parser.add_argument("--sets", nargs="+", default=["pd1998-test", "hsk-test"])
    parser.add_argument("--limit", type=int, help="first N items of each set (default: all)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--beam", type=int, default=4, help="beam size (1 = greedy)")
    parser.add_argument("--only", nargs="*", help="snapshot names to evaluate (default: all)")
    args = parser.parse_args()
    sets = {name: load_items(name, args.limit) for name in args.sets}
    snapshots = sorted(p for p in (args.run / "snapshots").iterdir() if p.is_dir() and (not args.only or p.name in args.only))
    header = "| minutes | steps | tokens | " + " | ".join(f"{s} char / sent %" for s in sets) + " |"
    print(header)
    print("|" + "---:|" * (3 + len(sets)))
    for snap in snapshots:
        info = json.loads(ModelDir(snap).metrics_file.read_text(encoding="utf-8"))
        cells = []
        for name, items in sets.items():
            m = evaluate(snap, items, args.beam, args.threads)
            cells.append(f"{100 * m['char_acc']:.1f} / {100 * m['sentence_acc']:.1f}")
        print(f"| {info['elapsed_s'] / 60:.0f} | {info['step']:,} | {info['tokens']:,} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
