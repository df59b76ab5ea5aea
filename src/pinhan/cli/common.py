"""What ``pinhan convert``, ``g2p`` and ``generate`` share: model options, inputs from the
arguments or stdin (one per line), and output per input, human-readable or one JSON object a line.

A bad input (invalid pinyin, too long) prints an error for that input and the others still run;
the exit status is then 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model directory (default: the default model)")
    parser.add_argument("--backend", choices=("torch", "onnx"), default="torch", help="inference backend (default: torch)")
    parser.add_argument("--int8", action="store_true", help="onnx backend: use the int8 export")
    parser.add_argument("--threads", type=int, help="intra-op threads (default: the library's)")
    parser.add_argument("--json", action="store_true", help="one JSON object per input, for machines")


def load_model(args: argparse.Namespace):
    from pinhan.loader import load

    return load(args.model, backend=args.backend, threads=args.threads, quantize=args.int8)


def inputs(args: argparse.Namespace, name: str = "inputs") -> Iterator[str]:
    """The positional inputs, or stdin lines (without their newline) when none are given."""
    given = getattr(args, name)
    if given:
        yield from given
        return
    for line in sys.stdin:
        yield line.rstrip("\r\n")


def run_each(items: Iterator[str], handle: Callable[[str], tuple[dict, str]], as_json: bool) -> int:
    """Call ``handle(item) -> (json object, human text)`` for each input and print the result;
    a PinhanError becomes that input's error line."""
    from pinhan.errors import PinhanError

    status = 0
    for item in items:
        try:
            data, text = handle(item)
        except PinhanError as exc:
            status = 1
            data, text = {"input": item, "error": str(exc)}, f"{item}\n  error: {exc}"
            if not as_json:
                print(text, file=sys.stderr)
                continue
        print(json.dumps(data, ensure_ascii=False) if as_json else text, flush=True)
    return status
