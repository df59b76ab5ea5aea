"""Metric functions on small cases computed by hand."""

import pytest

from pinhan.eval.metrics import (
    bleu,
    by_length,
    char_accuracy,
    clause_exact_match,
    rouge_l,
    rouge_n,
    sentence_accuracy,
    syllable_accuracy,
    topk_accuracy,
)


def test_char_and_sentence_accuracy_unchanged():
    assert char_accuracy(["中国文化", "我们"], ["中国文华", "我们"]) == pytest.approx(1 - 1 / 6)
    assert sentence_accuracy(["中国文化", "我们"], ["中国文华", "我们"]) == 0.5


def test_topk_accuracy():
    cands = [["中国", "种过"], ["种过", "中国"], ["重工"]]
    golds = ["中国", "中国", "中国"]
    assert topk_accuracy(cands, golds, 1) == pytest.approx(1 / 3)
    assert topk_accuracy(cands, golds, 2) == pytest.approx(2 / 3)
    assert topk_accuracy(cands, golds, 10) == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        topk_accuracy(cands, golds, 0)


def test_bleu_hand_computed():
    pytest.importorskip("sacrebleu")
    assert bleu(["我们去北京"], ["我们去北京"]) == pytest.approx(100.0)
    # 1..4-gram precisions 5/6, 4/5, 3/4, 2/3, no brevity penalty: (1/3) ** (1/4)
    assert bleu(["一二三四五六"], ["一二三四五七"]) == pytest.approx(100 * (1 / 3) ** 0.25, abs=1e-6)
    assert bleu(["甲乙丙丁"], ["子丑寅卯"]) == pytest.approx(0.0)


def test_rouge_on_characters_macro_averaged():
    preds, golds = ["我们去北京", "我去北京"], ["我们去上海", "我们去北京了"]
    # item 1: 3 of 5 chars shared both ways -> 0.6; item 2: P = 4/4, R = 4/6 -> F1 0.8
    assert rouge_n(preds, golds, 1) == pytest.approx((0.6 + 0.8) / 2)
    # bigrams: item 1 2 of 4 / 4 -> 0.5; item 2 P = 2/3, R = 2/5 -> F1 0.5
    assert rouge_n(preds, golds, 2) == pytest.approx(0.5)
    assert rouge_l(preds, golds) == pytest.approx((0.6 + 0.8) / 2)  # LCS 3 and 4
    # order matters for L, not for 1
    assert rouge_n(["北京我们"], ["我们北京"], 1) == pytest.approx(1.0)
    assert rouge_l(["北京我们"], ["我们北京"]) == pytest.approx(0.5)
    assert rouge_n(["我"], ["我"], 2) == 0.0  # no bigrams on either side: 0 (rouge-score convention)
    assert rouge_l([], []) == 0.0


def test_syllable_accuracy_and_clause_exact_match():
    preds = [["zhong1", "guo2"], ["le5", "lv4"], ["hang2"]]
    golds = [["zhong1", "guo2"], ["liao3", "lü4"], ["hang4"]]
    assert syllable_accuracy(preds, golds) == pytest.approx(3 / 5)  # ü == v
    assert syllable_accuracy(preds, golds, tones=False) == pytest.approx(4 / 5)
    assert clause_exact_match(preds, golds) == pytest.approx(1 / 3)
    assert clause_exact_match(preds, golds, tones=False) == pytest.approx(2 / 3)


def test_by_length_buckets():
    preds = ["中国文化", "我们明天去北京", "一二三四五六七八", "太短"]
    golds = ["中国文华", "我们明天去北京", "一二三四五六七八", "太短"]
    result = by_length(preds, golds)
    assert list(result) == ["4-7", "8-15", "16-32"]
    assert result["4-7"] == {"n": 2, "char_accuracy": pytest.approx(1 - 1 / 11), "sentence_accuracy": 0.5}
    assert result["8-15"]["n"] == 1 and result["8-15"]["sentence_accuracy"] == 1.0
    assert result["16-32"] == {"n": 0, "char_accuracy": 0.0, "sentence_accuracy": 0.0}
    assert list(by_length(preds, golds, buckets=((1, 2),))) == ["1-2"]


@pytest.mark.parametrize(
    "call",
    [
        lambda: char_accuracy(["a"], []),
        lambda: sentence_accuracy([], ["a"]),
        lambda: topk_accuracy([["a"]], ["a", "b"], 1),
        lambda: bleu(["a"], ["a", "b"]),
        lambda: rouge_n(["a"], [], 1),
        lambda: rouge_l(["a", "b"], ["a"]),
        lambda: syllable_accuracy([["a1"]], [["a1"], ["b2"]]),
        lambda: syllable_accuracy([["a1"]], [["a1", "b2"]]),  # one item's lists differ
        lambda: clause_exact_match([["a1", "b1"]], [["a1"]]),
        lambda: by_length(["中国文化"], []),
    ],
)
def test_mismatched_lengths_raise(call):
    with pytest.raises(ValueError):
        call()
