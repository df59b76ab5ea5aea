"""The word lattice (pinhan.infer.search.lattice) on a hand-made lexicon and n-gram."""

from __future__ import annotations

import numpy as np
import pytest

from pinhan.infer.search.lattice import COPY, COPY_COST, LatticeSettings, WordLattice
from pinhan.lm.ngram import WordNgram
from pinhan.lm.words import EOS, EOS_TEXT, WordLexicon

WORDS = [EOS_TEXT, "西安", "先", "西", "安", "中国", "文化", "中", "国", "文", "化", "我", "喜欢"]
READINGS = {"西安": ("xi1", "an1"), "先": ("xian1",), "西": ("xi1",), "安": ("an1",), "中国": ("zhong1", "guo2"),
            "文化": ("wen2", "hua4"), "中": ("zhong1",), "国": ("guo2",), "文": ("wen2",), "化": ("hua4",),
            "我": ("wo3",), "喜欢": ("xi3", "huan1")}


@pytest.fixture(scope="module")
def lattice():
    ids = {w: i for i, w in enumerate(WORDS)}
    lexicon = WordLexicon(WORDS, [{}] + [{READINGS[w]: 5} for w in WORDS[1:]])
    lines = [[ids["中国"], ids["文化"]], [ids["我"], ids["喜欢"], ids["中国"]], [ids["西安"]], [ids["先"]], [ids["先"]]]
    lm = WordNgram.build([np.array(line + [EOS]) for line in lines], len(WORDS), order=3)
    return WordLattice(lexicon, lm, LatticeSettings(beam=8))


def texts(lattice, letters, **options):
    return [lattice.text(p, letters) for p in lattice.nbest(letters, 8, **options)]


def test_every_segmentation_is_in_one_lattice(lattice):
    found = texts(lattice, "xian")
    assert found[0] == "先" and "西安" in found  # xian and xi'an both, the corpus's favourite first
    assert texts(lattice, "zhongguowenhua")[0] == "中国文化"


def test_paths_are_best_first_and_cover_the_letters(lattice):
    paths = lattice.nbest("woxihuanzhongguo", 8)
    assert [p.score for p in paths] == sorted((p.score for p in paths), reverse=True)
    for path in paths:
        assert path.spans[0][0] == 0 and path.spans[-1][1] == len("woxihuanzhongguo")
        assert all(a[1] == b[0] for a, b in zip(path.spans, path.spans[1:]))


def test_an_apostrophe_splits_syllables_not_words(lattice):
    assert texts(lattice, "xian", boundaries=frozenset({2}))[0] == "西安"  # xi'an: 先 cannot span the apostrophe
    assert "先" not in texts(lattice, "xian", boundaries=frozenset({2}))
    assert texts(lattice, "xian", boundaries=frozenset({3}))[0] != "西安"  # xia'n: no word splits so


def test_abbreviations_and_their_absence(lattice):
    assert texts(lattice, "zgwh")[0] == "中国文化"
    assert texts(lattice, "zhgwh")[0] == "中国文化"  # zh typed whole
    assert all("中国" not in t for t in texts(lattice, "zgwh", abbreviations=False))


def test_abbreviated_syllables_cost_the_same_whatever_words_they_make(lattice):
    """abbreviation_cost is paid per abbreviated syllable: on initials alone, 中国 as one word and
    中 + 国 as two pay the same, so the n-gram alone decides between them (a cost per arc would
    be a cost per word)."""
    cost = LatticeSettings().abbreviation_cost
    ids = {w: i for i, w in enumerate(WORDS)}
    for piece, words in (("zg", ["中国"]), ("z", ["中"]), ("g", ["国"])):
        arcs = lattice._key_arcs(piece, True)
        for word in words:
            at = list(arcs.word).index(ids[word])
            reading_logp = lattice.lexicon.reading_logp(ids[word], piece, True)[1]
            assert arcs.cost[at] == pytest.approx(reading_logp + cost * len(piece))
    assert lattice._key_arcs("zhongguo", False).cost.max() == 0.0  # spelled in full: no cost


def test_letters_no_word_spells_are_copied_at_a_cost(lattice):
    best = lattice.nbest("xianq", 1)[0]
    assert lattice.text(best, "xianq") in ("先q", "西安q") and best.words[-1] == COPY
    assert best.score < COPY_COST + 1
    assert lattice.nbest("", 4) == []


def test_a_last_syllable_typed_only_in_part_is_completed(lattice):
    """A keystroke at a time: zhongg and zhonggu already offer 中国; a completed word costs more
    than one spelled out, so whole syllables still decide when they fit."""
    assert texts(lattice, "zhongg")[0] == "中国"
    assert "中国" in texts(lattice, "zhonggu", abbreviations=False)
    assert texts(lattice, "woxihuanzhongguo")[0] == "我喜欢中国"
    completed = [p for p in lattice.nbest("zhongg", 8) if lattice.text(p, "zhongg") == "中国"][0]
    spelled = lattice.nbest("zhongguo", 1)[0]
    assert completed.score < spelled.score and completed.readings == (("zhong1", "guo2"),)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_compiled_queries_equal_the_numpy_model(order):
    """The search's compiled n-gram queries give logprob_grid's numbers exactly, every backoff
    path included: stored trigrams, (BOS, BOS) histories whose keys lie at the top of the key
    space, unseen contexts, pruned n-grams, lower-order models."""
    from pinhan.infer.search.lattice_search import final_scores, ngram_arrays, start_scores

    rng = np.random.default_rng(order)
    V = 30
    lines = [rng.integers(1, V, size=rng.integers(1, 8)).tolist() + [EOS] for _ in range(300)]
    lm = WordNgram.build([np.array(line) for line in lines], V, order=order, min_count=[1, 2][: order - 1] or 1)
    arrays = ngram_arrays(lm)
    bos = lm.BOS
    histories = np.array([[bos, bos], [bos, 3], [3, 4], [7, 7], [29, 1], [bos, 29]] +
                         rng.integers(1, V, size=(40, 2)).tolist(), dtype=np.int64)
    for word in range(V):
        expected = lm.logprob_grid(histories, np.full((len(histories), 1), word))[:, 0]
        got = final_scores(arrays, histories[:, 0].copy(), histories[:, 1].copy(), word)
        np.testing.assert_array_equal(got, expected)
    words = np.arange(V, dtype=np.int64)  # the first words of an input: after (BOS, BOS)
    np.testing.assert_array_equal(start_scores(arrays, words, bos), lm.logprob_grid(np.full((1, 2), bos), words[None, :])[0])


def test_the_hash_tables_find_every_key_and_no_other():
    from pinhan.infer.search.lattice_search import _hash_table, _hashed

    rng = np.random.default_rng(0)
    keys = np.unique(np.concatenate([rng.integers(0, 1 << 62, size=500), np.arange(40) << 42, [(1 << 63) - 1]]))
    values = rng.normal(size=len(keys)).astype(np.float32)
    table, logp, shift = _hash_table(keys, values)
    assert len(table) >= 2 * len(keys) and (table != -1).sum() == len(keys)
    for key, value in zip(keys, values):
        assert _hashed(table, logp, shift, int(key)) == (True, value)
    for key in (1, 2, (1 << 42) + 1, (1 << 62) + 5):
        assert not _hashed(table, logp, shift, key)[0]
    empty = _hash_table(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
    assert not _hashed(*empty, 7)[0]


def test_the_search_keeps_at_most_beam_states_and_the_best_path_wins(lattice):
    """A beam of 1 still finds a path; a wide beam's best is at least as good as a narrow one's."""
    narrow = WordLattice(lattice.lexicon, lattice.lm, LatticeSettings(beam=1))
    wide = WordLattice(lattice.lexicon, lattice.lm, LatticeSettings(beam=64))
    for letters in ("woxihuanzhongguowenhua", "xianzgwh", "zhongguoq"):
        one, many = narrow.nbest(letters, 8), wide.nbest(letters, 8)
        assert len(one) >= 1 and many[0].score >= one[0].score
        assert len({tuple(p.words) for p in many}) == len(many)  # distinct paths


def _every_path(lattice, letters: str) -> list[tuple[float, tuple[int, ...], tuple]]:
    """(score, words, spans) of every path through the arcs that copies no letter, scored from
    the n-gram itself (``logprob_grid``) as the search scores them: by brute force, best first."""
    arcs, lm, L = lattice.arcs(letters, frozenset(), False), lattice.lm, len(letters)
    found = []

    def walk(pos, history, words, spans, score):
        if pos == L:
            final = lm.logprob_grid(np.array([history]), np.array([[EOS]]))[0, 0]
            found.append((score + float(final), tuple(words), tuple(spans)))
            return
        a = arcs[pos]
        for end, word, cost in zip(a.end, a.word, a.cost):
            if word == COPY:
                continue
            lp = float(lm.logprob_grid(np.array([history]), np.array([[word]]))[0, 0])
            walk(int(end), (history[1], int(word)), words + [int(word)], spans + [(pos, int(end))], score + lp + float(cost))

    walk(0, (lm.BOS, lm.BOS), [], [], 0.0)
    return sorted(found, key=lambda f: -f[0])


@pytest.mark.parametrize("letters, early", [("xianxian", True), ("xianzhongguowenhua", True), ("woxihuanxian", False)])
def test_the_n_best_are_the_best_paths_of_the_whole_lattice(lattice, letters, early):
    """With a beam wide enough to prune nothing, the N best are exactly the N best of every path
    (by brute force), not only one path per final state: paths that differ early and share
    their last two words (先|中国|文化 and 西安|中国|文化) are all there, best first.
    (Paths that copy a letter are left out of the comparison: the exact N best, less those,
    are the best of the paths that copy nothing.)"""
    wide = WordLattice(lattice.lexicon, lattice.lm, LatticeSettings(beam=64))
    every = _every_path(wide, letters)
    got = wide.nbest(letters, 12, abbreviations=False)
    assert len(got) == 12 and [p.score for p in got] == sorted((p.score for p in got), reverse=True)
    spelled = [p for p in got if COPY not in p.words]
    assert len(spelled) >= min(4, len(every)) and len(every) >= 3
    assert [(p.words, p.spans) for p in spelled] == [(w, s) for _, w, s in every[: len(spelled)]]
    np.testing.assert_allclose([p.score for p in spelled], [score for score, _, _ in every[: len(spelled)]], rtol=0, atol=1e-4)
    if early:  # more paths than final states: paths that differ only early survive
        assert len({(p.words[-2:], p.spans[-1]) for p in spelled}) < len(spelled)


def test_one_best_is_the_viterbi_path(lattice):
    for letters in ("woxihuanzhongguowenhua", "xianzgwh", "zhongguoq"):
        assert lattice.nbest(letters, 1)[0] == lattice.nbest(letters, 8)[0]


def test_erhua_is_typed_with_a_trailing_r_and_never_completes_a_begun_syllable():
    words = [EOS_TEXT, "这", "这儿", "儿", "人", "玩儿", "玩"]
    readings = {"这": ("zhe4",), "这儿": ("zhe4", "er2"), "儿": ("er2",), "人": ("ren2",), "玩儿": ("wan2", "er2"),
                "玩": ("wan2",)}
    ids = {w: i for i, w in enumerate(words)}
    lexicon = WordLexicon(words, [{}] + [{readings[w]: 5} for w in words[1:]])
    lines = [[ids["这儿"]], [ids["这"], ids["人"]], [ids["玩儿"]], [ids["这"]]]
    lattice = WordLattice(lexicon, WordNgram.build([np.array(line + [EOS]) for line in lines], len(words), order=3),
                          LatticeSettings(beam=8))
    assert texts(lattice, "zher")[0] == "这儿" and texts(lattice, "wanr")[0] == "玩儿"
    def spelled_or_completed(letters):  # the arcs leaving 0 that are not abbreviations (zh e: 这儿 as initials)
        arcs = lattice.arcs_at(letters, 0)
        return [int(w) for w, abbreviated in zip(arcs.word, arcs.abbreviated) if not abbreviated]

    assert ids["这儿"] not in spelled_or_completed("zhe")  # zh + er is not a begun syllable completed
    assert ids["这儿"] in spelled_or_completed("zhee")  # its full spelling, begun, still is


def test_arcs_do_not_depend_on_what_was_converted_before(lattice):
    """Arcs are cached by the letters their scan reads from a position; an input that shares
    those letters with an earlier one (another ending, an apostrophe further on, a last syllable
    begun) must get exactly the arcs a fresh lattice gives it."""
    inputs = ["zhongguowenhua", "zhongguowenh", "zhongg", "zhonggu", "xian", "xi'an", "xianq", "zgwh", "zhgwh",
              "woxihuanzhongguo", "woxihuanzhong'guo", "woxihuanzhonggu", "wenhuazhong", "xiqianzhongg", "anxian"]
    warm = WordLattice(lattice.lexicon, lattice.lm, lattice.settings)
    for typed in inputs + inputs[::-1]:
        letters = typed.replace("'", "")
        boundaries = frozenset(i - n for n, i in enumerate(j for j, c in enumerate(typed) if c == "'"))
        for abbreviations in (True, False):
            cold = WordLattice(lattice.lexicon, lattice.lm, lattice.settings)
            for start in range(len(letters)):
                got = warm.arcs_at(letters, start, boundaries, abbreviations)
                want = cold.arcs_at(letters, start, boundaries, abbreviations)
                assert got.end.tolist() == want.end.tolist() and got.word.tolist() == want.word.tolist()
                assert got.cost.tolist() == want.cost.tolist() and got.readings == want.readings
                assert got.abbreviated == want.abbreviated
