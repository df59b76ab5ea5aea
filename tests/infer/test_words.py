"""Conversion over the word lattice end to end: ``pinhan lm --kind words`` writes the word model
into a model directory, and ``pinhan.load`` converts with it (pinhan.infer.tasks.words)."""

from __future__ import annotations

import shutil

import pytest

import pinhan
from pinhan.cli import main
from pinhan.errors import ConfigError
from pinhan.data.model_dir import ModelDir
from pinhan.infer.config import InferenceConfig
from pinhan.infer.tasks.words import typed_letters
from pinhan.lm.ngram import WordNgram


@pytest.fixture(scope="module")
def word_model(model_dir, prepared_tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("words") / "model"
    shutil.copytree(model_dir, out)
    assert main(["lm", "--model", str(out), "--data", str(prepared_tiny), "--kind", "words", "--no-dictionary",
                 "--word-min-count", "1", "--word-weights", "0", "0.5", "--dev-items", "10"]) == 0
    return out


def test_pinhan_lm_writes_the_word_model_with_weights_chosen_on_dev(word_model, capsys):
    directory = ModelDir(word_model)
    assert directory.has_words() and not directory.has_ngram()  # --kind words: no character n-gram
    info = WordNgram.load(directory.word_ngram).info
    assert info["model_weight"] in (0.0, 0.5) and info["head_weight"] in (0.0, 0.5)
    assert sorted(info["dev_tables"]) == ["accurate", "fast"] and len(info["dev_tables"]["fast"]) == 2


def test_pinhan_lm_chooses_the_weights_again_without_touching_the_model(word_model, prepared_tiny, tmp_path, capsys):
    out = tmp_path / "model"
    shutil.copytree(word_model, out)
    path = ModelDir(out).word_ngram
    before = WordNgram.load(path)
    dev = tmp_path / "dev.jsonl"
    dev.write_text('{"hanzi": "银行行长", "pinyin": ["yin2", "hang2", "hang2", "zhang3"]}\n', encoding="utf-8")
    assert main(["lm", "--model", str(out), "--data", str(prepared_tiny), "--kind", "weights",
                 "--word-weights", "0.125", "3", "--dev", str(dev)]) == 0
    assert "1 clauses of" in capsys.readouterr().out
    after = WordNgram.load(path)
    assert after.info["model_weight"] in (0.125, 3.0) and after.info["head_weight"] in (0.125, 3.0)
    assert [row["weight"] for row in after.info["dev_tables"]["accurate"]] == [0.125, 3.0]
    assert {k: v for k, v in after.info.items() if k not in ("model_weight", "head_weight", "dev_tables")} == \
        {k: v for k, v in before.info.items() if k not in ("model_weight", "head_weight", "dev_tables")}
    for k in range(before.order):  # the n-gram itself, 8-bit log-probabilities included, as it was
        assert (after.keys[k] == before.keys[k]).all() and (after.logp[k] == before.logp[k]).all()
    assert not list(out.glob("*.tmp"))
    empty = tmp_path / "empty"
    shutil.copytree(word_model, empty)
    path_empty = ModelDir(empty).word_ngram
    path_empty.unlink()
    for model, flags, message in ((empty, ["--word-weights", "0", "1"], "has no word model"),
                                  (out, ["--word-weights", "1"], "at least two")):
        assert main(["lm", "--model", str(model), "--data", str(prepared_tiny), "--kind", "weights", *flags]) == 2
        err = capsys.readouterr().err
        assert err.startswith("pinhan lm: error:") and message in err and "Traceback" not in err, err


def test_conversion_goes_through_the_lattice_and_offers_words_then_characters(word_model):
    model = pinhan.load(word_model)
    assert model.converter.by_lattice is not None
    for mode in ("accurate", "fast"):
        candidates = model.convert("yinhanghangzhangshuo", k=8, mode=mode)
        assert candidates[0].text == "银行行长说" and candidates[0].consumed == len("yinhanghangzhangshuo")
        assert candidates[0].pinyin == ("yin2", "hang2", "hang2", "zhang3", "shuo1")
        texts = [c.text for c in candidates]
        assert len(texts) == len(set(texts))
        prefixes = [c for c in candidates if c.kind == "prefix"]
        assert prefixes and prefixes[0].text == "银行行长" and prefixes[0].consumed == len("yinhanghangzhang")
    assert model.convert("yhhz", k=3)[0].text == "银行行长"  # initials


def test_other_input_and_settings_fall_back_to_the_character_decoder(word_model):
    model = pinhan.load(word_model)
    plain = pinhan.load(word_model, config=InferenceConfig(words=False))
    assert plain.converter.by_lattice is None
    for text in ("yin2hang2", "yinhang,", "zhongguo"):
        assert typed_letters(text) is None or text == "zhongguo"
    # tone digits and punctuation are not letters only: both models answer alike
    for text in ("yin2hang2", "yinhang,"):
        assert [c.text for c in model.convert(text, k=3)] == [c.text for c in plain.convert(text, k=3)]
    assert [c.text for c in model.convert("zongguo", k=3, fuzzy=["z-zh"])] == \
        [c.text for c in plain.convert("zongguo", k=3, fuzzy=["z-zh"])]


def test_typed_letters_keep_offsets_and_apostrophes():
    typed = typed_letters("Xi'An")
    assert typed.letters == "xian" and typed.boundaries == frozenset({2}) and typed.ends == (1, 2, 4, 5)
    assert typed_letters("lüe").letters == "lve" and typed_letters("'") is None and typed_letters("ni3") is None


def test_batched_rescoring_equals_scoring_each_path_alone(word_model):
    """Paths of one length share an encoder batch and a decoder run; the scores must not depend on it."""
    model = pinhan.load(word_model, config=InferenceConfig(word_model_weight=1.0, word_head_weight=1.0, word_head_rows=0))
    words = model.converter.by_lattice
    typed = typed_letters("yinhanghangzhangshuo")
    paths = words.lattice.nbest(typed.letters, 8)
    assert len({words._keys(p) for p in paths}) > 1  # several segmentations in one batch
    for mode in ("accurate", "fast"):
        together = words._model_scores(paths, "我们", mode)
        alone = {k: v for p in paths for k, v in words._model_scores([p], "我们", mode).items()}
        assert together.keys() == alone.keys() and len(together) == len(paths)
        assert all(abs(together[k] - alone[k]) < 1e-3 for k in together)
    weighted = model.convert("yinhanghangzhangshuo", k=4, prefixes=False)
    lattice_only = pinhan.load(word_model, config=InferenceConfig(word_model_weight=0.0)).convert(
        "yinhanghangzhangshuo", k=4, prefixes=False)
    assert [c.score for c in weighted] != [c.score for c in lattice_only]  # the decoder's logits were added


def test_the_model_reads_only_as_many_paths_as_told_and_unread_ones_rank_after(word_model):
    """Fast mode encodes the best paths' segmentations up to word_head_rows; accurate mode decodes
    word_rescore paths. A path the model did not read never outranks one it did."""
    config = InferenceConfig(word_model_weight=1.0, word_head_weight=1.0, word_head_rows=1, word_rescore=2)
    model = pinhan.load(word_model, config=config)
    words = model.converter.by_lattice
    typed = typed_letters("yinhanghangzhangshuo")
    paths = words.lattice.nbest(typed.letters, 8)
    read = words._model_scores(paths, "我们", "fast")
    segmentations = {words._keys(p) for p in paths if id(p) in read}
    assert len(segmentations) == 1 and segmentations == {words._keys(paths[0])}
    for mode, limit in (("fast", None), ("accurate", 2)):
        whole = words._whole(typed, paths, "我们", mode)
        first: dict[str, object] = {}
        for p in paths:  # best first: the first path of each text, as _whole takes them
            first.setdefault(words.lattice.text(p, typed.letters), p)
        unique = list(first.values())
        scored = words._model_scores(unique[:limit] if limit else unique, "我们", mode)
        texts_read = {words.lattice.text(p, typed.letters) for p in paths if id(p) in scored}
        flags = [o.text not in texts_read for o in whole]
        assert flags == sorted(flags) and not flags[0]  # read ones first


def test_fast_mode_reads_every_segmentation_of_input_typed_as_initials(word_model):
    """word_abbreviated_head_rows (0: all) bounds the encoder rows for initials instead of
    word_head_rows: paths whose initials were read differently (a typed z as zh) are all scored."""
    config = dict(word_head_weight=1.0, word_head_rows=1, word_nbest=16, word_rescore=16)
    words = pinhan.load(word_model, config=InferenceConfig(**config)).converter.by_lattice
    typed = typed_letters("zgwh")
    paths = words.lattice.nbest(typed.letters, 16)
    keys = {words._keys(p) for p in paths}
    assert len(keys) > 1  # z read as z (在) and as zh (中): several encoder rows
    read_all = words._model_scores(paths, "", "fast", wide=True)
    assert len(read_all) == len(paths)
    assert len({words._keys(p) for p in paths if id(p) in words._model_scores(paths, "", "fast")}) == 1
    one = pinhan.load(word_model, config=InferenceConfig(**config, word_abbreviated_head_rows=1)).converter.by_lattice
    assert len({one._keys(p) for p in paths if id(p) in one._model_scores(paths, "", "fast", wide=True)}) == 1
    with pytest.raises(ConfigError, match="word_abbreviated_head_rows"):
        InferenceConfig(word_abbreviated_head_rows=1.5)


def test_fast_mode_reads_the_last_word_head_context_characters_of_the_context(word_model):
    """The encoder head reads only the context's last word_head_context characters (0: none);
    accurate mode reads all the model takes."""
    config = InferenceConfig(word_model_weight=1.0, word_head_weight=1.0, word_head_context=2)
    words = pinhan.load(word_model, config=config).converter.by_lattice
    paths = words.lattice.nbest(typed_letters("yinhanghangzhang").letters, 4)
    assert words._model_scores(paths, "他说我们的", "fast") == words._model_scores(paths, "们的", "fast")
    assert words._model_scores(paths, "他说我们的", "fast") != words._model_scores(paths, "我的", "fast")
    assert words._model_scores(paths, "他说我们的", "accurate") != words._model_scores(paths, "们的", "accurate")
    none = pinhan.load(word_model, config=InferenceConfig(word_model_weight=1.0, word_head_weight=1.0,
                                                         word_head_context=0)).converter.by_lattice
    assert none._model_scores(paths, "他说我们的", "fast") == none._model_scores(paths, "", "fast")
    with pytest.raises(ConfigError, match="word_head_context must be a whole number"):
        InferenceConfig(word_head_context=2.5)


def test_candidates_come_in_the_script_asked_for(word_model):
    """Simplified by default (a traditional form the decoder emits is folded into its simplified
    twin, no duplicates), traditional on request, untouched with "any"; bad names are refused."""
    from pinhan.errors import InputError
    from pinhan.infer.results import Candidate
    from pinhan.infer.script import in_script

    found = [Candidate("這", -1.0, ("zhe4",), 4, "whole"), Candidate("这", -2.0, ("zhe4",), 4, "whole"),
             Candidate("浙", -3.0, ("zhe4",), 4, "whole")]
    assert [c.text for c in in_script(found, "simplified")] == ["这", "浙"]
    assert [c.text for c in in_script(found, "any")] == ["這", "这", "浙"]
    assert [c.text for c in in_script(found, "traditional")] == ["這", "浙"]
    model = pinhan.load(word_model)
    simplified = model.convert("zhongguo", k=3)
    traditional = model.convert("zhongguo", k=3, script="traditional")
    assert simplified[0].text == "中国" and traditional[0].text == "中國"
    assert traditional[0].pinyin == simplified[0].pinyin
    with pytest.raises(InputError, match="script"):
        model.convert("zhongguo", script="klingon")


def test_warm_up_reads_the_lazy_parts_before_the_first_request(word_model):
    """warm_up builds the compiled search's arrays and reads g2p's phrase dictionary (a server
    calls it before it takes traffic); the model answers the same afterwards."""
    model = pinhan.load(word_model)
    cold = pinhan.load(word_model).convert("zhongguo", k=3)
    assert "arrays" not in model.converter.by_lattice.lattice.__dict__ and "phrases" not in model.bundle.__dict__
    model.warm_up()
    assert "arrays" in model.converter.by_lattice.lattice.__dict__ and "phrases" in model.bundle.__dict__
    assert [c.text for c in model.convert("zhongguo", k=3)] == [c.text for c in cold]


def test_pinhan_lm_counts_more_text_and_chooses_weights_on_the_dev_file_given(model_dir, prepared_tiny, prepared_other,
                                                                               tmp_path, capsys):
    out = tmp_path / "model"
    shutil.copytree(model_dir, out)
    dev = tmp_path / "dev.jsonl"
    dev.write_text('{"hanzi": "服务器", "pinyin": ["fu2", "wu4", "qi4"]}\n', encoding="utf-8")
    assert main(["lm", "--model", str(out), "--data", str(prepared_tiny), "--kind", "words", "--no-dictionary",
                 "--word-min-count", "1", "--word-weights", "0", "0.5", "--text", f"{prepared_other}=2", "--dev", str(dev)]) == 0
    shown = capsys.readouterr().out
    assert f"1 clauses of {dev}" in shown and f"segmented {prepared_other}: 6 train clauses counted (weight 2" in shown
    info = WordNgram.load(ModelDir(out).word_ngram).info
    assert info["counted"][str(prepared_other)] == {"weight": 2.0, "clauses": 6}
    assert pinhan.load(out).convert("fuwuqi", k=1)[0].text == "服务器"
    bad_dev = tmp_path / "bad.jsonl"
    bad_dev.write_text(dev.read_text(encoding="utf-8") + '{"hanzi": "服务器", "pinyin": ["fu2", "wu4"]}\n', encoding="utf-8")
    for flags, message in ((["--text", str(tmp_path / "nowhere")], "not a prepared data directory"),
                           (["--text", f"{prepared_other}=lots"], "the weight after = must be a number"),
                           (["--text", f"{prepared_other}=-1"], "must be a number in [0, 100]"),
                           (["--dev", str(tmp_path / "missing.jsonl")], "no such file"),
                           (["--dev", str(bad_dev)], f"{bad_dev}:2: 2 syllables for 3 hanzi"),
                           (["--frequencies", "nope"], "unknown frequency list")):
        assert main(["lm", "--model", str(out), "--data", str(prepared_tiny), "--kind", "words", "--no-dictionary",
                     "--word-weights", "0", "0.5", *flags]) == 2
        err = capsys.readouterr().err
        assert err.startswith("pinhan lm: error:") and message in err and "Traceback" not in err, err


def test_input_typed_as_initials_is_searched_with_the_wider_beam(word_model, monkeypatch):
    """word_abbreviated_beam for two or more abbreviated syllables; word_beam for full syllables
    and for a last syllable only begun (typing in progress)."""
    from pinhan.infer.search.lattice import WordLattice

    beams = []
    original = WordLattice.nbest

    def spy(self, letters, *args, beam=None, **kwargs):
        beams.append((letters, beam))
        return original(self, letters, *args, beam=beam, **kwargs)

    monkeypatch.setattr(WordLattice, "nbest", spy)
    model = pinhan.load(word_model, config=InferenceConfig(word_beam=3, word_abbreviated_beam=11))
    for typed in ("yinhanghangzhang", "yinhanghangzh", "yhhz"):
        model.convert(typed, k=5)
    assert beams == [("yinhanghangzhang", 3), ("yinhanghangzh", 3), ("yhhz", 11)]
    wide = pinhan.load(word_model, config=InferenceConfig(word_beam=1, word_abbreviated_beam=16))
    assert len([c for c in wide.convert("yhhz", k=10) if c.consumed == 4]) > 1  # more than one whole reading
    with pytest.raises(ConfigError, match="word_abbreviated_beam"):
        InferenceConfig(word_abbreviated_beam=0)


def test_the_homophone_chooser_rescores_the_read_paths_in_accurate_mode(word_model, prepared_tiny, tmp_path):
    from pinhan.lm.homophones import HomophoneModel
    from pinhan.train.homophones import HomophoneTrainConfig, train_homophones

    out = tmp_path / "model"
    shutil.copytree(word_model, out)
    chooser, _ = train_homophones(prepared_tiny, HomophoneTrainConfig(buckets=1024, dim=4, epochs=2, min_count=1),
                                  say=lambda line: None)
    chooser.save(ModelDir(out).homophones)  # stored weight 0: off
    without, off = pinhan.load(word_model), pinhan.load(out)
    strong = off.with_config(homophone_weight=1000.0)
    chooser = HomophoneModel.load(ModelDir(out).homophones)
    inputs = ["womenmingtianqubeijing", "tazaizhongguo", "changjiangshizhongguo", "shijian"]
    changed = 0
    for typed in inputs:
        plain = off.convert(typed, k=8, prefixes=False)
        assert [c.text for c in plain] == [c.text for c in without.convert(typed, k=8, prefixes=False)]
        scores = {c.text: chooser.scores("", [c.text], [c.pinyin])[0] for c in plain}
        top = strong.convert(typed, k=8, prefixes=False)[0].text
        assert scores[top] == pytest.approx(max(scores.values()))  # the chooser decides at this weight
        assert strong.convert(typed, k=8, prefixes=False, mode="fast")[0].text == off.convert(typed, k=8, prefixes=False, mode="fast")[0].text
        changed += top != plain[0].text
    assert changed
    with pytest.raises(ConfigError):
        InferenceConfig(homophone_weight=-1)


def test_a_damaged_homophone_file_is_named_and_fast_mode_never_reads_it(word_model, tmp_path):
    from pinhan.errors import DataError

    out = tmp_path / "model"
    shutil.copytree(word_model, out)
    ModelDir(out).homophones.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")  # cut short
    model = pinhan.load(out)
    assert model.convert("zhongguo", k=3, mode="fast")  # fast mode does not use the chooser
    assert model.with_config(homophone_weight=0).convert("zhongguo", k=3)  # nor does accurate mode turned off
    with pytest.raises(DataError, match="homophones.safetensors"):
        model.convert("zhongguo", k=3)


def test_a_path_the_chooser_cannot_read_gains_nothing(word_model, prepared_tiny, tmp_path, monkeypatch):
    from pinhan.train.homophones import HomophoneTrainConfig, train_homophones

    out = tmp_path / "model"
    shutil.copytree(word_model, out)
    chooser, _ = train_homophones(prepared_tiny, HomophoneTrainConfig(buckets=1024, dim=4, epochs=2, min_count=1),
                                  say=lambda line: None)
    chooser.info["weight"] = 0.5
    chooser.save(ModelDir(out).homophones)
    words = pinhan.load(out).converter.by_lattice
    from pinhan.infer.search.lattice import COPY

    paths = [p for p in words.lattice.nbest(typed_letters("shijian").letters, 8, frozenset(), True, beam=8)
             if COPY not in p.words]  # as conversion gives them: paths that copy letters are never read
    assert len(paths) >= 3
    read = words._homophone_scores(paths, "", None)
    assert set(read) == {id(p) for p in paths} and all(v <= 0 for v in read.values())
    assert min(read[id(p)] for p in paths[1:]) < 0  # shi has a set here (是 / 十 / 时): the others are read
    unreadable = paths[0]
    spelled = words._text
    monkeypatch.setattr(words, "_text", lambda p, view=None: spelled(p, view) + "儿" if p is unreadable else spelled(p, view))
    scores = words._homophone_scores(paths, "", None)
    assert scores[id(unreadable)] == min(scores[id(p)] for p in paths[1:])  # the lowest of the others, not 0
