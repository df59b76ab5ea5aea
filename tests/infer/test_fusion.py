"""Shallow fusion with the model directory's character n-gram, and `pinhan lm` that builds it."""

import json
import shutil

import numpy as np
import pytest

import pinhan
from pinhan.cli import main
from pinhan.infer.config import InferenceConfig
from pinhan.lm.build import train_ids
from pinhan.data.model_dir import ModelDir
from pinhan.lm.ngram import CharNgram
from pinhan.model.io import CheckpointError


@pytest.fixture(scope="module")
def lm(prepared_tiny, api):
    return CharNgram.build(train_ids(prepared_tiny, api.vocab), len(api.vocab.chars), order=4)


@pytest.fixture
def model_copy(model_dir, tmp_path):
    out = tmp_path / "model"
    shutil.copytree(model_dir, out)
    return out


def test_a_heavy_ngram_weight_makes_the_untrained_model_write_corpus_text(api, lm):
    converter = api.converter
    plain = converter.top1_batch(["yinhanghangzhang"], abbreviations=False)[0]
    converter.lm, converter.lm_weight = lm, 50.0
    try:
        fused = converter.convert_batch(["yinhanghangzhang"], k=4, prefixes=False, abbreviations=False)[0]
    finally:
        converter.lm, converter.lm_weight = None, 0.0
    assert fused[0].text == "银行行长" != plain  # random weights alone do not find it
    for cand in fused:  # fusion reorders; the keystrokes still bind every hanzi (copied letters aside)
        assert all(syl in api.lexicon.readings()[ch] for ch, syl in zip(cand.text, cand.pinyin) if not ch.isascii())


def test_fast_mode_searches_the_encoder_head_with_the_ngram(api, lm):
    converter = api.converter
    plain = converter.top1_batch(["yinyuehui"], abbreviations=False, mode="fast")[0]
    converter.lm, converter.fast_lm_weight = lm, 50.0
    try:
        fused = converter.convert_batch(["yinyuehui", "nihao"], k=4, abbreviations=False, mode="fast")
    finally:
        converter.lm, converter.fast_lm_weight = None, 0.0
    assert fused[0][0].text == "音乐会" != plain  # the head alone reads yue as 说
    assert len({c.text for c in fused[0]}) == len(fused[0]) >= 2  # distinct candidates
    assert [c.consumed for c in fused[0] if c.kind != "whole"]  # prefixes from the search's trace
    assert fused[1] and fused[1][0].text


def test_continuation_with_the_ngram_follows_the_corpus(api, lm):
    generator = api.generator
    plain = generator.generate_batch(["我们明天去北"], max_new_tokens=1)[0][0].text
    generator.lm, generator.lm_weight = lm, 50.0
    try:
        greedy = generator.generate_batch(["我们明天去北", "音乐会在晚"], max_new_tokens=2)
        beams = generator.generate_batch(["我们明天去北"], max_new_tokens=2, num_beams=3)[0]
    finally:
        generator.lm, generator.lm_weight = None, 0.0
    assert greedy[0][0].text[0] == "京" != plain  # random weights alone do not say it
    assert greedy[1][0].text == "上八"
    assert beams[0].text[0] == "京" and len(beams) == 3


def test_pinhan_lm_writes_the_ngram_and_load_uses_its_weight(model_copy, prepared_tiny, capsys):
    assert main(["lm", "--model", str(model_copy), "--data", str(prepared_tiny), "--kind", "chars", "--min-count", "1",
                 "--weights", "0", "2", "--dev-items", "20"]) == 0
    out = capsys.readouterr().out
    assert "| fusion weight | dev char %" in out and (model_copy / ModelDir.NGRAM).is_file()
    stored = CharNgram.load(model_copy / ModelDir.NGRAM)
    assert "accurate mode" in out and "fast mode" in out and "continuation" in out
    weights = stored.info["fusion_weight"], stored.info["fast_fusion_weight"]
    assert set(weights) | {stored.info["gen_fusion_weight"]} <= {0.0, 2.0}
    assert [len(t) for t in stored.info["dev_tables"].values()] == [2, 2, 2]
    model = pinhan.load(model_copy)
    assert (model.converter.lm_weight, model.converter.fast_lm_weight) == weights
    assert (model.lm is not None) == (max(weights) > 0)
    off = pinhan.load(model_copy, config=InferenceConfig(lm_weight=0, fast_lm_weight=0, gen_lm_weight=0))
    assert off.lm is None and off.converter.lm is None
    forced = pinhan.load(model_copy, config=InferenceConfig(lm_weight=3.0))
    assert forced.converter.lm_weight == 3.0 and forced.convert("nihao", k=1)


def test_an_ngram_of_another_vocabulary_is_refused(model_copy, api):
    CharNgram.build([np.arange(5, 9)], vocab_size=len(api.vocab.chars) + 7, order=2).save(model_copy / ModelDir.NGRAM)
    with pytest.raises(CheckpointError, match="rebuild it with pinhan lm"):
        pinhan.load(model_copy)
    assert main(["convert", "--model", str(model_copy), "nihao"]) == 2  # the CLI says so, no traceback


def test_context_is_capped_at_what_the_model_was_trained_with(model_copy):
    config = json.loads((model_copy / "config.json").read_text())
    config["recipe"] = {**(config.get("recipe") or {}), "examples": {"max_context": 8}}
    (model_copy / "config.json").write_text(json.dumps(config))
    assert pinhan.load(model_copy).config.max_context == 8
    assert pinhan.load(model_copy, config=InferenceConfig(max_context=4)).config.max_context == 4


def test_fast_search_of_a_batch_equals_one_input_at_a_time(api, lm):
    converter = api.converter
    inputs = [("yinyuehui", ""), ("nihao", "我们"), ("zhongguorenminyinhang", ""), ("ni", ""), ("xuexizhongwen", "他")]
    converter.lm, converter.fast_lm_weight = lm, 2.0
    try:
        together = converter.convert_batch(inputs, k=6, mode="fast")
        alone = [converter.convert_batch([x], k=6, mode="fast")[0] for x in inputs]
    finally:
        converter.lm, converter.fast_lm_weight = None, 0.0
    for a, b in zip(together, alone):
        assert [(c.text, c.consumed, c.kind) for c in a] == [(c.text, c.consumed, c.kind) for c in b]
        assert [c.score for c in a] == pytest.approx([c.score for c in b], abs=1e-4)
