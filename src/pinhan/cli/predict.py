"""The likeliest next words after committed text (联想): pinhan predict [CONTEXT ...] [--k 10]
[--model DIR] [--json]

Without CONTEXT, reads one context per stdin line (an empty line: the start of a sentence).
``--json`` prints, per context, {"context": ..., "candidates": [{"text", "score"}, ...]}.
"""

from __future__ import annotations

import argparse

from pinhan.cli.common import add_model_arguments, inputs, load_model, run_each


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="*", metavar="CONTEXT", help="committed text (default: stdin lines)")
    parser.add_argument("--k", type=int, help="next words to offer (default: the model's predict_k, 10)")
    add_model_arguments(parser)


def run(args: argparse.Namespace) -> int:
    model = load_model(args)

    def handle(context: str):
        predictions = model.predict(context, k=args.k)
        data = {"context": context, "candidates": [p.to_dict() for p in predictions]}
        return data, "\n".join([context] + [f"  {i + 1}. {context}|{p.text}  ({p.score:.2f})" for i, p in enumerate(predictions)])

    return run_each(inputs(args), handle, args.json)
