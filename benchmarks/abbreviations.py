"""Short abbreviations, as an input method gets them: the first 2, 3 and 4 syllables of each
pd1998-test and hsk-test item typed as initials (zh / ch / sh kept), scored by whether the
gold hanzi of those syllables is the first candidate (top-1) or among the first five shown
(top-5); pinhan (both modes, candidates as ``convert`` lists them) and libime (fcitx5's
candidate list, ``LIBIME_TOPK=5``) on the same inputs, in one run.

Run: ``.venv/bin/python -m benchmarks.abbreviations [--model DIR] [--limit N]`` (every item of both
sets unless ``--limit``: a few minutes on 2 cores; libime needs
``bash benchmarks/engines/install.sh``). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"
SETS = ("pd1998-test", "hsk-test")
LENGTHS = (2, 3, 4)


def initials(syllables: list[str]) -> str:
    """What an abbreviating typist types: each syllable's initial, zh / ch / sh whole, a vowel
    syllable's first letter."""
    out = []
    for syllable in syllables:
        plain = syllable.rstrip("012345")
        out.append(plain[:2] if plain[:2] in ("zh", "ch", "sh") else plain[:1])
    return "".join(out)


def cases(limit: int | None) -> list[tuple[str, int, str, str]]:
    """(set, length, typed, gold) for every item long enough, the first ``limit`` items a set."""
    from benchmarks.engines.peers import load_set

    out = []
    for name in SETS:
        for item in load_set(BENCH / f"{name}.jsonl", limit):
            for n in LENGTHS:
                if len(item["pinyin"]) >= n and len(item["hanzi"]) >= n:
                    out.append((name, n, initials(item["pinyin"][:n]), item["hanzi"][:n]))
    return out


def pinhan_lists(model, typed: list[str], mode: str) -> tuple[list[list[str]], list[float]]:
    lists, ms = [], []
    for text in typed:
        started = time.perf_counter()
        lists.append([c.text for c in model.convert(text, k=5, mode=mode)])
        ms.append(1e3 * (time.perf_counter() - started))
    return lists, ms


def libime_lists(typed: list[str]) -> tuple[list[list[str]], list[float]]:
    from benchmarks.engines.peers import run_engine

    os.environ["LIBIME_TOPK"] = "5"
    run = run_engine("libime", typed)
    return [out.split("|") for out in run.outputs], run.cpu_ms


def table(rows: dict[str, tuple[list[list[str]], list[float]]], data: list[tuple[str, int, str, str]]) -> str:
    from benchmarks.engines.peers import percentile

    lines = ["| system | set | syllables | n | top-1 % | top-5 % | p50 / p95 ms |", "|---|---|---:|---:|---:|---:|---|"]
    for system, (lists, ms) in rows.items():
        for name in SETS:
            for n in LENGTHS:
                idx = [i for i, (s, k, _, _) in enumerate(data) if s == name and k == n]
                if not idx:
                    continue
                top1 = sum(lists[i][:1] == [data[i][3]] for i in idx) / len(idx)
                top5 = sum(data[i][3] in lists[i][:5] for i in idx) / len(idx)
                times = [ms[i] for i in idx]
                lines.append(f"| {system} | {name} | {n} | {len(idx)} | {100 * top1:.1f} | {100 * top5:.1f} | "
                             f"{percentile(times, 0.5):.1f} / {percentile(times, 0.95):.1f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model directory (default: the default model)")
    parser.add_argument("--limit", type=int, default=None, help="the first N items of each set (default: all, as the issue asks)")
    parser.add_argument("--backend", choices=("torch", "onnx"), default="onnx")
    args = parser.parse_args()
    import pinhan
    from benchmarks.engines.peers import EngineUnavailable

    data = cases(args.limit)
    typed = [t for _, _, t, _ in data]
    model = pinhan.load(args.model, backend=args.backend, quantize=args.backend == "onnx", threads=1)
    for text in typed[:20]:  # warm-up
        model.convert(text, k=5, mode="fast")
    rows = {f"pinhan {mode}": pinhan_lists(model, typed, mode) for mode in ("accurate", "fast")}
    try:
        rows["libime (CPU ms)"] = libime_lists(typed)
    except EngineUnavailable as exc:
        print(f"libime: {exc}")
    print(table(rows, data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
