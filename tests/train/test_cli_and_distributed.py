import csv
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from pinhan.cli import main

TINY = ["model.size=tiny", "model.d_model=32", "model.d_ff=64", "train.batch_size=4", "train.warmup_steps=1",
        "train.eval_batches=1", "train.eval_clauses=4", "train.log_every=1", "train.threads=1"]


def test_train_cli_runs_and_guards_its_run_directory(prepared_tiny, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--data", str(prepared_tiny), "--out", str(out), "--quiet", "--max-steps", "2", *TINY, "train.eval_every=2"]
    assert main(args) == 0
    assert '"steps": 2' in capsys.readouterr().out
    assert main(args) == 2  # the run exists: refuse to overwrite it
    assert "pass --resume" in capsys.readouterr().err
    assert main(["train", "--data", str(prepared_tiny), "--out", str(out), "--resume", "--quiet", "train.lr=1"]) == 2
    assert "only train.max_steps, train.max_minutes, train.stop_at_step and train.threads may change" in capsys.readouterr().err
    assert main(["train", "--data", str(prepared_tiny), "--out", str(out), "--resume", "--quiet", "--max-steps", "3"]) == 0
    assert main(["train", "--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "r2"), "--quiet"]) == 2
    assert "not a prepared data directory" in capsys.readouterr().err


@pytest.fixture(scope="module")
def uniform_data(tmp_path_factory):
    """Every line one 12-hanzi run, so every example of a p2h-only run has the same length and
    per-rank losses average to exactly the single-process loss."""
    from pinhan.data.config import PrepareConfig
    from pinhan.data.prepare import prepare

    root = tmp_path_factory.mktemp("uniform")
    pool = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经"
    rng = random.Random(0)
    lines = ["".join(rng.choice(pool) for _ in range(12)) for _ in range(300)]
    (root / "c.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    prepare(PrepareConfig(sources=[str(root / "c.txt")], extra_charset="none", workers=1, min_count=1), root / "data", progress=False)
    return root / "data"


def read_losses(out: Path):
    with open(out / "metrics.csv", newline="", encoding="utf-8") as fh:
        return [float(r["loss_total"]) for r in csv.DictReader(fh) if r["loss_total"]]


def test_two_processes_match_one_at_the_same_global_batch(uniform_data, tmp_path):
    common = ["model.size=tiny", "model.d_model=32", "model.d_ff=64", "model.dropout=0.0", "train.warmup_steps=1",
              "train.eval_every=100", "train.eval_batches=1", "train.eval_clauses=0", "train.log_every=1", "train.threads=1",
              "train.max_cands=0", "examples.task_weights.p2h=1.0", "examples.whole_run_prob=1.0", "examples.max_context=0",
              "examples.fuzzy_prob=0.0", "examples.abbreviate_prob=0.0", "examples.all_abbreviated_prob=0.0",
              "examples.toned_prob=0.0"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    single, double = tmp_path / "single", tmp_path / "double"
    base = ["train", "--data", str(uniform_data), "--quiet", "--max-steps", "4", *common]
    torchrun = Path(sys.executable).parent / "torchrun"
    result = subprocess.run([sys.executable, "-m", "pinhan.cli", *base, "--out", str(single), "train.batch_size=8"],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    result = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "pinhan.cli", *base,
                             "--out", str(double), "train.batch_size=4"], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    one, two = read_losses(single), read_losses(double)
    assert len(one) == len(two) == 4
    assert two == pytest.approx(one, rel=1e-4, abs=1e-5)
