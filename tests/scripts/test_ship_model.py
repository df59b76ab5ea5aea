"""scripts/ship_model.py's training history: a run fine-tuned from a shipped model (whose directory
has no train_state.json) takes the stages that model's config.json recorded."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "src" / "pinhan" / "assets" / "default_model"


@pytest.fixture(scope="module")
def ship_model():
    spec = importlib.util.spec_from_file_location("ship_model", ROOT / "scripts" / "ship_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_fine_tune_of_a_shipped_model_keeps_its_recorded_stages(ship_model, tmp_path):
    shipped = json.loads((DEFAULT / "config.json").read_text(encoding="utf-8"))
    (tmp_path / "shipped").mkdir()
    (tmp_path / "shipped" / "config.json").write_text(json.dumps(shipped), encoding="utf-8")
    run = tmp_path / "run" / "last"
    run.mkdir(parents=True)
    recipe = {**shipped["recipe"], "data": "data/more", "finetune": {"from": str(tmp_path / "shipped"), "mode": "full"}}
    (run / "config.json").write_text(json.dumps({**shipped, "recipe": recipe}), encoding="utf-8")
    (run / "train_state.json").write_text(json.dumps({"state": {"step": 7, "tokens": 700, "elapsed_seconds": 70.4}}),
                                          encoding="utf-8")
    stages = ship_model.history(run)
    recorded = shipped["training_history"]
    assert [s["source"] for s in stages] == [s["source"] for s in recorded] + [str(run)]
    assert stages[-1] == {"source": str(run), "data": "data/more", "steps": 7, "tokens": 700, "seconds": 70,
                          "kind": "fine-tune", "resumes": [], "recipe": recipe}
    assert stages[0]["recipe"] == shipped["first_stage_recipe"] and stages[-2]["shipped_as"] == str(tmp_path / "shipped")
    # a starting point with neither a train state nor a recorded history is named, not a traceback
    del shipped["training_history"]
    (tmp_path / "shipped" / "config.json").write_text(json.dumps(shipped), encoding="utf-8")
    with pytest.raises(SystemExit, match="neither train_state.json nor a recorded training history"):
        ship_model.history(run)
