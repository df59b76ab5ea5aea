"""Training the homophone chooser on a prepared directory, and ``pinhan lm --kind homophones``."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from pinhan.errors import ConfigError, DataError
from pinhan.lm.homophones import HomophoneModel
from pinhan.train.homophones import HomophoneTrainConfig, read_corpus, train_homophones

SUBJECTS = ["小明", "老师", "妈妈", "爸爸", "同学", "朋友", "医生", "经理", "姐姐", "哥哥", "邻居", "学生",
            "记者", "司机", "老板", "护士", "叔叔", "阿姨", "校长", "店员"]


@pytest.fixture(scope="module")
def prepared_ta(tmp_path_factory):
    """Lines where only what follows 他 / 它 tells them apart: 他很忙 (a person), 它很贵 (a thing)."""
    from pinhan.data.config import PrepareConfig
    from pinhan.data.prepare import prepare

    root = tmp_path_factory.mktemp("ta")
    lines = [f"{s}说他很忙。" for s in SUBJECTS] + [f"{s}说它很贵。" for s in SUBJECTS]
    (root / "corpus.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    prepare(PrepareConfig(sources=[str(root / "corpus.txt")], extra_charset="none", workers=1, min_count=1,
                          dev_ratio=0.1, test_ratio=0.0), root / "data", progress=False)
    return root / "data"


TINY = dict(buckets=4096, dim=8, min_count=2, epochs=30, lr=0.05, batch_size=16, max_examples=0)


def test_the_chooser_learns_what_follows(prepared_ta):
    model, report = train_homophones(prepared_ta, HomophoneTrainConfig(**TINY), say=lambda line: None)
    assert "ta" in model.syllables and report["examples"] > 0
    people, things = model.log_probs("小明说", ["他很忙", "它很忙"], [["ta1", "hen3", "mang2"]] * 2)
    assert people[0] > things[0]  # 他 before 很忙
    people, things = model.log_probs("小明说", ["他很贵", "它很贵"], [["ta1", "hen3", "gui4"]] * 2)
    assert things[0] > people[0]  # 它 before 很贵
    assert model.embeddings.dtype == np.int8 and model.weight == 0.0


def test_corpus_lines_are_separated_and_syllables_toneless(prepared_ta):
    corpus = read_corpus(prepared_ta)
    assert (corpus.codepoints == 0).sum() > 0  # one separator after each line
    ta = corpus.names.index("ta")
    assert set(corpus.codepoints[corpus.syllables == ta].tolist()) == {ord("他"), ord("它")}


def test_config_is_checked(prepared_ta):
    for bad in (dict(dim=0), dict(max_set=1), dict(epochs=0), dict(buckets=1), dict(window=1)):
        with pytest.raises(ConfigError):
            HomophoneTrainConfig(**bad)
    with pytest.raises(DataError, match="nothing to train"):
        train_homophones(prepared_ta, HomophoneTrainConfig(**{**TINY, "min_count": 10_000}), say=lambda line: None)


def test_lm_cli_writes_the_chooser_and_its_weight(word_model_dir, prepared_tiny, tmp_path):
    from pinhan.cli import main

    out = tmp_path / "model"
    shutil.copytree(word_model_dir, out)
    assert main(["lm", "--model", str(out), "--data", str(prepared_tiny), "--kind", "homophones",
                 "buckets=1024", "dim=4", "epochs=1", "min_count=1", "--dev-items", "5", "--homophone-weights", "0", "0.5"]) == 0
    model = HomophoneModel.load(out / "homophones.safetensors")
    assert model.weight in (0.0, 0.5) and len(model.info["dev_table"]) == 2
    assert main(["lm", "--model", str(out), "--data", str(prepared_tiny), "--kind", "words", "dim=4"]) == 2
    # settings may follow the options too; a bad one is named
    assert main(["lm", "--model", str(out), "--data", str(prepared_tiny), "--kind", "homophones",
                 "--homophone-weights", "0", "0.5", "--dev-items", "5", "dim=zero"]) == 2
    assert main(["lm", "--model", str(out), "--data", str(prepared_tiny), "--kind", "homophones",
                 "--homophone-weights", "0.5", "--dev-items", "5", "buckets=1024", "dim=4", "epochs=1", "min_count=1"]) == 0
    assert HomophoneModel.load(out / "homophones.safetensors").weight == 0.5  # one weight: no search


def test_lm_cli_needs_a_word_model(model_dir, prepared_tiny, tmp_path):
    from pinhan.cli import main

    out = tmp_path / "model"
    shutil.copytree(model_dir, out)
    assert main(["lm", "--model", str(out), "--data", str(prepared_tiny), "--kind", "homophones", "epochs=1"]) != 0
    assert not (out / "homophones.safetensors").exists()
