"""Evaluate a model: pinhan eval --model DIR --set FILE [--set FILE ...] [--task p2h|h2p|cpp|gen]
[--mode accurate|fast] [--abbreviate] [--segmented] [--no-context] [--context-chars N]
[--limit N] [--json OUT] [--report DIR] [key=value ...]

key=value pairs are decoding settings (InferenceConfig fields: word_model_weight=0.35,
context_history=0, words=false, ...), so that a setting can be tried on a dev set before it is
chosen; --json records them with the figures. Without --task, clause sets run p2h and polyphone
sets (cpp-test.jsonl) run cpp. Items run one at a time, so the latency shown is per request.
--json writes one object per set and task; --report writes report.md with plots (accuracy by
length, confusions) and the worst errors.
"""

from __future__ import annotations

import argparse
from pathlib import Path

EXTRA_ARGS = "overrides"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="decoding settings (InferenceConfig), e.g. word_model_weight=0.35 context_history=0")
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
    parser.add_argument("--context-chars", type=int, metavar="N",
                        help="give only the last N characters of each item's context (a dev file's whole lines cut as the test sets' are)")
    parser.add_argument("--limit", type=int, help="first N items of each set")
    parser.add_argument("--json", type=Path, help="write the figures here (a JSON list, one object per set)")
    parser.add_argument("--report", type=Path, help="write report.md and plots into this directory")


def run(args: argparse.Namespace) -> int:
    from pinhan.config import parse_overrides, resolve_config
    from pinhan.eval.report import summary_line, write_figures, write_report
    from pinhan.eval.run import EvalOptions, evaluate_sets
    from pinhan.eval.sets import read_sets
    from pinhan.infer.config import InferenceConfig
    from pinhan.loader import load

    # settings and every set are checked before the model loads
    config = resolve_config(InferenceConfig, None, args.overrides, where="eval")
    EvalOptions(context_chars=args.context_chars)  # made only to refuse a negative count before loading
    sets = read_sets(args.sets, args.limit)
    model = load(args.model, backend=args.backend, threads=args.threads, quantize=args.int8, config=config)
    results = []
    for result in evaluate_sets(model, sets, task=args.task, mode=args.mode, abbreviate=args.abbreviate,
                                segmented=args.segmented, use_context=not args.no_context,
                                context_chars=args.context_chars):
        results.append(result)
        print(summary_line(result), flush=True)
    if args.json:
        write_figures(results, args.json, settings=parse_overrides(args.overrides))
    if args.report:
        print(f"report: {write_report(results, args.report, f'pinhan eval: {model.path}')}")
    return 0
