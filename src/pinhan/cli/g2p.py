"""Hanzi to pinyin, polyphones resolved: pinhan g2p [TEXT ...] [--model DIR] [--tones number|mark|none]
[--json]

Without TEXT, reads one input per stdin line. ``--json`` prints, per input,
{"text": ..., "pinyin": [one syllable per hanzi], "aligned": [one entry per character],
"polyphonic": [indices of polyphonic hanzi], "readings": [one reading per hanzi, lexical tone]}
(``pinyin`` writes neutral tones and erhua as a dictionary does: 知识 ``zhi1 shi5``; ``readings``
keeps each polyphone's reading: ``zhi1 shi2``).
"""

from __future__ import annotations

import argparse

from pinhan.cli.common import add_model_arguments, inputs, load_model, run_each


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="*", metavar="TEXT", help="hanzi text (default: stdin lines)")
    add_model_arguments(parser)
    parser.add_argument("--tones", choices=("number", "mark", "none"), default="number", help="tone style (default: number)")


def run(args: argparse.Namespace) -> int:
    model = load_model(args)

    def handle(text: str):
        result = model.g2p(text, tones=args.tones)
        return result.to_dict(), " ".join(result.syllables())

    return run_each(inputs(args), handle, args.json)
