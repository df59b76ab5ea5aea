"""Convert pinyin to hanzi: pinhan convert [PINYIN ...] [--model DIR] [-k 5] [--mode accurate|fast]
[--context TEXT] [--fuzzy RULE ...] [--script simplified|traditional|any] [--json]

Without PINYIN, reads one input per stdin line. ``--json`` prints, per input,
{"input": ..., "candidates": [{"text", "score", "pinyin", "consumed", "kind"}, ...]}.
"""

from __future__ import annotations

import argparse

from pinhan.cli.common import add_model_arguments, inputs, load_model, run_each


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="*", metavar="PINYIN", help="pinyin as typed (default: stdin lines)")
    add_model_arguments(parser)
    parser.add_argument("-k", type=int, default=5, help="candidates per input (default: 5)")
    parser.add_argument("--mode", choices=("accurate", "fast"), default="accurate", help="the decoder's beam search, or the encoder head (searched with the n-gram when the model has one)")
    parser.add_argument("--context", default="", help="committed text before the input")
    parser.add_argument("--fuzzy", nargs="*", default=(), metavar="RULE", help="fuzzy rules, e.g. z-zh an-ang, or all")
    parser.add_argument("--script", choices=("simplified", "traditional", "any"), default=None,
                        help="candidates' script (default: simplified)")


def run(args: argparse.Namespace) -> int:
    model = load_model(args)

    def handle(pinyin: str):
        candidates = model.convert(pinyin, context=args.context, k=args.k, mode=args.mode, fuzzy=args.fuzzy,
                                   script=args.script)
        data = {"input": pinyin, "candidates": [c.to_dict() for c in candidates]}
        lines = [pinyin] + [f"  {i}. {c.text}  {' '.join(c.pinyin)}  ({c.score:.2f}{', prefix' if c.kind == 'prefix' else ''})"
                            for i, c in enumerate(candidates, 1)]
        return data, "\n".join(lines)

    return run_each(inputs(args), handle, args.json)
