import pytest

from pinhan.infer.convert import Converter
from pinhan.infer.inputs import path_keys
from pinhan.pinyin import parse


@pytest.fixture(scope="module")
def converter(untrained):
    vocab, lexicon, model = untrained
    return Converter(model, vocab, lexicon)


def test_path_keys(converter):
    vocab = converter.vocab
    keys = path_keys(vocab, parse("zhong1guo")[0])
    assert [vocab.initials[i] + vocab.finals[f] for i, f, _ in keys] == ["zhong", "guo"]
    assert vocab.tones[keys[0][2]] == "1" and keys[1][2] == 1  # toned, then toneless (UNKNOWN)
    abbreviated = path_keys(vocab, parse("zhongg")[0])
    assert vocab.initials[abbreviated[1][0]] == "g" and abbreviated[1][1] == 1
    assert path_keys(vocab, parse("ni3hao 123")[0]) is None  # pass-through needs the full converter


def test_convert_batch(converter):
    readings = converter.lexicon.readings()
    out = converter.convert_batch([("nihao", ""), ("zhongguo", "银行"), ("123", ""), ("xian", "")])
    assert len(out[0]) == 2 and len(out[1]) == 2 and out[2] == ""
    for text, typed in ((out[0], ["ni", "hao"]), (out[1], ["zhong", "guo"])):
        for ch, syllable in zip(text, typed):
            assert syllable in {r.rstrip("12345") for r in readings[ch]}
    assert len(out[3]) in (1, 2)  # xian or xi'an, whichever reading scores higher
    assert converter.convert_batch([("nihao", "")]) == out[:1]  # deterministic, batch-independent
