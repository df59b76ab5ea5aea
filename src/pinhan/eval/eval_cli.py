"""Evaluate a model: pinhan eval --model DIR --set FILE [--set FILE ...] [--task p2h|h2p|cpp|gen]
[--mode accurate|fast] [--abbreviate] [--segmented] [--no-context] [--limit N] [--json OUT]
[--report DIR]

Without --task, clause sets run p2h and polyphone sets (cpp-test.jsonl) run cpp. Items run one
at a time, so the latency shown is per request. --json writes one object per set and task;
--report writes report.md with plots (accuracy by length, confusions) and the worst errors.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model directory (default: the default model)")
    parser.add_argument("--backend", choices=("torch", "onnx"), default="torch")
    parser.add_argument("--int8", action="store_true", help="onnx backend: the int8 export")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads (default: 1, as latency targets assume)")
    parser.add_argument("--set", dest="sets", action="append", required=True, metavar="FILE", help="a benchmark set (.jsonl); repeatable")
    parser.add_argument("--task", choices=("p2h", "h2p", "cpp", "gen"), help="default: p2h for clause sets, cpp for polyphone sets")
    parser.add_argument("--mode", choices=("accurate", "fast"), default="accurate", help="p2h decoding (default: accurate)")
    parser.add_argument("--abbreviate", action="store_true", help="p2h input as initials (zgwh)")
    parser.add_argument("--segmented", action="store_true", help="p2h syllables joined by apostrophes")
    parser.add_argument("--no-context", action="store_true", help="do not give the model the item's context")
    parser.add_argument("--limit", type=int, help="first N items of each set")
    parser.add_argument("--json", type=Path, help="write the figures here (a JSON list, one object per set)")
    parser.add_argument("--report", type=Path, help="write report.md and plots into this directory")


def run(args: argparse.Namespace) -> int:
    from pinhan.errors import ConfigError
    from pinhan.eval.run import EvalOptions, evaluate
    from pinhan.eval.sets import default_task, read_set
    from pinhan.infer.api import load

    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit must be at least 1")
    sets = [read_set(path, args.limit) for path in args.sets]  # every set is checked before the model loads
    model = load(args.model, backend=args.backend, threads=args.threads, quantize=args.int8)
    results = []
    for bench in sets:
        options = EvalOptions(task=args.task or default_task(bench), mode=args.mode, abbreviate=args.abbreviate,
                              segmented=args.segmented, use_context=not args.no_context)
        result = evaluate(model, bench, options)
        results.append(result)
        print(_line(result), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.json.with_suffix(args.json.suffix + ".tmp")
        tmp.write_text(json.dumps([r.summary() for r in results], ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        tmp.replace(args.json)
    if args.report:
        from pinhan.eval.report import write_report

        path = write_report(results, args.report, f"pinhan eval: {model.path}")
        print(f"report: {path}")
    return 0


def _line(result) -> str:
    f = result.figures
    parts = [f"{result.set} [{result.task}] n={result.n}"]
    for key in ("char_acc", "sentence_acc", "top5_acc", "syllable_acc", "syllable_acc_toneless", "clause_exact",
                "polyphone_acc", "next_char_top1", "next_char_top5"):
        if key in f:
            parts.append(f"{key} {100 * f[key]:.2f}%")
    for key in ("bleu", "perplexity"):
        if key in f:
            parts.append(f"{key} {f[key]:.2f}")
    if "latency_ms" in f:
        parts.append(f"latency p50 {f['latency_ms']['p50']:.1f} ms p95 {f['latency_ms']['p95']:.1f} ms")
    return "  ".join(parts)
