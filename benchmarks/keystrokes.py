"""Latency per keystroke, as an input method sends it: every prefix of each clause's toneless
pinyin (``z``, ``zh``, ..., ``zhongguowenhua``), converted from scratch, pinhan (both modes, one
thread) and libime (its harness) on the same inputs in one run. libime's harness reports the
process CPU time of each conversion; pinhan gets a row for the same clock and one for the wall
clock (which also counts the time other tenants of a shared machine hold the core), and the ratio
to libime's p95 is given for both.
``--whole``: per clause instead, each whole clause once, pinhan given the item's context.

Run: ``.venv/bin/python -m benchmarks.keystrokes [--limit 100] [--set pd1998-test] [--whole]``
(libime needs ``bash benchmarks/engines/install.sh``). Prints a Markdown table with p50 / p95 ms
and the ratio to libime. pinhan keeps its caches across inputs (as a running input method does:
arcs of positions already seen are reused); libime's harness converts each input in a fresh state.
``--settings`` compares inference settings (JSON objects of InferenceConfig fields) in one run:
each gives a row per mode, measured in turn on a model loaded with them (so no setting finds
another's caches warm).
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


def pinhan_ms(model, inputs: list[str], mode: str, contexts: list[str] | None = None) -> tuple[list[float], list[float]]:
    """Per input, (process CPU ms, wall ms) of one conversion."""
    cpu, wall = [], []
    for i, text in enumerate(inputs):
        started, started_cpu = time.perf_counter(), time.process_time()
        model.convert(text, k=5, mode=mode, context=contexts[i] if contexts else "")
        cpu.append(1e3 * (time.process_time() - started_cpu))
        wall.append(1e3 * (time.perf_counter() - started))
    return cpu, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model directory (default: the default model)")
    parser.add_argument("--set", default="pd1998-test", help="benchmark set (default pd1998-test)")
    parser.add_argument("--limit", type=int, default=100, help="clauses (default 100)")
    parser.add_argument("--backend", choices=("torch", "onnx"), default="onnx")
    parser.add_argument("--whole", action="store_true", help="whole clauses (with their context), not every prefix")
    parser.add_argument("--settings", nargs="+", default=["{}"], metavar="JSON",
                        help="InferenceConfig overrides to compare, e.g. '{}' '{\"context_history\": 0}'")
    args = parser.parse_args()
    import json

    import pinhan
    from pinhan.infer.config import InferenceConfig
    from benchmarks.engines.peers import EngineUnavailable, load_set, percentile, run_engine

    items = load_set(BENCH / f"{args.set}.jsonl", args.limit)
    if args.whole:
        inputs = ["".join(s.rstrip("012345") for s in item["pinyin"]) for item in items]
        contexts = [item.get("context", "") for item in items]
    else:
        inputs, contexts = keystrokes(items), None
    rows = {}
    for mode in ("accurate", "fast"):
        for settings in args.settings:
            model = pinhan.load(args.model, backend=args.backend, quantize=args.backend == "onnx", threads=1,
                                config=InferenceConfig(**json.loads(settings)))
            for text in inputs[:50]:  # warm-up (no context: the contexts' caches stay cold)
                model.convert(text, k=5, mode="fast")
            cpu, wall = pinhan_ms(model, inputs, mode, contexts)
            for clock, ms in (("CPU", cpu), ("wall", wall)):
                label = f"pinhan {mode} ({args.backend}{' int8' if args.backend == 'onnx' else ''}, {clock})"
                rows[label + ("" if len(args.settings) == 1 else f" {settings}")] = ms
    try:
        rows["libime (CPU)"] = run_engine("libime", inputs).cpu_ms
    except EngineUnavailable as exc:
        print(f"libime: {exc}")
    ref = rows.get("libime (CPU)")
    what = "whole clauses" if args.whole else f"keystrokes of the first {args.limit} clauses"
    print(f"{len(inputs):,} {what} of {args.set}\n")
    print("| system | p50 ms | p95 ms | p95 / libime's p95 |\n|---|---:|---:|---:|")
    for system, ms in rows.items():
        ratio = f"{percentile(ms, 0.95) / percentile(ref, 0.95):.1f}x" if ref else "-"
        print(f"| {system} | {percentile(ms, 0.5):.1f} | {percentile(ms, 0.95):.1f} | {ratio} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
