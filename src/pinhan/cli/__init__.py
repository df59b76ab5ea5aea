"""pinhan.cli: the ``pinhan`` command, a table of subcommands, one module per verb.

Each ``pinhan.cli.<verb>`` offers ``add_arguments(parser)`` and ``run(args) -> int``: it parses,
calls the library and prints; cli is the top layer and may import anything below it. Modules load
lazily so that ``pinhan prepare`` does not pay for importing torch. Errors a user can cause are
:class:`~pinhan.errors.PinhanError` (or ``PinyinError``) and print as one line, exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# name -> (module with add_arguments/run, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "fetch": ("pinhan.cli.fetch", "download the pinned general-domain sources (checked by sha256) into a cache"),
    "prepare": ("pinhan.cli.prepare", "clean, annotate, split and encode a corpus into a data directory"),
    "train": ("pinhan.cli.train", "train a model from scratch on a prepared data directory"),
    "finetune": ("pinhan.cli.finetune", "fine-tune a trained model on a domain corpus (full, frozen parts or LoRA)"),
    "lm": ("pinhan.cli.lm", "build the character n-gram a model fuses into conversion, weight chosen on dev"),
    "polyphone": ("pinhan.cli.polyphone", "train g2p's polyphone head on a model's frozen encoder (CPP labels, teacher)"),
    "convert": ("pinhan.cli.convert", "convert pinyin to ranked hanzi candidates"),
    "g2p": ("pinhan.cli.g2p", "hanzi to pinyin with polyphones resolved"),
    "generate": ("pinhan.cli.generate", "continue hanzi text (predictive input)"),
    "predict": ("pinhan.cli.predict", "the likeliest next words after committed text (联想)"),
    "eval": ("pinhan.cli.eval", "evaluate a model on benchmark sets (accuracy, top-k, BLEU, ROUGE, g2p, perplexity, latency)"),
    "export": ("pinhan.cli.export", "export a model to ONNX (encoder, decoder step with KV cache, heads; optional int8)"),
    "serve": ("pinhan.cli.serve", "serve the JSON API and the web input-method page (FastAPI on uvicorn)"),
}


def build_parser() -> argparse.ArgumentParser:
    from pinhan import __version__

    parser = argparse.ArgumentParser(prog="pinhan", description="Train, evaluate and serve pinyin<->hanzi Transformer models.")
    parser.add_argument("--version", action="version", version=f"pinhan {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=help_text, description=(module.__doc__ or help_text).strip())
        module.add_arguments(command)
        # Commands that take free key=value overrides collect what argparse leaves over.
        command.set_defaults(_run=module.run, _extra=getattr(module, "EXTRA_ARGS", None))
    return parser


def main(argv: list[str] | None = None) -> int:
    from pinhan.errors import PinhanError

    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        if not getattr(args, "_extra", None) or any(item.startswith("-") for item in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        getattr(args, args._extra).extend(extra)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except PinhanError as exc:
        print(f"pinhan {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"pinhan {args.command}: interrupted; nothing half-written was kept", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a reader that stopped (| head): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's flush at exit must not fail again
        return 141
