"""g2p with a polyphone head: the head decides the open polyphones it was trained on, the
frequency backoff the others, phrases fix what they cover."""
import shutil

import numpy as np
import pytest
import torch

import pinhan
from pinhan.model.polyphone import PolyphoneConfig, PolyphoneHead


def _head_preferring(vocab, readings, char, syllable, d_model, path, window=0, memory=None):
    """A head whose pair bias makes ``char`` read ``syllable`` whatever the context."""
    pairs = [(vocab.char_id(char), int(s)) for s in readings[char]]
    head = PolyphoneHead(PolyphoneConfig(d_model, len(vocab.chars), len(vocab.syllables), len(pairs), dim=4, pair_dim=2,
                                         window=window), np.array(pairs))
    with torch.no_grad():
        head.proj.weight.zero_()
        head.pair_proj.weight.zero_()
        head.pair_bias.weight[[k for k, (_, s) in enumerate(pairs) if vocab.syllables[s] == syllable][0]] = 5.0
    head.save(path, memory=memory)


@pytest.fixture(scope="module")
def with_head(model_dir, api, tmp_path_factory):
    out = tmp_path_factory.mktemp("head") / "model"
    shutil.copytree(model_dir, out)
    readings = api.bundle.readings
    poly = [ch for ch, r in readings.items() if len(r) > 1]
    assert "长" in poly
    rare = [api.vocab.syllables[s] for s in readings["长"]][-1]  # not the most frequent reading
    _head_preferring(api.vocab, readings, "长", rare, api.runner.model.config.d_model, out / "polyphone.safetensors")
    return out, rare


def test_the_head_decides_what_it_was_trained_on(with_head, api):
    path, rare = with_head
    model = pinhan.load(path, config=api.config.__class__(g2p_phrases=False))
    assert model.bundle.polyphone is not None
    text = "长城很长"
    got = model.g2p(text).pinyin
    assert got[0] == rare and got[3] == rare
    others = [i for i, ch in enumerate(text) if ch != "长"]
    first = {ch: api.vocab.syllables[api.bundle.readings[ch][0]] for ch in text}
    assert [got[i] for i in others] == [first[text[i]] for i in others]  # frequency backoff elsewhere


def test_a_head_reading_the_neighbours_decides_too(model_dir, api, tmp_path):
    """A window-1 head reads three encoder states a position; whatever it is told to prefer wins,
    at the first and last character of a run as inside it."""
    path = tmp_path / "model"
    shutil.copytree(model_dir, path)
    readings = api.bundle.readings
    rare = [api.vocab.syllables[s] for s in readings["长"]][-1]
    _head_preferring(api.vocab, readings, "长", rare, api.runner.model.config.d_model, path / "polyphone.safetensors", window=1)
    model = pinhan.load(path, config=api.config.__class__(g2p_phrases=False))
    assert model.bundle.polyphone.config.window == 1
    assert model.bundle.polyphone.config.input_dim == 3 * api.runner.model.config.d_model
    got = model.g2p("长城很长").pinyin
    assert got[0] == rare and got[3] == rare


def test_phrases_win_over_the_head_and_the_head_can_be_turned_off(with_head, api):
    path, rare = with_head
    model = pinhan.load(path)
    fixed = model.bundle.phrases.fixed("长城")
    assert fixed[0] is not None and model.g2p("长城").pinyin[0] == fixed[0]
    off = pinhan.load(path, config=api.config.__class__(g2p_phrases=False, g2p_head=False))
    assert off.g2p("长城很长").pinyin == api.with_config(g2p_phrases=False).g2p("长城很长").pinyin  # the decoder, as without a head


def test_encoder_states_are_what_the_head_reads(api):
    from pinhan.infer.inputs import encode_h2p

    engine = api.g2p_engine
    text = "我们，长城很长"
    states = engine.encoder_states([text], [[3, 6]])[0]  # (2, d)
    run = engine._runs(0, text)[1]
    enc = encode_h2p([run.chars], [text[: run.start]], engine.contexts)
    memory = api.runner.encode(enc).memory[0].numpy()
    width = len(engine.contexts(text[: run.start])[0])
    np.testing.assert_allclose(states, memory[[width, width + 3]], atol=1e-5)
    with pytest.raises(pinhan.errors.InputError, match="not readable hanzi"):
        engine.encoder_states([text], [[2]])  # the comma
    # with one neighbour each side: own state, then the left and the right one; zeros past the run
    d = memory.shape[-1]
    wide = engine.encoder_states([text], [[3, 6]], window=1)[0]  # (2, 3d)
    assert wide.shape == (2, 3 * d)
    np.testing.assert_allclose(wide[:, :d], states, atol=1e-5)
    np.testing.assert_allclose(wide[0, d:], np.concatenate([np.zeros(d), memory[width + 1]]), atol=1e-5)  # 长 opens the run
    np.testing.assert_allclose(wide[1, d:], np.concatenate([memory[width + 2], np.zeros(d)]), atol=1e-5)  # the last 长 ends it


def test_cc_cedict_tips_the_head(model_dir, api, tmp_path):
    path = tmp_path / "model"
    shutil.copytree(model_dir, path)
    cedict = api.bundle.second_phrases.fixed("长城")[0]
    other = [api.vocab.syllables[s] for s in api.bundle.readings["长"] if api.vocab.syllables[s] != cedict][0]
    _head_preferring(api.vocab, api.bundle.readings, "长", other, api.runner.model.config.d_model, path / "polyphone.safetensors")
    Config = api.config.__class__
    assert pinhan.load(path, config=Config(g2p_phrases=False, g2p_dictionary_weight=0)).g2p("长城").pinyin[0] == other
    assert pinhan.load(path, config=Config(g2p_phrases=False, g2p_dictionary_weight=100)).g2p("长城").pinyin[0] == cedict


def test_a_settled_polyphone_takes_its_reading_without_the_head(model_dir, api, tmp_path):
    """A character whose other readings never occur in train keeps its reading even where the
    head would pick another; with g2p_settled_share above 1 the head decides it again."""
    shares = api.bundle.lexicon.top_shares(min_count=1)  # the tiny corpus sees no character 1,000 times
    readings = api.bundle.readings
    settled = sorted(ch for ch, r in readings.items() if len(r) > 1 and shares.get(ch) == 1.0 and ch in api.vocab.char_to_id)
    assert settled, "the tiny lexicon has polyphones whose other readings never occur"
    ch = settled[0]
    top, rare = api.vocab.syllables[readings[ch][0]], api.vocab.syllables[readings[ch][-1]]
    path = tmp_path / "model"
    shutil.copytree(model_dir, path)
    _head_preferring(api.vocab, readings, ch, rare, api.runner.model.config.d_model, path / "polyphone.safetensors")
    Config = api.config.__class__
    assert pinhan.load(path, config=Config(g2p_phrases=False, g2p_settled_count=1)).g2p(ch).readings == (top,)
    assert pinhan.load(path, config=Config(g2p_phrases=False, g2p_settled_count=1, g2p_settled_share=2.0)).g2p(ch).readings == (rare,)
    # seen fewer times than g2p_settled_count: no evidence, the head decides
    assert pinhan.load(path, config=Config(g2p_phrases=False)).g2p(ch).readings == (rare,)


def test_runs_are_encoded_in_groups_of_similar_length():
    from pinhan.infer.tasks.g2p import PADDING_PER_CALL, _length_groups

    top = PADDING_PER_CALL + 40
    lengths = {0: top, 1: 8, 2: top - 2, 3: 5, 4: top - PADDING_PER_CALL}
    groups = _length_groups(list(lengths), lengths)
    assert sorted(k for g in groups for k in g) == [0, 1, 2, 3, 4]  # every run once
    assert groups == [[0, 2, 4], [1, 3]]  # longest first; 8 and 5 are not padded to the longest


def test_the_head_decides_where_the_two_phrase_dictionaries_disagree(model_dir, api, tmp_path):
    """pypinyin reads 上行 in 鹰潭上行至湖沿 as shang4 hang2 (a train going up the line), CC-CEDICT as
    shang4 xing2: 行 is left to the head, 上 (both agree) stays fixed; without the agreement rule
    pypinyin's hang2 stands."""
    text, at = "鹰潭上行至湖沿", 3
    assert api.g2p_engine.fixed_readings(text) == [None, None, "shang4", None, None, None, None]
    off = api.with_config(g2p_phrase_agreement=False)
    assert off.g2p_engine.fixed_readings(text) == [None, None, "shang4", "hang2", None, None, None]
    path = tmp_path / "model"
    shutil.copytree(model_dir, path)
    readings = api.bundle.readings
    other = next(api.vocab.syllables[s] for s in readings["行"] if api.vocab.syllables[s] not in ("hang2", "xing2"))
    _head_preferring(api.vocab, readings, "行", other, api.runner.model.config.d_model, path / "polyphone.safetensors")
    assert pinhan.load(path).g2p(text).readings[at] == other
    assert pinhan.load(path, config=off.config).g2p(text).readings[at] == "hang2"


def test_the_memory_of_labelled_neighbours_wins_over_phrases_and_the_head(model_dir, api, tmp_path):
    """Labelled examples that read 长 before 城 otherwise than both phrase dictionaries do (twice,
    always the same) give it that reading, where the phrase would win over the head; the memory is
    off with g2p_memory false, and without the head."""
    from pinhan.model.reading_memory import ReadingMemory

    vocab, readings = api.vocab, api.bundle.readings
    text = "长城很长"
    phrase = api.g2p_engine.fixed_readings(text)[0]
    assert phrase is not None
    labelled = next(vocab.syllables[s] for s in readings["长"] if vocab.syllables[s] != phrase)
    memory = ReadingMemory.build([(vocab.char_id("长"), vocab.syllable_to_id[labelled], None, vocab.char_id("城"))] * 2,
                                 min_count=2)
    path = tmp_path / "model"
    shutil.copytree(model_dir, path)
    _head_preferring(vocab, readings, "长", labelled, api.runner.model.config.d_model, path / "polyphone.safetensors",
                     memory=memory)
    model = pinhan.load(path)
    assert len(model.bundle.polyphone.memory) == 1
    got = model.g2p(text).readings
    assert got[0] == labelled and got[3] == labelled  # 很长: no remembered neighbour, the head's reading
    Config = api.config.__class__
    assert pinhan.load(path, config=Config(g2p_memory=False)).g2p(text).readings[0] == phrase
    assert pinhan.load(path, config=Config(g2p_phrases=False)).g2p(text).readings[0] == labelled  # without phrases too
    no_head = pinhan.load(path, config=Config(g2p_head=False))
    assert no_head.g2p_engine.fixed_readings(text)[0] == phrase  # training's view: never the memory
