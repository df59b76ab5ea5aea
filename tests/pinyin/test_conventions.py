"""Dictionary tones of decided readings: neutral tone, erhua r5, citation tones of 一 and 不."""

import pytest

from pinhan.pinyin.conventions import dictionary_tones


def test_a_dictionary_words_neutral_tone_is_written():
    assert dictionary_tones("晚上", ["wan3", "shang4"], ["wan3", "shang5"]) == ["wan3", "shang5"]


def test_only_the_tone_changes_never_the_syllable():
    # the dictionary's neutral reading is another syllable: the decided reading stands
    assert dictionary_tones("行", ["hang2"], ["xing5"]) == ["hang2"]


def test_full_tones_of_the_dictionary_do_not_override_the_decision():
    assert dictionary_tones("长城", ["chang2", "cheng2"], ["zhang3", "cheng2"]) == ["chang2", "cheng2"]


def test_erhua_is_r5_but_not_where_er_begins_a_word():
    assert dictionary_tones("玩儿", ["wan2", "er2"], ["wan2", "er5"]) == ["wan2", "r5"]
    assert dictionary_tones("名儿童", ["ming2", "er2", "tong2"], ["ming2", "er5", None], words={"儿童"}) == ["ming2", "er2", "tong2"]
    assert dictionary_tones("儿", ["er5"], ["er5"]) == ["er5"]  # nothing before it to suffix


@pytest.mark.parametrize("text, decided, want", [("一个", ["yi2", "ge4"], ["yi1", "ge4"]),
                                                  ("一起", ["yi4", "qi3"], ["yi1", "qi3"]),
                                                  ("不是", ["bu2", "shi4"], ["bu4", "shi4"])])
def test_yi_and_bu_take_their_citation_tones(text, decided, want):
    assert dictionary_tones(text, decided, [None, None]) == want


def test_a_neutral_bu_in_a_word_stays_neutral():
    assert dictionary_tones("对不起", ["dui4", "bu4", "qi3"], ["dui4", "bu5", "qi3"]) == ["dui4", "bu5", "qi3"]


def test_non_hanzi_pass_through_and_lengths_must_agree():
    assert dictionary_tones("a上", [None, "shang4"], [None, None]) == [None, "shang4"]
    with pytest.raises(ValueError, match="one entry per character"):
        dictionary_tones("晚上", ["wan3"], ["wan3", "shang5"])


@pytest.mark.parametrize("text,want", [("这个东西很便宜", "xi5"), ("我去买东西", "xi5"), ("东西走向的山脉", "xi1"),
                                       ("横贯东西", "xi1"), ("东西两侧", "xi1")])
def test_dongxi_the_thing_is_neutral_where_the_dictionary_leaves_it_open(text, want):
    at = text.index("东西") + 1
    decided = ["xi1" if i == at else "x1" for i in range(len(text))]
    assert dictionary_tones(text, decided, [None] * len(text))[at] == want


def test_a_dictionary_that_fixes_dongxi_is_not_overruled():
    text = "东西方"
    assert dictionary_tones(text, ["dong1", "xi1", "fang1"], ["dong1", "xi1", "fang1"])[1] == "xi1"
