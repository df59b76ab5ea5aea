from collections import Counter

import numpy as np
import pytest

from pinhan.data.clauses import OverlapFilter, clause_spans
from pinhan.data.shards import ShardedSplit, ShardWriter, char_dtype_for, write_manifest
from pinhan.data.vocab import PAD, SPECIALS, UNK, UNKNOWN, Lexicon, Vocab, build_lexicon, build_vocab, gb2312_hanzi
from pinhan.errors import DataError


def test_build_vocab_keeps_readable_hanzi_past_the_cap():
    counts = Counter({"的": 50, ",": 40, "a": 30, "b": 1, "龘": 1, "中": 5})
    vocab = build_vocab(counts, vocab_size=7, min_count=2, extra_charset="none")
    assert vocab.chars[:5] == list(SPECIALS)
    # hanzi always stay (龘 occurs once); the cap leaves no room for punctuation/Latin here
    assert set(vocab.chars[5:]) == {"的", "中", "龘"}
    vocab = build_vocab(counts, vocab_size=100, min_count=2, extra_charset="none")
    assert "," in vocab.chars and "a" in vocab.chars and "b" not in vocab.chars  # b under min_count
    assert vocab.char_id("b") == UNK and vocab.chars[vocab.char_id("的")] == "的"
    assert vocab.chars.index("的") < vocab.chars.index(",")  # by frequency


def test_gb2312_extra_charset():
    hanzi = gb2312_hanzi()
    assert len(hanzi) == 6763 and "中" in hanzi
    vocab = build_vocab(Counter({"中": 3}), vocab_size=100, min_count=1, extra_charset="gb2312")
    assert vocab.chars[5] == "中" and "鑫" in vocab.char_to_id and len(vocab.chars) > 6000


def test_vocab_factors_and_roundtrip(tmp_path):
    vocab = Vocab(chars=list(SPECIALS) + ["中"])
    i, f, t = vocab.factors("zhong1")
    assert (vocab.initials[i], vocab.finals[f], vocab.tones[t]) == ("zh", "ong", "1")
    assert vocab.factors("zhong")[2] == UNKNOWN
    assert vocab.factors(None) == (PAD, PAD, PAD)
    assert vocab.syllable_id(None) == PAD and vocab.syllable_id("xyz9") == UNK
    assert vocab.syllables[vocab.syllable_id("lv4")] == "lv4"
    vocab.save(tmp_path / "vocab.json")
    again = Vocab.load(tmp_path / "vocab.json")
    assert again.chars == vocab.chars and again.syllables == vocab.syllables
    import json

    saved = json.loads((tmp_path / "vocab.json").read_text(encoding="utf-8"))
    assert "zhong" in saved["toneless_syllables"] and "zhong1" in saved["syllables"]


@pytest.mark.parametrize("content, message", [
    ("{not json", "not a readable JSON"),
    ('{"format": "other"}', "not a pinhan-vocab"),
    ('{"format": "pinhan-vocab", "chars": ["a"]}', "missing or mangles"),
])
def test_vocab_load_errors(tmp_path, content, message):
    (tmp_path / "v.json").write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        Vocab.load(tmp_path / "v.json")
    with pytest.raises(DataError, match="file not found"):
        Vocab.load(tmp_path / "missing.json")


def test_lexicon_counts_and_dictionary_completion(tmp_path):
    vocab = Vocab(chars=list(SPECIALS) + ["行", "中"])
    lexicon = build_lexicon(Counter({("hang2", "行"): 3, ("xing2", "行"): 7, ("zhong1", "中"): 2}), vocab)
    assert lexicon.candidates("xing2") == ["行"]
    assert lexicon.entries["xing2"]["行"] == 7 and lexicon.entries["zhong4"]["中"] == 0  # from pypinyin
    assert lexicon.candidates("hang") == ["行"]  # toneless merges the tones
    assert lexicon.readings()["行"][:2] == ["xing2", "hang2"]
    lexicon.save(tmp_path / "lex.json")
    assert Lexicon.load(tmp_path / "lex.json").entries == lexicon.entries


def test_shards_roundtrip_and_rollover(tmp_path):
    writer = ShardWriter(tmp_path, "train", shard_tokens=10, char_dtype=char_dtype_for(100))
    docs = [(np.arange(n) + 5, np.arange(n) % 7) for n in (4, 5, 3, 12, 1)]
    for chars, syllables in docs:
        writer.add(chars, syllables)
    shards = writer.close()
    assert [s["tokens"] for s in shards] == [9, 3, 12, 1]  # a long document gets a shard of its own
    write_manifest(tmp_path, "<u2", {"train": shards})
    split = ShardedSplit(tmp_path, "train")
    assert len(split) == 5 and split.num_tokens == 25
    for i, (chars, syllables) in enumerate(docs):
        got_c, got_s = split.doc(i)
        assert got_c.tolist() == chars.tolist() and got_s.tolist() == syllables.tolist()
    with pytest.raises(IndexError):
        split.doc(5)
    with pytest.raises(DataError, match="no split 'dev'"):
        ShardedSplit(tmp_path, "dev")
    (tmp_path / "train-00001.tok").write_bytes(b"\0" * 3)
    with pytest.raises(DataError, match="train-00001.tok has 3 bytes"):
        ShardedSplit(tmp_path, "train")
    with pytest.raises(DataError, match="no shard manifest"):
        ShardedSplit(tmp_path / "nothing", "train")


def test_clause_spans():
    text = "我们去北京,看看长城吧。一二三"
    syllables = ["wo3"] * len(text)
    syllables[5] = None  # the comma
    assert [text[a:b] for a, b in clause_spans(text, syllables, 4, 32)] == ["我们去北京", "看看长城吧"]
    syllables[1] = None  # a hanzi without a reading spoils its clause
    assert [text[a:b] for a, b in clause_spans(text, syllables, 4, 32)] == ["看看长城吧"]
    assert list(clause_spans(text, ["x"] * len(text), 4, 4)) == []


def test_overlap_filter_finds_substrings():
    f = OverlapFilter(["北京天安门", "上海外滩", "广州塔很高"], key_len=4)
    f.scan("我爱北京天安门广场")
    f.scan("上海外")
    assert f.found == {"北京天安门"}
    f.scan("去上海外滩吧")
    assert f.found == {"北京天安门", "上海外滩"}


def test_lexicon_top_shares_count_train_readings_only():
    from pinhan.data.vocab import Lexicon

    lexicon = Lexicon({"nian2": {"年": 9}, "ning4": {"年": 0}, "wei4": {"为": 3}, "wei2": {"为": 1}, "zhi4": {"豸": 0}})
    assert lexicon.top_shares() == {"年": 1.0, "为": 0.75}  # 豸: never seen in train, no share
    assert lexicon.top_shares(min_count=5) == {"年": 1.0}
