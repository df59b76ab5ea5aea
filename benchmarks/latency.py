"""Inference latency: convert (accurate, fast) and g2p, single thread, batch 1 after warm-up.

Run: ``.venv/bin/python benchmarks/latency.py MODEL_DIR [--backends torch onnx onnx-int8] [--limit 500]
[--max-paths 1] [--max-context 64] [--beam 4]``

Inputs are the benchmark's: ``../shared/bench/pd1998-test.jsonl`` pinyin without tones, typed without
separators, with the item's context (as an input method would send them); ``cpp-test.jsonl``
sentences for g2p. Each call is timed alone (wall clock and process CPU time) after ``--warmup``
calls; throughput is measured separately on batches of 32. An onnx backend exports the model into
``MODEL/onnx`` first unless an export of these weights is there. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"
OUT = Path(__file__).resolve().parent / "out"


def load_items(name: str, limit: int) -> list[dict]:
    lines = (BENCH / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines[:limit]]


def timed(calls, warmup: int) -> dict:
    """Run ``calls`` (zero-argument functions) one by one; wall and CPU ms of those after warm-up."""
    for call in calls[:warmup]:
        call()
    wall, cpu = [], []
    for call in calls[warmup:]:
        w, c = time.perf_counter(), time.process_time()
        call()
        wall.append(1e3 * (time.perf_counter() - w))
        cpu.append(1e3 * (time.process_time() - c))
    return {"p50": float(np.median(wall)), "p95": float(np.percentile(wall, 95)),
            "cpu_p50": float(np.median(cpu)), "cpu_p95": float(np.percentile(cpu, 95)), "n": len(wall)}


def load_backend(model_dir: Path, backend: str, config):
    import pinhan

    if backend == "torch":
        return pinhan.load(model_dir, config=config, threads=1)
    from pinhan.model.io import CheckpointError

    int8 = backend == "onnx-int8"
    try:  # the export beside the weights (MODEL/onnx); loading checks that it matches them
        return pinhan.load(model_dir, backend="onnx", config=config, threads=1, quantize=int8)
    except CheckpointError:
        from pinhan.deploy.onnx.export import export_onnx

        export_onnx(model_dir, model_dir / "onnx", int8=True, overwrite=True)
    return pinhan.load(model_dir, backend="onnx", config=config, threads=1, quantize=int8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path)
    parser.add_argument("--backends", nargs="+", default=["torch", "onnx", "onnx-int8"])
    parser.add_argument("--limit", type=int, default=500, help="inputs per set (default: 500)")
    parser.add_argument("--warmup", type=int, default=20)
    defaults = {"max_paths": 1, "max_context": 64, "beam": 8}  # InferenceConfig's defaults
    parser.add_argument("--max-paths", type=int, default=defaults["max_paths"])
    parser.add_argument("--max-context", type=int, default=defaults["max_context"])
    parser.add_argument("--beam", type=int, default=defaults["beam"])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    from pinhan.infer.config import InferenceConfig

    torch.set_num_threads(1)
    config = InferenceConfig(max_paths=args.max_paths, max_context=args.max_context, beam_size=args.beam)
    pd = load_items("pd1998-test", args.limit + args.warmup)
    inputs = [("".join(s.rstrip("12345") for s in it["pinyin"]), it.get("context", "")) for it in pd]
    sentences = [it["sentence"] for it in load_items("cpp-test", args.limit + args.warmup)]
    rows = []
    print(f"model {args.model}, max_paths {args.max_paths}, max_context {args.max_context}, beam {args.beam}, "
          f"{args.limit} inputs after {args.warmup} warm-up, 1 thread")
    print("| backend | task | p50 ms | p95 ms | CPU p50 | CPU p95 | batch-32 items/s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for backend in args.backends:
        model = load_backend(args.model, backend, config)
        tasks = {
            "convert accurate": ([lambda p=p, c=c: model.convert(p, context=c, k=5, mode="accurate") for p, c in inputs],
                                 lambda batch: model.convert_batch(batch, k=5, mode="accurate"), inputs),
            "convert fast": ([lambda p=p, c=c: model.convert(p, context=c, k=5, mode="fast") for p, c in inputs],
                             lambda batch: model.convert_batch(batch, k=5, mode="fast"), inputs),
            "g2p (cpp sentence)": ([lambda s=s: model.g2p(s) for s in sentences], model.g2p_batch, sentences),
        }
        for task, (calls, batched, data) in tasks.items():
            figures = timed(calls, args.warmup)
            started = time.perf_counter()
            done = 0
            for i in range(0, min(len(data), 256), 32):
                batched(data[i : i + 32])
                done += len(data[i : i + 32])
            figures["batch32_per_s"] = done / (time.perf_counter() - started)
            rows.append({"backend": backend, "task": task, **figures})
            print(f"| {backend} | {task} | {figures['p50']:.1f} | {figures['p95']:.1f} | {figures['cpu_p50']:.1f} | "
                  f"{figures['cpu_p95']:.1f} | {figures['batch32_per_s']:.0f} |", flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
