"""The user history (pinhan.infer.user) and the lattice with it (pinhan.infer.search.user_lattice)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from pinhan.infer.search.lattice import LatticeSettings, WordLattice
from pinhan.infer.search.user_lattice import path_text, segment, user_nbest, user_view
from pinhan.errors import ConfigError
from pinhan.infer.user import FILE, UserDataError, UserModel, UserSettings, UserStore
from pinhan.lm.ngram import WordNgram
from pinhan.lm.words import EOS, EOS_TEXT, WordLexicon

WORDS = [EOS_TEXT, "西安", "先", "西", "安", "中国", "文化", "中", "国", "文", "化", "我", "喜欢", "意大利", "面", "一大"]
READINGS = {"西安": ("xi1", "an1"), "先": ("xian1",), "西": ("xi1",), "安": ("an1",), "中国": ("zhong1", "guo2"),
            "文化": ("wen2", "hua4"), "中": ("zhong1",), "国": ("guo2",), "文": ("wen2",), "化": ("hua4",),
            "我": ("wo3",), "喜欢": ("xi3", "huan1"), "意大利": ("yi4", "da4", "li4"), "面": ("mian4",),
            "一大": ("yi1", "da4")}


@pytest.fixture(scope="module")
def lattice():
    ids = {w: i for i, w in enumerate(WORDS)}
    lexicon = WordLexicon(WORDS, [{}] + [{READINGS[w]: 5} for w in WORDS[1:]])
    lines = [[ids["中国"], ids["文化"]], [ids["西安"]], [ids["先"]], [ids["先"]], [ids["一大"]], [ids["一大"]],
             [ids["意大利"]], [ids["面"]]]
    lm = WordNgram.build([np.array(line + [EOS]) for line in lines], len(WORDS), order=3)
    return WordLattice(lexicon, lm, LatticeSettings(beam=8))


def best(lattice, letters, user=None):
    if user is None:
        return lattice.text(lattice.nbest(letters, 4)[0], letters)
    view = user_view(user, lattice)
    return path_text(lattice, view, user_nbest(lattice, view, letters, 4)[0], letters)


def test_an_empty_history_searches_exactly_as_none(lattice):
    view = user_view(UserModel(), lattice)
    for letters in ("xian", "zhongguowenhua", "yidalimian", "zgwhq"):
        plain, mixed = lattice.nbest(letters, 8), user_nbest(lattice, view, letters, 8)
        assert [(p.words, p.spans, p.score) for p in plain] == [(p.words, p.spans, p.score) for p in mixed]


def test_a_word_picked_once_comes_first(lattice):
    assert best(lattice, "xian") == "先"
    user = UserModel(UserSettings(weight=1.0))  # this tiny n-gram gives its words large probabilities
    user.learn([("西安", ("xi", "an"))])
    assert best(lattice, "xian", user) == "西安"
    assert best(lattice, "xian") == "先"  # the lattice itself (and its cache) is not changed


def test_a_phrase_the_lexicon_lacks_gets_arcs_spelled_and_abbreviated(lattice):
    user = UserModel()
    user.add_phrase("依达丽棉", ("yi", "da", "li", "mian"))
    assert best(lattice, "yidalimian", user) == "依达丽棉"
    assert best(lattice, "ydlm", user) == "依达丽棉"
    assert best(lattice, "woyidalimian", user) == "我依达丽棉"
    other = UserModel()
    other.learn([("中国", ("zhong", "guo"))])
    assert "依达丽棉" not in best(lattice, "yidalimian", other)  # one user's words never reach another


def test_segment_cuts_committed_text_into_words_read_as_typed(lattice):
    assert segment(lattice, "意大利面", ("yi4", "da4", "li4", "mian4")) == [("意大利", ("yi", "da", "li")), ("面", ("mian",))]
    assert segment(lattice, "我a喜欢", ("wo3", "a", "xi3", "huan1")) == [("我", ("wo",)), ("喜欢", ("xi", "huan"))]


def test_segment_reads_text_whose_typing_is_unknown_as_the_lexicon_does(lattice):
    """The context before the cursor: each word read as the lexicon most often reads it; a hanzi
    the lexicon lacks (龙) and other characters are left out, and words never span them."""
    assert segment(lattice, "意大利面", None) == [("意大利", ("yi", "da", "li")), ("面", ("mian",))]
    assert segment(lattice, "我龙喜欢，西安", None) == [("我", ("wo",)), ("喜欢", ("xi", "huan")), ("西安", ("xi", "an"))]
    assert segment(lattice, "西龙安", None) == [("西", ("xi",)), ("安", ("an",))]


def test_a_committed_word_is_raised_above_a_frequent_homophone():
    """homophone_weight: a word the n-gram rates below its homophone (按键 under 案件) comes first
    once the user keeps committing it, where the mixture alone, diluted by everything else the
    user committed, leaves it second; a word committed no more often than the n-gram expects
    (案件) and a single character get no bonus."""
    words = [EOS_TEXT, "相关", "案件", "按键", "的", "了"]
    readings = {"相关": ("xiang1", "guan1"), "案件": ("an4", "jian4"), "按键": ("an4", "jian4"), "的": ("de5",),
                "了": ("le5",)}
    ids = {w: i for i, w in enumerate(words)}
    lexicon = WordLexicon(words, [{}] + [{readings[w]: 5} for w in words[1:]])
    lines = [[ids[x], ids["案件"]] for x in ("相关", "的", "了")] * 3 + [[ids["按键"]], [ids["的"], ids["了"]]]
    lattice = WordLattice(lexicon, WordNgram.build([np.array(line + [EOS]) for line in lines], len(words), order=3),
                          LatticeSettings(beam=8))

    def history(homophone_weight):
        user = UserModel(UserSettings(homophone_weight=homophone_weight))
        for _ in range(200):  # much else committed: p_user(按键) is small
            user.learn([("的", ("de",)), ("了", ("le",))])
        for _ in range(3):
            user.learn([("按键", ("an", "jian"))])
        user.learn([("相关", ("xiang", "guan")), ("案件", ("an", "jian"))])
        return user

    assert best(lattice, "anjian", history(0.0)) == "案件"
    user = history(1.0)
    assert best(lattice, "anjian", user) == "按键"
    view = user_view(user, lattice)
    bonus = dict(zip(view.arrays.ids.tolist(), view.arrays.bonus.tolist()))
    assert bonus[ids["按键"]] > 0.5
    assert bonus[ids["案件"]] == 0.0 and bonus[ids["的"]] == 0.0
    with pytest.raises(ConfigError, match="homophone_weight"):
        UserSettings(homophone_weight=-1)


def _normalised(view):
    """A view's numbers as the search takes them (ratios: free of the counts' units)."""
    u = view.arrays
    context = dict(zip(u.ctx_ids.tolist(), u.ctx_totals.tolist()))
    return (u.ids.tolist(), (u.counts / u.total).tolist(), u.bigram_keys.tolist(),
            [v / context[k >> u.bits] for k, v in zip(u.bigram_keys.tolist(), u.bigram_counts.tolist())],
            u.bonus.tolist(), view.phrases, view.spelled, view.abbreviated)


def test_a_view_brought_up_to_date_equals_one_built_anew(lattice):
    """user_view applies only the entries a commit changed (UserModel.changes); after every step of
    a random history (words, phrases the lexicon lacks, a word read otherwise, pruning) its numbers
    are those of a view built from nothing, and so are the conversions."""
    from pinhan.infer.search.user_lattice import _ViewState

    rng = np.random.default_rng(0)
    user = UserModel(UserSettings(half_life=50.0, max_words=12, max_bigrams=20, homophone_weight=0.5))
    steps = [[(w, tuple(s.rstrip("12345") for s in READINGS[w]))] for w in WORDS[1:]]
    steps += [[("依达丽棉", ("yi", "da", "li", "mian"))], [("西安", ("xian", "an"))], [("先", ("xian",)), ("中国", ("zhong", "guo"))]]
    built_again = 0
    for n in range(120):
        step = steps[rng.integers(len(steps))]
        user.learn(step) if n % 7 else user.add_phrase("".join(t for t, _ in step), tuple(r for _, rs in step for r in rs))
        before = _VIEWS_STATE(user, lattice)
        view, fresh = user_view(user, lattice), _ViewState(user, lattice).view
        built_again += _VIEWS_STATE(user, lattice) is not before
        ours, theirs = _normalised(view), _normalised(fresh)
        assert ours[0] == theirs[0] and ours[2] == theirs[2] and ours[5:] == theirs[5:]
        for a, b in zip(ours[1:5], theirs[1:5]):
            assert np.allclose(a, b, rtol=1e-9, atol=1e-12)
        for letters in ("xian", "zhongguowenhua", "yidalimian"):
            assert [(p.words, round(p.score, 4)) for p in user_nbest(lattice, view, letters, 4)] == \
                   [(p.words, round(p.score, 4)) for p in user_nbest(lattice, fresh, letters, 4)]
    assert 0 < built_again < 120  # mostly brought up to date; built again after pruning


def test_a_copy_that_learns_brings_the_originals_view_up_to_date(lattice):
    """The service learns on a copy (UserModel.copy) and swaps it in: carry_views gives the copy
    the original's view to update, equal to one built anew, and the original's view stays."""
    from pinhan.infer.search.user_lattice import _ViewState, carry_views

    user = UserModel()
    user.learn([("中国", ("zhong", "guo")), ("文化", ("wen", "hua"))])
    original = user_view(user, lattice)
    counts = original.arrays.counts.copy()
    other = user.copy()
    carry_views(user, other)
    forked = _VIEWS_STATE(other, lattice)
    assert forked is not None and forked is not _VIEWS_STATE(user, lattice)
    other.learn([("西安", ("xi", "an"))])
    other.add_phrase("依达丽棉", ("yi", "da", "li", "mian"))
    view = user_view(other, lattice)
    assert _VIEWS_STATE(other, lattice) is forked  # brought up to date, not built anew
    assert _normalised(view)[0] == _normalised(_ViewState(other, lattice).view)[0]
    assert np.allclose(_normalised(view)[1], _normalised(_ViewState(other, lattice).view)[1])
    assert best(lattice, "yidalimian", other) == "依达丽棉" and "依达丽棉" not in best(lattice, "yidalimian", user)
    assert user_view(user, lattice) is original and np.array_equal(original.arrays.counts, counts)


def _VIEWS_STATE(user, lattice):
    from pinhan.infer.search.user_lattice import _VIEWS

    return _VIEWS.get(user, {}).get(id(lattice.lexicon))


def test_counts_decay_and_the_history_stays_bounded():
    user = UserModel(UserSettings(half_life=2.0, max_words=3, max_bigrams=3))
    user.learn([("西安", ("xi", "an"))])
    user.learn([("中国", ("zhong", "guo")), ("文化", ("wen", "hua"))])
    assert user.weight(user.words["西安"]) == pytest.approx(0.5)  # two words later: half
    for text, reading in [("我", ("wo",)), ("先", ("xian",)), ("安", ("an",))]:
        user.learn([(text, reading)])
    assert len(user.words) == 3 and len(user.bigrams) == 3 and "西安" not in user.words
    user = UserModel(UserSettings(max_words=20, max_bigrams=20))
    for n in range(21):  # one past the cap: pruned to nine tenths of it, the oldest first
        user.learn([(f"词{chr(0x4e00 + n)}", ("ci", "yi"))])
    assert len(user.words) == 18 and "词一" not in user.words and f"词{chr(0x4e00 + 20)}" in user.words


def test_word_lists_import_and_export(tmp_path):
    user = UserModel()
    lines = ["# names", "依达丽棉 yi'da'li'mian 3", "张三丰 zhangsanfeng", "中国 zhong1'guo2", "文化"]
    assert user.import_words(lines, reader=lambda text: ("wen", "hua")) == 4
    assert user.words["依达丽棉"][2] == ("yi", "da", "li", "mian") and user.words["张三丰"][2] == ("zhang", "san", "feng")
    again = UserModel()
    again.import_words(user.export_words())
    assert {t: e[2] for t, e in again.words.items()} == {t: e[2] for t, e in user.words.items()}
    with pytest.raises(UserDataError, match="line 2"):
        UserModel().import_words(["中国 zhongguo", "中国 zhong 1 2"])
    with pytest.raises(UserDataError, match="line 1: pinyin"):
        UserModel().import_words(["中国 zhong"])
    with pytest.raises(UserDataError, match="no pinyin"):
        UserModel().import_words(["中国"])


def test_store_round_trip_and_a_corrupt_file_is_moved_aside(tmp_path):
    store = UserStore(tmp_path / "u")
    assert len(store.load()) == 0  # no file yet: an empty history
    user = UserModel()
    user.learn([("西安", ("xi", "an")), ("先", ("xian",))])
    store.save(user)
    back = store.load()
    assert back.words == user.words and back.bigrams == user.bigrams and back.tick == user.tick
    (tmp_path / "u" / FILE).write_text('{"format": "pinhan-user/1", "tick": 1, "words": [[')
    with pytest.raises(UserDataError, match="moved aside"):
        store.load()
    assert not (tmp_path / "u" / FILE).exists() and len(list((tmp_path / "u").glob(f"{FILE}.corrupt-*"))) == 1
    (tmp_path / "u" / FILE).write_text(json.dumps({"format": "other"}))
    with pytest.raises(UserDataError, match="expected pinhan-user/1"):
        store.load()


SAVER = """
import sys
from pinhan.infer.user import UserModel, UserStore
store, user, n = UserStore(sys.argv[1]), UserModel(), 0
while True:
    n += 1
    user.learn([("词" + chr(0x4E00 + n % 5000), ("ci", "yi"))])  # a history of a few thousand words
    store.save(user)
    if n == 3:
        print("saving", flush=True)
"""


def test_a_kill_during_saves_leaves_a_loadable_file(tmp_path):
    directory = tmp_path / "u"
    for delay in (0.05, 0.13, 0.31):
        proc = subprocess.Popen([sys.executable, "-c", SAVER, str(directory)], stdout=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b"saving"
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        user = UserStore(directory).load()  # raises if the file were torn
        assert len(user) >= 3
