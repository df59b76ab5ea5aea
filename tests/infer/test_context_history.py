"""The context as a short history for the word lattice (pinhan.infer.context_history)."""

from __future__ import annotations

import numpy as np
import pytest

import pinhan
from pinhan.errors import ConfigError
from pinhan.infer.config import InferenceConfig
from pinhan.infer.context_history import ContextHistories
from pinhan.infer.search.lattice import LatticeSettings, WordLattice
from pinhan.infer.search.user_lattice import path_text, user_nbest, user_view
from pinhan.infer.user import UserModel
from pinhan.lm.ngram import WordNgram
from pinhan.lm.words import EOS, EOS_TEXT, WordLexicon

WORDS = [EOS_TEXT, "西安", "先", "西", "安", "我", "去", "了"]
READINGS = {"西安": ("xi1", "an1"), "先": ("xian1",), "西": ("xi1",), "安": ("an1",), "我": ("wo3",), "去": ("qu4",),
            "了": ("le5",)}
SYLLABLE = {"西": "xi1", "安": "an1", "先": "xian1", "我": "wo3", "去": "qu4", "了": "le5", "龙": "long2"}


@pytest.fixture(scope="module")
def lattice():
    ids = {w: i for i, w in enumerate(WORDS)}
    lexicon = WordLexicon(WORDS, [{}] + [{READINGS[w]: 5} for w in WORDS[1:]])
    lines = [[ids["西安"]], [ids["先"]], [ids["先"]], [ids["我"], ids["去"], ids["了"]]]
    lm = WordNgram.build([np.array(line + [EOS]) for line in lines], len(WORDS), order=3)
    return WordLattice(lexicon, lm, LatticeSettings(beam=8))


def annotate(text):
    return [SYLLABLE.get(ch) for ch in text]


def best(lattice, letters, view):
    if view is None:
        return lattice.text(lattice.nbest(letters, 4)[0], letters)
    return path_text(lattice, view, user_nbest(lattice, view, letters, 4)[0], letters)


def test_a_word_of_the_context_comes_first(lattice):
    histories = ContextHistories(lattice, annotate, chars=256, weight=1.0)
    assert best(lattice, "xian", None) == "先"
    view = histories.view("西安，我去了西安。")
    assert best(lattice, "xian", view) == "西安"
    assert best(lattice, "xian", histories.view("我去了。")) == "先"  # words the context lacks are as before


def test_only_the_last_characters_are_read_and_no_hanzi_gives_no_history(lattice):
    histories = ContextHistories(lattice, annotate, chars=8, weight=1.0)
    assert histories.view("西安" + "，" * 8) is None  # 西安 is more than 8 characters back
    assert histories.view("") is None and histories.view("abc, 123") is None
    assert ContextHistories(lattice, annotate, chars=0, weight=1.0).view("我去了西安") is None
    history = histories.history("西安，我去了。")
    assert set(history.words) == {"西安", "我", "去", "了"} and history.words["西安"][2] == ("xi", "an")


def test_the_annotator_reads_only_runs_with_a_hanzi_the_lexicon_lacks(lattice):
    asked = []
    def counting(text):
        asked.append(text)
        return annotate(text)
    histories = ContextHistories(lattice, counting, chars=256, weight=1.0)
    history = histories.history("我去了西安，龙去了。")
    assert asked == ["龙去了"]  # 我去了西安: every hanzi a lexicon word, read as the lexicon reads it
    assert history.words["西安"][2] == ("xi", "an") and history.words["龙"][2] == ("long",)


def test_views_are_kept_per_context_and_bounded(lattice):
    histories = ContextHistories(lattice, annotate, chars=256, weight=1.0, cache_size=2)
    first = histories.view("西安")
    assert histories.view("西安") is first  # an input method sends the same context with every key
    histories.view("我去了")
    histories.view("先")
    assert len(histories._views) == 2 and histories.view("西安") is not first


def test_inference_settings_check_the_context_history():
    with pytest.raises(ConfigError, match="context_history"):
        InferenceConfig(context_history=1.5)
    with pytest.raises(ConfigError, match="context_weight"):
        InferenceConfig(context_weight=-1)


@pytest.fixture(scope="module")
def words(word_model_dir):
    return pinhan.load(word_model_dir, config=InferenceConfig(context_weight=1.0))


def test_beside_a_user_history_the_context_mixes_in_its_lexicon_words_only(lattice):
    """A user's own phrases and the context's number from the same id: the context's are left out."""
    histories = ContextHistories(lattice, annotate, chars=256, weight=1.0)
    context = histories.arrays("西安，西安，龙。")  # 龙: a hanzi the lexicon lacks, a phrase of the context's own
    assert histories.view("西安，西安，龙。").phrases == ("龙",)
    assert len(context.ids) and (context.ids < len(lattice.lexicon)).all()
    user = UserModel()
    user.add_phrase("依达", ("yi", "da"))
    view = user_view(user, lattice)
    paths = user_nbest(lattice, view, "xianyida", 4, context=context)
    assert path_text(lattice, view, paths[0], "xianyida") == "西安依达"  # 先 without the context


def test_convert_reads_the_context_beside_a_user_history(words):
    pinyin = "shi"
    before = [c.text for c in words.convert(pinyin, k=9, prefixes=False)]
    other = next(t for t in before[1:] if len(t) == 1)
    context = f"{other}，" * 6
    assert words.convert(pinyin, context=context, k=9, prefixes=False)[0].text == other
    off = words.with_config(context_history=0)
    assert off.convert(pinyin, context=context, k=9, prefixes=False)[0].text == before[0]
    user = UserModel()
    user.learn([(before[0], ("shi",))])  # a user's history and then the context's words
    assert words.convert(pinyin, context=context, k=9, prefixes=False, user=user)[0].text == other
    assert words.convert(pinyin, k=9, prefixes=False, user=user)[0].text == before[0]
    assert [c.text for c in words.convert(pinyin, k=9, prefixes=False)] == before  # nothing is kept
