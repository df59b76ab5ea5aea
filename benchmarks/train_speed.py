"""Training throughput of the named sizes through the real training loop (data pipeline included).

Run: ``.venv/bin/python benchmarks/train_speed.py [--data data/bundled] [--steps 30]``

For each size and each softmax (full, restricted to 64 candidates), trains ``--steps`` steps of
batch 64 from scratch and reports the loop's own tokens/s (encoder positions + target steps per
second, after the first logging window) and seconds per step. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import tempfile
from pathlib import Path

import torch

from pinhan.config import resolve_config
from pinhan.train.config import RunConfig
from pinhan.train.data import load_run_data
from pinhan.train.loop import fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("data/bundled"))
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--sizes", nargs="+", default=["tiny", "small", "base"])
    args = parser.parse_args()
    data = load_run_data(args.data)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| size | parameters | softmax | tokens/s | s/step |\n|---|---:|---|---:|---:|")
    for size in args.sizes:
        for cands in (0, 64):
            with tempfile.TemporaryDirectory() as tmp:
                run = resolve_config(RunConfig, None, [f"model.size={size}", "model.dropout=0.0", f"train.max_cands={cands}",
                                             f"train.max_steps={args.steps}", f"train.log_every={args.steps // 2}",
                                             f"train.eval_every={args.steps * 10}", "train.eval_clauses=0", "train.eval_batches=1",
                                             "train.warmup_steps=5"])
                summary = fit(run, data, Path(tmp), progress=False)
                with open(Path(tmp) / "metrics.csv", newline="", encoding="utf-8") as fh:
                    rows = [r for r in csv.DictReader(fh) if r["tokens_per_s"]]
                from pinhan.model.io import load_model

                params = load_model(Path(tmp) / "last").num_parameters()
            rate = float(rows[-1]["tokens_per_s"])  # the second window: no start-up costs
            window_steps = args.steps - args.steps // 2
            window_s = (float(rows[-1]["elapsed_s"]) - float(rows[0]["elapsed_s"])) / max(window_steps, 1)
            print(f"| {size} | {params / 1e6:.2f}M | {'restricted C=64' if cands else 'full'} | {rate:,.0f} | {window_s:.2f} |", flush=True)
            del summary


if __name__ == "__main__":
    main()
