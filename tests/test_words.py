"""The word lexicon and the word n-gram (pinhan.lm.words, pinhan.lm.ngram.WordNgram, pinhan.lm.word_build)."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from pinhan.errors import ConfigError, DataError
from pinhan.lm.ngram import CharNgram, WordNgram
from pinhan.lm.words import EOS, EOS_TEXT, WordLexicon, abbreviation, erhua_spelling, shorten


def lexicon() -> WordLexicon:
    words = [EOS_TEXT, "吃", "她", "中国", "西安", "先", "这个"]
    readings = [{}, {("chi1",): 10}, {("ta1",): 50, ("chi2",): 0}, {("zhong1", "guo2"): 7}, {("xi1", "an1"): 3},
                {("xian1",): 9}, {("zhe4", "ge4"): 20}]
    return WordLexicon(words, readings)


def test_words_are_found_by_spelling_most_read_first_and_a_dictionary_reading_comes_last():
    lex = lexicon()
    assert [lex.words[w] for w in lex.spelled["chi"]] == ["吃", "她"]  # 她 reads chi2 only in a dictionary
    assert [lex.words[w] for w in lex.spelled["xian"]] == ["先", "西安"]
    (_, seen), (_, unseen) = lex.reading_logp(lex.word_id["她"], "ta"), lex.reading_logp(lex.word_id["她"], "chi")
    assert seen > -0.1 and unseen < -4  # the corpus read 她 as ta1 fifty times, never as chi2


def test_erhua_is_found_as_hanyu_pinyin_writes_it():
    """玩儿 is typed wanr (the 儿 suffix as a trailing r), 儿 alone as r after any syllable; a word
    that only begins with 儿, or reads it otherwise, keeps its spelling only."""
    words = [EOS_TEXT, "玩儿", "一点儿", "儿", "儿童", "人"]
    readings = [{}, {("wan2", "er2"): 3}, {("yi4", "dian3", "er5"): 2}, {("er2",): 9}, {("er2", "tong2"): 4}, {("ren2",): 9}]
    lex = WordLexicon(words, readings)
    assert [lex.words[w] for w in lex.spelled["wanr"]] == ["玩儿"] and lex.spelled["waner"] == lex.spelled["wanr"]
    assert [lex.words[w] for w in lex.spelled["yidianr"]] == ["一点儿"]
    assert [lex.words[w] for w in lex.spelled["r"]] == ["儿"] and "tongr" not in lex.spelled
    assert erhua_spelling("儿童", "er2 tong2") is None and erhua_spelling("儿", "ren2") is None
    assert lex.reading_logp(lex.word_id["玩儿"], "wanr") == (("wan2", "er2"), 0.0)


def test_abbreviations_find_words_by_their_initials_with_zh_ch_sh_typed_either_way():
    lex = lexicon()
    assert abbreviation(("zhong1", "guo2")) == "zg" and shorten("zhg") == "zg"
    assert [lex.words[w] for w in lex.abbreviated["zg"]] == ["这个", "中国"]  # zhe ge, zhong guo: most read first
    assert lex.abbreviated[shorten("zhg")] == lex.abbreviated["zg"] and "xa" in lex.abbreviated


def test_lexicon_files_round_trip_and_a_bad_file_is_a_data_error(tmp_path):
    lex = lexicon()
    lex.save(tmp_path / "words.json.gz")
    back = WordLexicon.load(tmp_path / "words.json.gz")
    assert back.words == lex.words and list(back.readings) == list(lex.readings) and back.spelled == lex.spelled
    (tmp_path / "bad.json.gz").write_bytes(gzip.compress(b'{"format": "other"}'))
    with pytest.raises(DataError, match="not a pinhan word lexicon"):
        WordLexicon.load(tmp_path / "bad.json.gz")
    (tmp_path / "junk.json.gz").write_bytes(b"\x1f\x8b junk")
    with pytest.raises(DataError, match="cannot read the word lexicon"):
        WordLexicon.load(tmp_path / "junk.json.gz")


def test_word_ngram_takes_ids_past_16_bits_and_prior_counts_rank_unseen_words():
    big = 70_000  # past the character model's 16-bit ids
    lines = [np.array([5, big, 7, EOS]), np.array([5, big, EOS]), np.array([7, 5, EOS])]
    prior = np.zeros(big + 10)
    prior[big + 3], prior[big + 4] = 5.0, 1.0  # never in a line: known only from a dictionary
    lm = WordNgram.build(lines, big + 10, order=3, prior_counts=prior)
    bos = WordNgram.BOS
    after = lm.logprob_grid(np.array([[bos, 5]]), np.array([[big, big + 3, big + 4, big + 5]]))[0]
    assert after[0] > after[1] > after[2] > after[3]  # seen > common in the dictionary > rare > unknown
    with pytest.raises(ConfigError, match="order must be between 1 and 3"):
        WordNgram.build(lines, big + 10, order=4)


def test_word_and_character_ngram_files_are_not_mistaken_for_each_other(tmp_path):
    CharNgram.build([np.arange(5, 9)], 20, order=2).save(tmp_path / "chars.safetensors")
    with pytest.raises(DataError, match="not a pinhan word n-gram"):
        WordNgram.load(tmp_path / "chars.safetensors")
    lm = WordNgram.build([np.array([3, 4, EOS])], 10, order=2)
    lm.save(tmp_path / "words.safetensors")
    back = WordNgram.load(tmp_path / "words.safetensors")
    probe = np.array([[WordNgram.BOS, 3]]), np.array([[4, 5]])
    assert np.array_equal(back.logprob_grid(*probe), lm.logprob_grid(*probe))


def test_word_ngram_files_pack_ids_in_3_bytes_and_code_log_probabilities_in_8_bits(tmp_path):
    from safetensors.numpy import load_file

    rng = np.random.default_rng(0)
    big = 1_500_000  # ids past 2**16: 3 bytes each
    lines = [np.append(rng.integers(big - 400, big, size=12), EOS) for _ in range(300)]
    lm = WordNgram.build(lines, big + 1, order=3, min_count=1)
    lm.save(tmp_path / "w.safetensors")
    stored = load_file(str(tmp_path / "w.safetensors"))
    assert stored["last.1"].dtype == np.uint8 and stored["last.1"].shape == (len(lm.keys[1]), 3)
    assert stored["logp.1"].dtype == np.uint8 and stored["logp_book.1"].shape == (256,)
    assert stored["logp.0"].dtype == np.float16  # unigrams stay exact
    back = WordNgram.load(tmp_path / "w.safetensors")
    assert all(np.array_equal(a, b) for a, b in zip(back.keys + back.ctx_keys, lm.keys + lm.ctx_keys))
    assert np.array_equal(back.logp[0], lm.logp[0])
    for k in (1, 2):
        error = np.abs(back.logp[k].astype(np.float32) - lm.logp[k].astype(np.float32))
        assert 0 < error.max() < 1.0 and error.mean() < 0.05  # coarse bins only in the tails
    from safetensors.numpy import save_file

    stored["logp_book.1"] = stored["logp_book.1"][:4]  # a damaged codebook is named, not an IndexError
    save_file(stored, str(tmp_path / "bad.safetensors"), metadata=_meta(tmp_path / "w.safetensors"))
    with pytest.raises(DataError, match="cannot read the n-gram model"):
        WordNgram.load(tmp_path / "bad.safetensors")


def _meta(path):
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        return f.metadata()


def test_build_words_from_the_train_split(prepared_tiny):
    from pinhan.data.vocab import Lexicon
    from pinhan.lm.word_build import WordModelConfig, build_words

    lex, lm = build_words(prepared_tiny, Lexicon.load(prepared_tiny / "lexicon.json"), WordModelConfig(min_count=1, dictionary=False))
    assert lex.words[EOS] == EOS_TEXT and lm.vocab_size == len(lex) and lm.order == 3
    assert "北京" in lex.word_id and lex.word_id["北京"] in lex.spelled["beijing"]
    wid = lex.word_id["银行行长"]  # jieba keeps it one word
    assert wid in lex.spelled["yinhanghangzhang"] and wid in lex.abbreviated["yhhz"]
    assert max(lex.readings[wid], key=lex.readings[wid].get) == ("yin2", "hang2", "hang2", "zhang3")
    assert all(not any(ch in w for ch in "這國") for w in lex.words)  # traditional forms stay out
    bos = WordNgram.BOS
    seen = lm.logprob_grid(np.array([[bos, lex.word_id["我们"]]]), np.array([[lex.word_id["明天"], lex.word_id["长江"]]]))[0]
    assert seen[0] > seen[1]  # 我们 明天 is in the corpus, 我们 长江 is not


def test_the_dictionary_obeys_the_held_out_rule(tmp_path):
    import hashlib

    from pinhan.data.heldout import HeldoutRule
    from pinhan.lm.word_build import jieba_frequencies

    (tmp_path / "heldout.txt").write_text(hashlib.sha256("欲穷千里目".encode()).hexdigest()[:16] + "\n", encoding="utf-8")
    everything, none_dropped = jieba_frequencies()
    kept, dropped = jieba_frequencies(HeldoutRule(tmp_path / "heldout.txt"))
    assert "欲穷千里目" in everything and none_dropped == 0
    assert "欲穷千里目" not in kept and dropped == 1 and len(kept) == len(everything) - 1


def test_more_text_is_counted_with_its_weight(prepared_tiny, prepared_other):
    from pinhan.data.vocab import Lexicon
    from pinhan.lm.word_build import WordModelConfig, build_words

    lexicon = Lexicon.load(prepared_tiny / "lexicon.json")
    alone, _ = build_words(prepared_tiny, lexicon, WordModelConfig(min_count=1, dictionary=False))
    mixed, mixed_lm = build_words(prepared_tiny, lexicon, WordModelConfig(min_count=1, dictionary=False,
                                                                          texts={str(prepared_other): 2}))
    counted = mixed.info["counted"]
    assert counted[str(prepared_other)]["clauses"] == 2 * 3  # every clause twice
    assert "服务器" not in alone.word_id and "服务器" in mixed.word_id
    assert mixed.readings[mixed.word_id["服务器"]] == {("fu2", "wu4", "qi4"): 2 * 2}  # readings counted twice too
    ids = mixed.word_id
    probe = mixed_lm.logprob_grid(np.array([[WordNgram.BOS, ids["服务器"]]]), np.array([[ids["的"], ids["北京"]]]))[0]
    assert probe[0] > probe[1]
    skipped, _ = build_words(prepared_tiny, lexicon, WordModelConfig(min_count=1, dictionary=False,
                                                                     texts={str(prepared_other): 0}))
    assert skipped.info["counted"][str(prepared_other)]["clauses"] == 0 and "服务器" not in skipped.word_id


def test_frequency_lists_join_the_prior(prepared_tiny, tmp_path, monkeypatch):
    from tests.lm.test_frequencies import write_jionlp

    import pinhan.lm.word_build as word_build
    from pinhan.data.vocab import Lexicon
    from pinhan.lm.word_build import WordModelConfig, build_words

    write_jionlp(tmp_path / "jionlp", [["长城", 10], ["长成", 5000], ["缥缈", 3]])
    read = word_build.read_frequencies  # the real reader, pointed at the stand-in instead of the fetch cache
    monkeypatch.setattr(word_build, "read_frequencies", lambda name, cache, heldout: read(name, heldout=heldout, root=tmp_path / name))
    lexicon = Lexicon.load(prepared_tiny / "lexicon.json")

    def build(**kwargs):
        config = WordModelConfig(min_count=1, dictionary=False, frequencies=["jionlp"], prior_weight=1.0, **kwargs)
        return build_words(prepared_tiny, lexicon, config)

    ranked, lm = build()
    assert "缥缈" not in ranked.word_id  # the list re-ranks known words only
    with_words, lm_words = build(frequency_words=True)
    assert "缥缈" in with_words.word_id and ("piao1", "miao3") in with_words.readings[with_words.word_id["缥缈"]]
    unigram = lm_words.unigram_logp
    assert unigram[with_words.word_id["长成"]] > unigram[with_words.word_id["缥缈"]]


def test_a_bad_word_model_config_is_named():
    from pinhan.errors import ConfigError
    from pinhan.lm.word_build import WordModelConfig

    with pytest.raises(ConfigError, match="texts\\[x\\]"):
        WordModelConfig(texts={"x": -1})
    with pytest.raises(ConfigError, match="unknown frequency list 'nope'"):
        WordModelConfig(frequencies=["nope"])
