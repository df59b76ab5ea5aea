import json

import pytest

from pinhan.errors import ConfigError, DataError
from pinhan.train.polyphone import PolyphoneTrainConfig, read_labelled, split_fold


def _items(api, n=24):
    """CPP-format items over the tiny corpus: 长 labelled by the word after it."""
    readings = [api.vocab.syllables[s] for s in api.bundle.readings["长"]]
    sentences = [("长城很长", 0, "长城"), ("行长说今年", 1, "行长"), ("长江是中国最长的河流", 0, "长江")]
    out = []
    for k in range(n):
        text, at, _ = sentences[k % 3]
        out.append({"id": f"t{k}", "sentence": text, "index": at, "char": "长",
                    "pinyin": readings[0] if text[at + 1 :].startswith(("城", "江")) else readings[-1]})
    return out


def test_labelled_items_are_checked_and_folds_are_fixed(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"sentence": "长城", "index": 1, "char": "长", "pinyin": "chang2"}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="x.jsonl:1: not a CPP item"):
        read_labelled([str(path)])
    items = [{"n": i} for i in range(10)]
    assert split_fold(items, 0.2, 1) == split_fold(items, 0.2, 1) and len(split_fold(items, 0.2, 1)[1]) == 2
    with pytest.raises(ConfigError, match="teacher must be"):
        PolyphoneTrainConfig(teacher="pypinyin")


def test_cli_trains_a_head_that_loads_and_is_used(api, model_dir, tmp_path):
    import shutil

    import pinhan
    from pinhan.cli import main

    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text("\n".join(json.dumps(it, ensure_ascii=False) for it in _items(api)) + "\n", encoding="utf-8")
    heldout = tmp_path / "heldout.txt"
    heldout.write_text("", encoding="utf-8")
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    args = ["polyphone", "--model", str(model), "--json", str(tmp_path / "r.json"), f"labelled=[{labelled}]",
            "teacher=null", "corpus_sentences=0", "dev_fraction=0.25", "skip_fixed=false", "epochs=30", "lr=0.05", f"heldout={heldout}"]
    assert main(args) == 0
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["train_items"] == 18 and report["dev_items"] == 6 and report["epochs"][-1] == 1.0
    loaded = pinhan.load(model, config=api.config.__class__(g2p_phrases=False))
    assert loaded.bundle.polyphone is not None
    for item in _items(api, 3):
        assert loaded.g2p(item["sentence"]).pinyin[item["index"]] == item["pinyin"]


def test_positions_a_phrase_fixes_are_not_trained_on(api, model_dir, tmp_path):
    from pinhan.train.polyphone import Examples, collect
    from collections import Counter

    g2p = api.g2p_engine
    texts = ["长城很长"]  # 长城 is a phrase: its 长 is fixed; the last 长 is open
    config = PolyphoneTrainConfig(teacher=None)
    got = collect(g2p, texts, [(0, "chang2")], None, config, Counter())
    assert isinstance(got, Examples) and got.chars == []
    got = collect(g2p, texts, [(3, "chang2")], None, config, Counter())
    assert got.labels == ["chang2"] and got.weights == [1.0]
