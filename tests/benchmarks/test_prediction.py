"""benchmarks/prediction.py: contexts cut at word boundaries, top-k scoring, the bigram view, and
libime's prediction harness (skipped with the reason when it is not built)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

# Loaded by path (see test_peers.py: ``benchmarks`` would name this test package).
_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "prediction.py"
_spec = importlib.util.spec_from_file_location("_pinhan_bench_prediction", _PATH)
prediction = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = prediction
_spec.loader.exec_module(prediction)


def test_contexts_are_cut_after_a_word_and_repeat():
    items = [{"id": "a-1", "hanzi": "我们明天去北京看看长城", "context": "你好，"}, {"id": "a-2", "hanzi": "好", "context": ""}]
    cases = prediction.contexts(items)
    assert len(cases) == 1 and cases == prediction.contexts(items)  # a one-word item has no cut
    case = cases[0]
    assert case["context"].startswith("你好，") and case["context"] == "你好，" + case["clause"]
    assert case["clause"] + case["rest"] == items[0]["hanzi"] and case["rest"].startswith(case["gold"])
    assert case["clause"] and case["gold"] in ("我们", "明天", "去", "北京", "看看", "长城")


def test_scoring_counts_the_gold_word_and_usable_text():
    cases = [{"gold": "北京", "rest": "北京看看"}, {"gold": "看看", "rest": "看看长城"}]
    got = prediction.score(cases, [["北", "上海", "北京"], ["长城"] * 10])
    assert got["word@1"] == 0 and got["word@5"] == 50 and got["text@1"] == 50 and got["text@10"] == 50


def test_the_bigram_view_keeps_two_orders(word_model_dir):
    from pinhan.lm.ngram import WordNgram

    lm = WordNgram.load(word_model_dir / "words.safetensors")
    view = prediction.bigram_view(lm)
    assert view.order == 2 and lm.order == 3
    history, words = np.array([[lm.BOS, 5]]), np.array([[6, 7, 8]])
    assert np.allclose(view.logprob_grid(history, words), view.logprob_grid(history[:, 1:], words))


def test_libime_prediction_harness_if_built():
    if not prediction.HARNESS.exists():
        pytest.skip(f"{prediction.HARNESS} not built (make -C benchmarks/engines build/libime_predict_harness)")
    cases = [{"context": "我们"}, {"context": "今天，中国"}, {"context": "天气，"}]
    got = prediction.run_libime(cases, 10)
    assert not isinstance(got, str), got
    lists, ms = got
    assert len(lists) == 3 and 1 <= len(lists[0]) <= 10 and "的" in lists[1] and lists[2] == []
    assert len(ms) == 3 and all(m >= 0 for m in ms)
