import json

import numpy as np
import pytest
import torch

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
    with pytest.raises(ConfigError, match="memory_min_count must be a whole number"):
        PolyphoneTrainConfig(memory_min_count=-1)
    with pytest.raises(ConfigError, match="encoder_layers must be a whole number"):
        PolyphoneTrainConfig(encoder_layers=-1)


def _cli_setup(api, model_dir, tmp_path, epochs: int):
    """A copy of the tiny model and ``pinhan polyphone`` arguments that train a head on :func:`_items`
    (no teacher, a quarter of the items as the dev fold), the report written to ``r.json``."""
    import shutil

    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text("\n".join(json.dumps(it, ensure_ascii=False) for it in _items(api)) + "\n", encoding="utf-8")
    heldout = tmp_path / "heldout.txt"
    heldout.write_text("", encoding="utf-8")
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    args = ["polyphone", "--model", str(model), "--json", str(tmp_path / "r.json"), f"labelled=[{labelled}]",
            "teacher=null", "corpus_sentences=0", "dev_fraction=0.25", "skip_fixed=false", f"epochs={epochs}", "lr=0.05",
            f"heldout={heldout}"]
    return model, args


def test_cli_trains_a_head_that_loads_and_is_used(api, model_dir, tmp_path):
    import pinhan
    from pinhan.cli import main

    model, args = _cli_setup(api, model_dir, tmp_path, epochs=30)
    assert main(args) == 0
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["train_items"] == 18 and report["dev_items"] == 6 and report["epochs"][-1] == 1.0
    loaded = pinhan.load(model, config=api.config.__class__(g2p_phrases=False))
    assert loaded.bundle.polyphone is not None
    assert loaded.bundle.polyphone.config.layers == 1  # the recipe's depth: the first of the tiny model's two layers
    for item in _items(api, 3):
        assert loaded.g2p(item["sentence"]).pinyin[item["index"]] == item["pinyin"]
    # the train items' neighbours of 长 that make a word with it (城 after it, 行 before, 江 after;
    # not 说 after 行长) each held 6 times
    assert report["memory_entries"] == 3 and len(loaded.bundle.polyphone.memory) == 3
    chars = [api.vocab.char_id(ch) for ch in "行长说"]
    assert api.vocab.syllables[loaded.bundle.polyphone.memory.vote(chars, 1)] == _items(api, 2)[1]["pinyin"]
    assert main(args + ["memory_min_count=0", "epochs=1"]) == 0
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["memory_entries"] == 0
    assert pinhan.load(model).bundle.polyphone.memory is None
    # --memory-only gives the head its memory back and leaves its weights as they are
    from safetensors.numpy import load_file

    before = load_file(str(model / "polyphone.safetensors"))
    assert main(args + ["--memory-only"]) == 0
    after = load_file(str(model / "polyphone.safetensors"))
    assert all((after[k] == v).all() for k, v in before.items()) and len(after) == len(before) + 3
    head = pinhan.load(model).bundle.polyphone
    assert len(head.memory) == 3 and head.recipe["memory_entries"] == 3 and head.recipe["train_items"] == 18  # the training recipe stays


def test_members_train_from_their_own_seeds_and_ship_as_one_head(api, model_dir, tmp_path, capsys):
    import pinhan
    from pinhan.cli import main

    model, args = _cli_setup(api, model_dir, tmp_path, epochs=3)
    args += ["dim=8", "pair_dim=4", "members=3"]
    assert main(args) == 0
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    curves = report["member_epochs"]
    assert len(curves) == 3 and all(len(c) == 3 for c in curves) and report["epochs"] == curves[0]
    assert 0 <= report["dev_accuracy"] <= 1
    head = pinhan.load(model).bundle.polyphone
    assert (head.config.dim, head.config.pair_dim) == (24, 12)  # three heads side by side
    loaded = pinhan.load(model, config=api.config.__class__(g2p_phrases=False))
    assert loaded.g2p("长城很长").pinyin[0] in {api.vocab.syllables[s] for s in api.bundle.readings["长"]}
    assert main(args[:-1] + ["members=0"]) != 0  # a config error, named before any work
    assert "members must be at least 1" in capsys.readouterr().err


def test_a_head_reads_the_encoder_depth_it_is_trained_on(api, model_dir, tmp_path):
    """Training reads the states after the first ``encoder_layers`` layers; a depth the model
    does not have is named before any work."""
    from collections import Counter

    from pinhan.infer.inputs import encode_h2p
    from pinhan.train import polyphone

    g2p, text = api.g2p_engine, "我们很长"
    got = polyphone.collect(g2p, [text], [(3, "chang2")], None, PolyphoneTrainConfig(teacher=None, window=0, encoder_layers=1),
                            Counter())
    batch = encode_h2p([np.array([api.vocab.char_id(c) for c in text])], [""], g2p.contexts)
    with torch.no_grad():
        want = api.runner.model.encode({k: torch.from_numpy(v) for k, v in batch.items()}, layers=1).memory[0, 3].numpy()
    np.testing.assert_allclose(got.states[0].astype(np.float32), want, atol=2e-2)  # stored as float16
    assert not np.allclose(api.runner.encode(batch).memory[0, 3].numpy(), want, atol=1e-2)
    with pytest.raises(ConfigError, match="encoder_layers is 3; the model has 2 encoder layers"):
        polyphone.train_polyphone(str(model_dir), PolyphoneTrainConfig(teacher=None, encoder_layers=3), None, log=lambda s: None)


def test_memory_only_needs_a_head(model_dir, tmp_path, capsys):
    from pinhan.cli import main

    assert main(["polyphone", "--model", str(model_dir), "--out", str(tmp_path / "none.safetensors"), "--memory-only"]) != 0
    assert "none.safetensors: no polyphone head to give a memory" in capsys.readouterr().err


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


def test_sentences_are_mined_for_polyphones_short_of_the_cap(tmp_path):
    """Named corpora give the teacher sentences only while a wanted character is under the cap;
    held-out lines are dropped and counted, dev / test lines of the split rule never taken."""
    import gzip
    from collections import Counter

    from standins import MANPAGE, fake_fetched, heldout_list

    from pinhan.data.clean import Cleaner
    from pinhan.data.heldout import HeldoutRule
    from pinhan.data.prepare import hash_split
    from pinhan.train.polyphone import mine_sentences

    lines = [f"第{n}段：长城很长，行长在{n}号。" for n in "一二三四五六七八九十"] + ["只有别的字的一句话。", "国家博物馆的长廊里。"]
    page = MANPAGE + "".join(f".PP\n{line}\n" for line in lines)
    fake_fetched(tmp_path / "cache", "manpages", {"usr/share/man/zh_CN/man1/x.1.gz": gzip.compress(page.encode())})
    rule = HeldoutRule(heldout_list(tmp_path / "heldout.txt", "国家博物馆的长廊里"))
    have = Counter({"行": 5})  # 行 is full already: only 长 draws sentences
    taken, report = mine_sentences(["manpages"], str(tmp_path / "cache"), rule, lambda ch: ch in "长行", have, 4, 0)
    cleaned = [Cleaner()(line) for line in lines]  # as prepare cleans (full-width colon -> ':')
    train_lines = [line for line in cleaned[:10] if hash_split(line, 0.05, 0.05) == "train"]
    assert len(train_lines) >= 2  # the split rule keeps most lines in train
    assert all(any(s in line for line in train_lines) for s in taken) and all("长" in s for s in taken)
    assert have["长"] == 6 and have["行"] == 5 + 2  # 3 长 a sentence: the second reaches the cap of 4
    assert not any("廊" in s or "别的字" in s for s in taken)
    assert report["manpages"]["dropped_heldout"] == (hash_split(cleaned[-1], 0.05, 0.05) == "train")
    assert report["manpages"]["taken"] == len(taken) == 2
    with pytest.raises(ConfigError, match="corpus_sources must be"):
        PolyphoneTrainConfig(corpus_sources=["wikipedia"])


def test_mined_sources_fill_in_the_order_given(tmp_path):
    """The second source gives sentences only for what the first left short."""
    import gzip
    from collections import Counter

    from standins import HELP_PAGE, MANPAGE, fake_fetched, heldout_list

    from pinhan.data.clean import Cleaner
    from pinhan.data.heldout import HeldoutRule
    from pinhan.data.prepare import hash_split
    from pinhan.train.polyphone import mine_sentences

    pages = [f"第{n}段：长城很长的。" for n in "一二三四五六七八九十"]
    banks = [f"第{n}家银行开在长街的路口。" for n in "一二三四五六七八九十"]
    cache = tmp_path / "cache"
    fake_fetched(cache, "manpages", {"usr/share/man/zh_CN/man1/x.1.gz": gzip.compress(
        (MANPAGE + "".join(f".PP\n{line}\n" for line in pages)).encode())})
    help_html = HELP_PAGE.replace("</div><footer>", "".join(f"<p>{line}</p>" for line in banks) + "</div><footer>")
    fake_fetched(cache, "libreoffice-help", {"usr/share/libreoffice/help/zh-CN/text/shared/a.html": help_html})
    rule = HeldoutRule(heldout_list(tmp_path / "heldout.txt"))
    have = Counter()
    taken, report = mine_sentences(["manpages", "libreoffice-help"], str(cache), rule, lambda ch: ch in "长行", have, 4, 0)
    assert sum(hash_split(Cleaner()(line), 0.05, 0.05) == "train" for line in banks) >= 4
    # manpages: two sentences fill 长 (2 each); the help pages then fill 行 (1 each), 长 riding along
    assert report["manpages"]["taken"] == 2 and report["libreoffice-help"]["taken"] == 4
    assert have["长"] == 8 and have["行"] == 4 and all("银行" in s for s in taken[2:])


def test_an_unfetched_source_is_named_before_any_work(tmp_path, capsys):
    from pinhan.cli import main

    code = main(["polyphone", "--measure-only", "corpus_sources=[inews]", f"sources_cache={tmp_path}"])
    err = capsys.readouterr().err
    assert code != 0 and "source inews is not fetched" in err and "pinhan fetch inews" in err
    assert "Traceback" not in err


def test_mined_sentences_become_teacher_examples(api, model_dir, tmp_path, monkeypatch):
    """train_polyphone feeds mined sentences to the teacher: more weak examples, reported per source."""
    import gzip

    import pinhan.train.polyphone as polyphone
    from standins import MANPAGE, fake_fetched, heldout_list

    readings = [api.vocab.syllables[s] for s in api.bundle.readings["长"]]
    monkeypatch.setattr(polyphone, "teacher_labels",  # a stand-in teacher: 长 read chang2-like, the rest left
                        lambda name: lambda s: [readings[0] if ch == "长" else None for ch in s])
    lines = [f"第{n}段：那条河很长，路也很长。" for n in "一二三四五六七八九十"]
    fake_fetched(tmp_path / "cache", "manpages", {"usr/share/man/zh_CN/man1/x.1.gz": gzip.compress(
        (MANPAGE + "".join(f".PP\n{line}\n" for line in lines)).encode())})
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text("\n".join(json.dumps(it, ensure_ascii=False) for it in _items(api)) + "\n", encoding="utf-8")
    common = dict(labelled=[str(labelled)], heldout=str(heldout_list(tmp_path / "h.txt")), corpus_sentences=0,
                  dev_fraction=0.25, epochs=1, skip_fixed=False, sources_cache=str(tmp_path / "cache"))
    without = polyphone.train_polyphone(str(model_dir), PolyphoneTrainConfig(**common), None, log=lambda s: None)
    mined = polyphone.train_polyphone(str(model_dir), PolyphoneTrainConfig(corpus_sources=["manpages"], **common),
                                      None, log=lambda s: None)
    from pinhan.data.clean import Cleaner
    from pinhan.data.prepare import hash_split

    in_train = sum(hash_split(Cleaner()(line), 0.05, 0.05) == "train" for line in lines)
    assert in_train >= 5 and mined["corpus_sources"]["manpages"]["taken"] >= in_train
    assert mined["train_examples"] == without["train_examples"] + 2 * in_train  # each such line: two 长 the teacher reads


def test_the_memory_keeps_no_neighbour_whose_word_reads_the_character_otherwise():
    """相似的: 似 makes 相似 with its left neighbour and 似的 with its right; the label si4 is
    相似's, and both dictionaries read 似的 shi4, so 的 makes no key (it read 枪手似的 si4)."""
    from types import SimpleNamespace

    from pinhan.lm.phrases import PhraseReadings
    from pinhan.model.reading_memory import LEFT, RIGHT
    from pinhan.train.polyphone import reading_memory

    chars, syllables = "相似的像很这", ["si4", "shi4"]
    phrases = PhraseReadings({"相似": [["xiāng"], ["sì"]], "似的": [["shì"], ["de"]]})
    words = set(phrases.words())
    g2p = SimpleNamespace(
        vocab=SimpleNamespace(char_id=lambda ch: 5 + chars.index(ch), syllable_to_id={s: 5 + k for k, s in enumerate(syllables)}),
        bundle=SimpleNamespace(phrases=phrases, second_phrases=PhraseReadings({})), in_phrases=words.__contains__)
    me, like, de = g2p.vocab.char_id("似"), g2p.vocab.char_id("相"), g2p.vocab.char_id("的")

    def keys(sentences):
        items = [{"sentence": s, "index": s.index("似"), "char": "似", "pinyin": "si4"} for s in sentences]
        memory = reading_memory(g2p, items, 2)
        return {(int(c), int(side), int(n)): int(s) for (c, side, n), s in zip(memory.keys, memory.syllables)}

    assert keys(["很相似的", "这相似的"]) == {(me, LEFT, like): g2p.vocab.syllable_to_id["si4"]}
    # 似的 the only word beside it: the key stays, whatever the dictionaries say (CPP's labels rule)
    assert keys(["像似的", "很似的"]) == {(me, RIGHT, de): g2p.vocab.syllable_to_id["si4"]}
