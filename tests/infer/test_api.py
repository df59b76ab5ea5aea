import json

import pytest

import pinhan
from pinhan.errors import ConfigError
from pinhan.infer.config import InferenceConfig
from pinhan.model.io import CheckpointError


def test_load_errors_name_the_problem(tmp_path, model_dir, monkeypatch):
    with pytest.raises(CheckpointError, match="does not exist"):
        pinhan.load(tmp_path / "nowhere")
    with pytest.raises(CheckpointError, match="no vocab.json"):
        pinhan.load(tmp_path)
    with pytest.raises(ConfigError, match="backend"):
        pinhan.load(model_dir, backend="tensorflow")
    with pytest.raises(ConfigError, match="beam_size"):
        InferenceConfig(beam_size=0)
    with pytest.raises(ConfigError, match="word_beam must be a whole number, got 8.5"):
        InferenceConfig(word_beam=8.5)  # would reach the compiled lattice search as a float
    monkeypatch.delenv("PINHAN_MODEL", raising=False)
    monkeypatch.setattr("pinhan.loader.default_model_dir", lambda: None)
    with pytest.raises(CheckpointError, match="no default model"):
        pinhan.load()


def test_a_file_given_as_the_model_is_named_as_a_file(tmp_path, capsys):
    from pinhan.cli import main

    not_a_dir = tmp_path / "passwd"
    not_a_dir.write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(CheckpointError, match=f"^model directory {not_a_dir} is a file, not a model directory$"):
        pinhan.load(not_a_dir)
    with pytest.raises(CheckpointError, match="does not exist"):
        pinhan.load(tmp_path / "nowhere")
    assert main(["convert", "--model", str(not_a_dir), "nihao"]) == 2
    err = capsys.readouterr().err
    assert err == f"pinhan convert: error: model directory {not_a_dir} is a file, not a model directory\n"


def test_default_model_from_the_environment(model_dir, monkeypatch):
    monkeypatch.setenv("PINHAN_MODEL", str(model_dir))
    model = pinhan.load()
    assert model.path == model_dir and model.convert("nihao", k=1)


def test_a_corrupt_checkpoint_is_a_clear_error(model_dir, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(model_dir, bad)
    config = json.loads((bad / "config.json").read_text())
    config["model"]["d_model"] = 48
    (bad / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="shape"):
        pinhan.load(bad)


def test_limits_come_from_the_config(model_dir):
    model = pinhan.load(model_dir, config=InferenceConfig(max_syllables=3, max_chars=5))
    with pytest.raises(pinhan.infer.api.InputError, match="the limit is 3"):
        model.convert("nihaoma a")
    with pytest.raises(pinhan.infer.api.InputError, match="the limit is 5"):
        model.g2p("我们明天去北京")


def test_score_limits_are_input_errors(api):
    with pytest.raises(pinhan.infer.api.InputError, match="prefix has 300 characters; the limit is 256"):
        api.score("中" * 300, "国")
    with pytest.raises(pinhan.infer.api.InputError, match=r"text has 200 characters; the limit is \d+ \(max_positions\)"):
        api.score("中", "国" * 200)  # past the decoder's positions: was a ValueError from the runner


def test_a_vocabulary_of_another_model_is_a_clear_error(model_dir, tmp_path):
    import shutil

    bad = tmp_path / "mixed"
    shutil.copytree(model_dir, bad)
    vocab = json.loads((bad / "vocab.json").read_text(encoding="utf-8"))
    vocab["chars"] = vocab["chars"][:-1]
    (bad / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CheckpointError, match="does not match the model's vocabulary sizes"):
        pinhan.load(bad)


def test_threads_hold_numpys_blas_too(model_dir):
    """load(threads=1) keeps numpy's BLAS on one thread: the polyphone head's products otherwise
    start BLAS threads that stall behind busy cores (p95 of g2p 2 -> 5.5 ms beside a training run)."""
    from threadpoolctl import threadpool_info, threadpool_limits

    with threadpool_limits(limits=2, user_api="blas"):
        pinhan.load(model_dir, threads=1)
        assert {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"} == {1}
