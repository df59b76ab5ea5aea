"""Word trigram KN baseline: hermetic tests on a handmade corpus (no jieba, no prepared data)."""

import importlib.util
import math
import sys
from pathlib import Path

import pytest

# Loaded by path: with tests/benchmarks/__init__.py, pytest's default import mode makes the name
# ``benchmarks`` mean this test package, not the repository's benchmarks/ folder.
_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "baselines" / "word_trigram.py"
_spec = importlib.util.spec_from_file_location("_pinhan_bench_word_trigram", _PATH)
word_trigram = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = word_trigram
_spec.loader.exec_module(word_trigram)
BOS, KneserNeyTrigram, WordTrigramConverter = word_trigram.BOS, word_trigram.KneserNeyTrigram, word_trigram.WordTrigramConverter
normalize_input, viterbi = word_trigram.normalize_input, word_trigram.viterbi

SENTENCES = [
    ["我们", "去", "北京"],
    ["我们", "去", "上海"],
    ["他们", "去", "北京"],
    ["北京", "很", "大"],
    ["我们", "喜欢", "北京"],
    ["他们", "喜欢", "上海"],
    ["上海", "很", "大"],
    ["我们", "很", "喜欢", "西安"],
]


@pytest.mark.parametrize("jieba_weight", [0.0, 0.5])
@pytest.mark.parametrize("history", [[], ["我们"], ["我们", "去"], ["他们", "喜欢"], ["西安", "上海"], ["从未", "见过"]])
def test_kn_distribution_sums_to_one(history, jieba_weight):
    lm = KneserNeyTrigram.build(SENTENCES, vocab=["从未", "见过", "先"], extra_counts={"北京": 100, "先": 50, "西安": 10},
                                jieba_weight=jieba_weight)
    total = sum(lm.prob(history, w) for w in lm.words if w != BOS)
    assert total == pytest.approx(1.0, abs=1e-9)
    assert lm.prob(history, BOS) == 0.0


def test_kn_prefers_seen_continuations():
    lm = KneserNeyTrigram.build(SENTENCES)
    p = lambda h, w: lm.prob(h, w)  # noqa: E731
    assert p(["我们", "去"], "北京") > p(["我们", "去"], "上海") > p(["我们", "去"], "大")
    assert p([], "我们") > p([], "北京")  # sentence starts: 3 of 8 vs 1 of 8
    assert p(["很"], "大") > p(["很"], "去")
    assert all(p(h, w) > 0 for h in ([], ["大"]) for w in ("我们", "西安", "</s>"))
    # continuation counts: 北京 follows 3 distinct words, 西安 one
    assert lm.p1[lm.word_id["北京"]] > lm.p1[lm.word_id["西安"]]
    assert lm.logprob(["我们"], "去") == pytest.approx(math.log(p(["我们"], "去")))


def test_jieba_counts_lift_unseen_words():
    without = KneserNeyTrigram.build(SENTENCES, vocab=["先"])
    lifted = KneserNeyTrigram.build(SENTENCES, vocab=["先"], extra_counts={"先": 1000}, jieba_weight=1.0)
    assert lifted.prob([], "先") > 5 * without.prob([], "先")
    lifted.set_jieba_weight(0.0)
    assert lifted.prob([], "先") == pytest.approx(without.prob([], "先"))


READINGS = {
    "我们": ["women"], "他们": ["tamen"], "去": ["qu"], "北京": ["beijing"], "上海": ["shanghai"], "很": ["hen"],
    "大": ["da"], "喜欢": ["xihuan"], "西安": ["xi'an"], "先": ["xian"], "西": ["xi"], "安": ["an"],
    "我": ["wo"], "们": ["men"], "北": ["bei"], "京": ["jing"], "喜": ["xi"], "欢": ["huan"],
}


def toy_converter(**kwargs):
    sentences = [(ws, None) for ws in SENTENCES]
    return WordTrigramConverter.from_parts(sentences, READINGS, {"先": 5}, jieba_weight=0.1, **kwargs)


def test_viterbi_picks_the_obvious_words():
    conv = toy_converter()
    assert conv.convert("womenqubeijing") == "我们去北京"
    assert conv.convert_words("womenqubeijing") == ["我们", "去", "北京"]
    assert conv.convert("tamenxihuanshanghai") == "他们喜欢上海"
    # "xian" is one syllable (先) or two (西安); context picks 西安 after 很喜欢
    assert conv.convert("womenhenxihuanxian") == "我们很喜欢西安"
    assert conv.convert("Wo Men Qu Bei'jing") == "我们去北京"


def test_viterbi_passes_unknown_letters_through():
    conv = toy_converter()
    assert conv.convert("womenqux") == "我们去x"
    assert conv.convert("") == ""


def test_viterbi_on_a_hand_built_lattice():
    lm = KneserNeyTrigram.build([["甲乙"], ["甲乙", "丙"]], vocab=["甲", "乙", "丙丁"])
    ids = lambda *ws: [lm.word_id[w] for w in ws]  # noqa: E731
    spellings = {"jia": ids("甲"), "yi": ids("乙"), "jiayi": ids("甲乙"), "bing": ids("丙")}
    assert viterbi("jiayibing", spellings, lm, beam=4, max_words=10, max_letters=5) == ["甲乙", "丙"]


def test_normalize_input():
    assert normalize_input("lü4 nu:3 Xi'an") == "lvnvxian"


def test_save_and_load(tmp_path):
    conv = toy_converter(beam=8)
    conv.save(tmp_path / "m.pkl")
    again = WordTrigramConverter.load(tmp_path / "m.pkl", beam=8)
    assert again.convert("womenqubeijing") == "我们去北京"


def test_parser_segmentation_restricts_the_lattice():
    conv = toy_converter(segmentation="parser")
    assert conv.convert("womenqubeijing") == "我们去北京"
    # the parser's top path reads "xian" as one syllable, so 西安 (xi'an) is out of reach
    assert conv.convert("womenhenxihuanxian") == "我们很喜欢先"
    with pytest.raises(ValueError):
        toy_converter(segmentation="nope")
