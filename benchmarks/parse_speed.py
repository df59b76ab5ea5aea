"""Pinyin parser speed: median and p95 latency of one parse of a 40-letter input.

Run:  python benchmarks/parse_speed.py [--repeats 2000] [--max-paths 8]

Each case is parsed ``--warmup`` times first (parser construction and caches are not
timed), then ``--repeats`` times, one ``time.perf_counter_ns`` measurement per call.
Prints one line per case and a Markdown table to paste into benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time

from pinhan.pinyin import PinyinParser

# 40 letters each (asserted below), so the figures compare like with like.
CASES = [
    ("full pinyin", "zhongguowenhuadeyuanyuanliuchangyuanyuan", ()),
    ("mixed abbreviations", "zhonghuarmgheguozgwhzhbjshiwoxdzhjiarxdz", ()),
    ("full, fuzzy all", "zongguowenhuadeyuanyuanliuchangyuanyuanx", "all"),
    ("mixed, fuzzy all", "zhonghuarmgheguozgwhzhbjshiwoxdzhjiarxdz", "all"),
]


def measure(parser: PinyinParser, text: str, warmup: int, repeats: int) -> tuple[float, float, int]:
    """(median µs, p95 µs, paths returned) for parsing ``text``."""
    for _ in range(warmup):
        parser.parse(text)
    times = []
    clock = time.perf_counter_ns
    for _ in range(repeats):
        t0 = clock()
        paths = parser.parse(text)
        times.append(clock() - t0)
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    return statistics.median(times) / 1000, p95 / 1000, len(paths)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--max-paths", type=int, default=8)
    args = ap.parse_args(argv)

    print(f"python {platform.python_version()} on {platform.machine()}, max_paths={args.max_paths}")
    rows = []
    for name, text, fuzzy in CASES:
        assert sum(c.isalpha() for c in text) == 40, (name, len(text))
        parser = PinyinParser(fuzzy=fuzzy, max_paths=args.max_paths)
        median, p95, n = measure(parser, text, args.warmup, args.repeats)
        best = " ".join(s.text for s in parser.parse(text)[0])
        print(f"{name:22s} median {median:8.1f} µs   p95 {p95:8.1f} µs   paths {n}   best: {best}")
        rows.append((name, median, p95))
    print()
    print("| pinyin parse, 40 letters | median µs | p95 µs |")
    print("|---|---:|---:|")
    for name, median, p95 in rows:
        print(f"| {name} | {median:.0f} | {p95:.0f} |")


if __name__ == "__main__":
    sys.exit(main())
