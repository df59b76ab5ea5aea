"""Next-word prediction (pinhan.infer.tasks.predict), word-by-word continuation
(pinhan.infer.tasks.word_generate) and predictions in a session, on the tiny model with a word
model built from the tiny corpus (tests/conftest.py: word_model_dir)."""

from __future__ import annotations

import numpy as np
import pytest

import pinhan
from pinhan.errors import InputError
from pinhan.infer.results import Prediction
from pinhan.infer.tasks.predict import segment


@pytest.fixture(scope="module")
def model(word_model_dir):
    return pinhan.load(word_model_dir, threads=1)


@pytest.fixture(scope="module")
def ngram_only(model):
    return model.with_config(predict_model_weight=0.0)


def brute_force(model, history: np.ndarray, k: int) -> list[str]:
    """The n-gram's k best next words, every lexicon word scored (no candidate shortcuts)."""
    predictor = model.predictor
    words = np.arange(1, len(predictor.lexicon))  # every word but </s>
    lm = predictor.lm.logprob_grid(history[None, :], words[None, :])[0]
    order = np.lexsort((words, -lm))[:k]
    return [predictor.word_text(w) for w in words[order]]


def test_predicts_the_next_word_of_the_corpus(ngram_only):
    got = ngram_only.predict("我们明天去", k=3)
    assert got[0].text == "北京" and all(isinstance(p, Prediction) for p in got)
    assert [p.score for p in got] == sorted((p.score for p in got), reverse=True)
    assert len({p.text for p in got}) == 3


@pytest.mark.parametrize("context", ["我们明天去", "中国人民银行", "长江是", "今天天气很好，", "", "hello "])
def test_the_candidate_shortcut_finds_the_exact_top_k(ngram_only, context):
    predictor = ngram_only.predictor
    got = [p.text for p in ngram_only.predict(context, k=8)]
    assert got == brute_force(ngram_only, predictor.history(context), 8)


def test_history_is_the_last_clause_in_lexicon_words(model):
    predictor = model.predictor
    start = np.full(predictor.lm.order - 1, predictor.lm.BOS)
    assert (predictor.history("") == start).all() and (predictor.history("北京，") == start).all()
    ids = predictor.lexicon.word_id
    assert predictor.history("我们明天去").tolist()[-2:] == [ids["明天"], ids["去"]]
    words = segment("我们明天去北京", ids, predictor._parts[2])
    assert [predictor.word_text(w) for w in words] == ["我们", "明天", "去", "北京"]
    assert segment("我们X", ids, predictor._parts[2])[-1] == -1  # a character outside the lexicon


def test_the_model_weight_reranks_the_ngram_candidates(model, ngram_only):
    fused = model.with_config(predict_model_weight=1.0, predict_rescore=8)
    plain = [p.text for p in ngram_only.predict("我们明天去", k=8)]
    got = fused.predict("我们明天去", k=8)
    assert sorted(p.text for p in got) == sorted(plain)  # the same 8 proposals, rescored
    assert [p.score for p in got] == sorted((p.score for p in got), reverse=True)
    assert got != ngram_only.predict("我们明天去", k=8)
    first_char = fused.with_config(predict_model_chars=1).predict("我们明天去", k=8)  # one decoder step
    assert sorted(p.text for p in first_char) == sorted(plain) and first_char != got


def test_bad_requests_are_one_line_errors(model, api):
    for k in (0, 101, True, "5"):
        with pytest.raises(InputError, match="k must be"):
            model.predict("中国", k=k)
    with pytest.raises(InputError, match="context must be a string"):
        model.predict(5)
    with pytest.raises(InputError, match="limit is 256"):
        model.predict("中" * 257)
    with pytest.raises(InputError, match="no word model"):
        api.predict("中国")  # the tiny model without a word model


def test_generate_continues_in_whole_words_from_a_word_boundary(model, ngram_only):
    for m in (model, ngram_only):
        first = m.predict("我们明天去", k=1)[0].text
        greedy = m.generate("我们明天去", max_new_tokens=6)
        assert len(greedy) == 1 and greedy[0].text.startswith(first) and len(greedy[0].text) <= 6
    beams = ngram_only.generate("我们明天去", max_new_tokens=4, num_beams=3)
    assert len(beams) == 3 and len({b.text for b in beams}) == 3 and all(len(b.text) <= 4 for b in beams)
    assert [b.score for b in beams] == sorted((b.score for b in beams), reverse=True)
    sampled = [ngram_only.generate("我们", temperature=1.0, seed=s)[0].text for s in (1, 1, 2)]
    assert sampled[0] == sampled[1]
    assert ngram_only.generate("", max_new_tokens=2) == []


def test_a_pinyin_hint_picks_words_that_read_as_it(ngram_only):
    got = ngram_only.generate("我们", pinyin_hint="mingtian", max_new_tokens=2)[0].text
    assert got == "明天"
    assert ngram_only.generate("我们", pinyin_hint="mt", max_new_tokens=2)[0].text == "明天"
    with pytest.raises(InputError):
        ngram_only.generate("我们", pinyin_hint="ming1tian1,")


def test_a_model_without_a_word_model_still_generates_characters(api):
    assert api.generator.by_words is None
    assert len(api.generate("我们", max_new_tokens=3)[0].text) == 3


def test_a_session_offers_predictions_after_a_commit_until_the_next_keystroke(model):
    session = model.session(k=5)
    session.type("womenmingtianqu")
    session.commit(next(i for i, c in enumerate(session.candidates) if c.text == "我们明天去"))
    assert session.buffer == "" and session.candidates
    assert all(c.kind == "prediction" and c.consumed == 0 for c in session.candidates)
    assert [c.text for c in session.candidates] == [p.text for p in model.predict("我们明天去", k=5)]
    assert len(session.candidates[0].pinyin) == len(session.candidates[0].text)
    word = session.commit(0)  # a prediction: commits it and predicts again
    assert session.context == "我们明天去" + word and session.candidates[0].kind == "prediction"
    session.append("kan")
    assert session.buffer == "kan" and all(c.kind != "prediction" for c in session.candidates)
    assert model.session(predict=False).predict is False
