"""Latency per keystroke, as an input method sends it: every prefix of each clause's toneless
pinyin (``z``, ``zh``, ..., ``zhongguowenhua``), converted from scratch, pinhan (both modes,
wall clock, one thread) and libime (CPU time, its harness) on the same inputs in one run.

Run: ``.venv/bin/python -m benchmarks.keystrokes [--limit 100] [--set pd1998-test]`` (libime needs
``bash benchmarks/engines/install.sh``). Prints a Markdown table with p50 / p95 ms and the ratio
to libime.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"


def keystrokes(items: list[dict]) -> list[str]:
    """Every non-empty prefix of every item's toneless, unsegmented pinyin."""
    out = []
    for item in items:
        typed = "".join(s.rstrip("012345") for s in item["pinyin"])
        out += [typed[:n] for n in range(1, len(typed) + 1)]
    return out


def pinhan_ms(model, inputs: list[str], mode: str) -> list[float]:
    ms = []
    for text in inputs:
        started = time.perf_counter()
        model.convert(text, k=5, mode=mode)
        ms.append(1e3 * (time.perf_counter() - started))
    return ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model directory (default: the default model)")
    parser.add_argument("--set", default="pd1998-test", help="benchmark set (default pd1998-test)")
    parser.add_argument("--limit", type=int, default=100, help="clauses (default 100)")
    parser.add_argument("--backend", choices=("torch", "onnx"), default="onnx")
    args = parser.parse_args()
    import pinhan
    from benchmarks.engines.peers import EngineUnavailable, load_set, percentile, run_engine

    inputs = keystrokes(load_set(BENCH / f"{args.set}.jsonl", args.limit))
    model = pinhan.load(args.model, backend=args.backend, quantize=args.backend == "onnx", threads=1)
    for text in inputs[:50]:  # warm-up
        model.convert(text, k=5, mode="fast")
    rows = {f"pinhan {mode} ({args.backend}{' int8' if args.backend == 'onnx' else ''}, wall)": pinhan_ms(model, inputs, mode)
            for mode in ("accurate", "fast")}
    try:
        rows["libime (CPU)"] = run_engine("libime", inputs).cpu_ms
    except EngineUnavailable as exc:
        print(f"libime: {exc}")
    ref = rows.get("libime (CPU)")
    print(f"{len(inputs):,} keystrokes of the first {args.limit} clauses of {args.set}\n")
    print("| system | p50 ms | p95 ms | p95 / libime's p95 |\n|---|---:|---:|---:|")
    for system, ms in rows.items():
        ratio = f"{percentile(ms, 0.95) / percentile(ref, 0.95):.1f}x" if ref else "-"
        print(f"| {system} | {percentile(ms, 0.5):.1f} | {percentile(ms, 0.95):.1f} | {ratio} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
