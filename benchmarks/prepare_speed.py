"""Wall time and characters per second of ``pinhan prepare`` on the bundled corpus.

Run: ``.venv/bin/python benchmarks/prepare_speed.py [--workers N ...]`` — prepares into a
temporary directory (deleted afterwards) once per worker count and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from pathlib import Path

from pinhan.data.config import PrepareConfig
from pinhan.data.prepare import prepare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, os.cpu_count() or 1])
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| workers | lines read | characters | seconds | chars/s |")
    print("|---:|---:|---:|---:|---:|")
    for workers in args.workers:
        with tempfile.TemporaryDirectory() as tmp:
            report = prepare(PrepareConfig(workers=workers), Path(tmp) / "bundled", progress=False)
        print(f"| {workers} | {report['lines_read']:,} | {report['characters']:,} | {report['seconds']:.1f} | {report['chars_per_second']:,} |")


if __name__ == "__main__":
    main()
