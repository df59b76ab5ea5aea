"""Continue hanzi text: pinhan generate [PREFIX ...] [--model DIR] [--max-new-tokens 8]
[--temperature 0] [--top-p 1] [--num-beams 1] [--hint PINYIN] [--seed 0] [--json]

Without PREFIX, reads one input per stdin line. ``--json`` prints, per input,
{"prefix": ..., "continuations": [{"text", "score"}, ...]}.
"""

from __future__ import annotations

import argparse

from pinhan.cli.common import add_model_arguments, inputs, load_model, run_each


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="*", metavar="PREFIX", help="text to continue (default: stdin lines)")
    add_model_arguments(parser)
    parser.add_argument("--max-new-tokens", type=int, default=8, help="characters to add (default: 8)")
    parser.add_argument("--temperature", type=float, default=0.0, help="0: greedy (default); > 0: sampling")
    parser.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (default: 1)")
    parser.add_argument("--num-beams", type=int, default=1, help="> 1: beam search, that many continuations")
    parser.add_argument("--hint", help="pinyin the first new characters must read as")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")


def run(args: argparse.Namespace) -> int:
    model = load_model(args)

    def handle(prefix: str):
        results = model.generate(prefix, max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                                 top_p=args.top_p, num_beams=args.num_beams, pinyin_hint=args.hint, seed=args.seed)
        data = {"prefix": prefix, "continuations": [c.to_dict() for c in results]}
        return data, "\n".join([prefix] + [f"  {prefix}|{c.text}  ({c.score:.2f})" for c in results])

    return run_each(inputs(args), handle, args.json)
