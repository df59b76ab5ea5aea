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
