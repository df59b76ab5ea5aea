import csv
import json

import pytest
import torch

from pinhan.errors import ConfigError
from pinhan.model.io import load_model
from pinhan.train import loop as loop_module
from pinhan.train.checkpoint import recover
from pinhan.config import resolve_config
from pinhan.train.config import RunConfig
from pinhan.train.data import load_run_data
from pinhan.train.loop import TrainingError, fit

TINY = ["model.size=tiny", "model.d_model=32", "model.d_ff=64", "train.batch_size=6", "train.warmup_steps=2",
        "train.eval_batches=1", "train.eval_clauses=8", "train.log_every=1", "train.threads=1"]


def run_config(*extra):
    return resolve_config(RunConfig, None, TINY + list(extra))


def losses(out):
    with open(out / "metrics.csv", newline="", encoding="utf-8") as fh:
        return [(int(r["step"]), r["loss_total"]) for r in csv.DictReader(fh) if r["loss_total"]]


def test_training_writes_checkpoints_logs_and_learns(prepared_tiny, tmp_path):
    out = tmp_path / "run"
    summary = fit(run_config("train.max_steps=30", "train.eval_every=15", "train.lr=5e-3", "train.snapshot_minutes=[0.000001]"),
                  load_run_data(prepared_tiny), out, progress=False)
    assert summary["steps"] == 30 and summary["stopped_by"] == "max_steps"
    for name in ("config.json", "model.safetensors", "vocab.json", "lexicon.json", "metrics.json",
                 "train_state.json", "train_state.safetensors"):
        assert (out / "last" / name).is_file(), name
    assert (out / "best" / "model.safetensors").is_file() and not (out / "best" / "train_state.json").exists()
    assert (out / "curves.png").stat().st_size > 1000 and any((out / "tb").iterdir())
    config = json.loads((out / "last" / "config.json").read_text(encoding="utf-8"))
    assert config["recipe"]["train"]["max_steps"] == 30 and config["model"]["d_model"] == 32
    metrics = json.loads((out / "last" / "metrics.json").read_text(encoding="utf-8"))
    assert 0.0 <= metrics["dev_char_acc"] <= 1.0 and "dev_loss_total" in metrics
    rows = losses(out)
    assert [s for s, _ in rows] == list(range(1, 31))
    first = sum(float(l) for _, l in rows[:10]) / 10
    last = sum(float(l) for _, l in rows[-10:]) / 10
    assert last < 0.85 * first  # it learns (mixed-task batches of 6 are noisy: compare windows)
    assert load_model(out / "last").config.d_model == 32
    assert [p.name for p in (out / "snapshots").iterdir()] == ["000.0min"]


def test_resume_equals_uninterrupted(prepared_tiny, tmp_path):
    data = load_run_data(prepared_tiny)
    straight, split = tmp_path / "straight", tmp_path / "split"
    fit(run_config("train.max_steps=6", "train.eval_every=3"), data, straight, progress=False)
    fit(run_config("train.max_steps=6", "train.eval_every=3", "train.max_minutes=1e-9"), data, split, progress=False)
    # the time limit stopped it after step 1; resume the rest
    stopped_at = json.loads((split / "last" / "train_state.json").read_text())["state"]["step"]
    assert 0 < stopped_at < 6
    summary = fit(run_config("train.max_steps=6", "train.eval_every=3"), data, split, resume=True, progress=False)
    assert summary["steps"] == 6
    resumes = json.loads((split / "last" / "train_state.json").read_text())["state"]["extra"]["resumes"]
    assert resumes == [{"step": stopped_at, "changed": {"max_minutes": [1e-9, 0.0]}}]  # the history says how
    a, b = load_model(straight / "last").state_dict(), load_model(split / "last").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert losses(straight) == losses(split)  # same data order, same losses, one row per step


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(prepared_tiny, tmp_path, monkeypatch):
    data = load_run_data(prepared_tiny)
    out = tmp_path / "run"
    real_forward = loop_module.PinhanModel.forward
    calls = {"n": 0}

    def flaky(self, batch, weights=None):
        result = real_forward(self, batch, weights)
        calls["n"] += self.training  # dev evaluation runs in eval mode and does not count
        if calls["n"] > 4:
            result = dict(result, total=result["total"] * float("nan"))
        return result

    monkeypatch.setattr(loop_module.PinhanModel, "forward", flaky)
    with pytest.raises(TrainingError, match="NaN/inf at step 5"):
        fit(run_config("train.max_steps=10", "train.eval_every=2"), data, out, progress=False)
    state = json.loads((out / "last" / "train_state.json").read_text())["state"]
    assert state["step"] == 4
    assert all(torch.isfinite(t).all() for t in load_model(out / "last").state_dict().values())


def test_early_stopping(prepared_tiny, tmp_path, monkeypatch):
    scores = iter([0.5, 0.4, 0.3, 0.2, 0.1])

    class FakeEvaluator:
        def __init__(self, *args, **kwargs):
            pass

        def __call__(self, model, weights, device):
            return {"dev_char_acc": next(scores)}

    monkeypatch.setattr(loop_module, "DevEvaluator", FakeEvaluator)
    summary = fit(run_config("train.max_steps=10", "train.eval_every=1", "train.patience=2"),
                  load_run_data(prepared_tiny), tmp_path / "run", progress=False)
    assert summary["stopped_by"] == "early_stopping" and summary["steps"] == 3 and summary["best_step"] == 1


def test_recover_after_a_kill_between_renames(tmp_path):
    (tmp_path / ".last.old").mkdir()
    (tmp_path / ".last.old" / "model.safetensors").write_text("x")
    (tmp_path / ".last.tmp").mkdir()
    recover(tmp_path, "last")
    assert (tmp_path / "last" / "model.safetensors").is_file() and not (tmp_path / ".last.tmp").exists()


def test_run_config_errors_name_the_key():
    with pytest.raises(ConfigError, match="unknown key\\(s\\) in train: lrr"):
        resolve_config(RunConfig, None, ["train.lrr=1"])
    with pytest.raises(ConfigError, match="train.batch_size must be an integer"):
        resolve_config(RunConfig, None, ["train.batch_size=many"])
    with pytest.raises(ConfigError, match="unknown key\\(s\\) in model: widht"):
        resolve_config(RunConfig, None, ["model.widht=3"])
    with pytest.raises(ConfigError, match="model.size must be one of"):
        resolve_config(RunConfig, None, ["model.size=huge"]).model_config({"n_chars": 10, "n_syllables": 10, "n_initials": 5, "n_finals": 5})
    with pytest.raises(ConfigError, match="comes from the data"):
        resolve_config(RunConfig, None, ["model.n_chars=3"]).model_config({"n_chars": 10, "n_syllables": 10, "n_initials": 5, "n_finals": 5})


def test_stop_at_step_then_resume_with_another_schedule(prepared_tiny, tmp_path):
    data = load_run_data(prepared_tiny)
    out = tmp_path / "run"
    first = fit(run_config("train.max_steps=6", "train.eval_every=5", "train.stop_at_step=2"), data, out, progress=False)
    assert first["steps"] == 2 and first["stopped_by"] == "stop_at_step"
    second = fit(run_config("train.max_steps=4", "train.eval_every=5"), data, out, resume=True, progress=False)
    assert second["steps"] == 4 and second["stopped_by"] == "max_steps"
    state = json.loads((out / "last" / "train_state.json").read_text())["state"]
    assert state["extra"]["resumes"] == [{"step": 2, "changed": {"max_steps": [6, 4], "stop_at_step": [2, 0]}}]
    with pytest.raises(ConfigError, match="stop_at_step"):
        run_config("train.stop_at_step=-1")
