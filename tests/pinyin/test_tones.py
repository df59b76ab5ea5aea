"""Tone marks <-> tone numbers, syllables and strings."""

import unicodedata

import pytest

from pinhan.pinyin import TONED_SYLLABLES, PinyinError, mark_syllable, to_tone_marks, to_tone_numbers


@pytest.mark.parametrize(
    "numbers, marks",
    [
        ("zhong1", "zhōng"),
        ("guo2", "guó"),
        ("hao3", "hǎo"),  # a takes the mark
        ("xue2", "xué"),  # e takes the mark
        ("zhou1", "zhōu"),  # ou -> o
        ("liu2", "liú"),  # otherwise the last vowel
        ("gui4", "guì"),
        ("lv2", "lǘ"),
        ("lve4", "lüè"),
        ("nv3", "nǚ"),
        ("er2", "ér"),
        ("ea1", "ê\u0304"),
        ("ea2", "ế"),
        ("m2", "ḿ"),
        ("n3", "ň"),
        ("ng4", "ǹg"),
        ("hm1", "hm\u0304"),
        ("hng2", "hńg"),
        ("le5", "le"),  # neutral tone: no mark
        ("lv5", "lü"),
    ],
)
def test_single_syllables(numbers, marks):
    assert to_tone_marks(numbers) == marks
    assert to_tone_numbers(marks) == numbers


@pytest.mark.parametrize(
    "numbers, marks",
    [
        ("zhong1guo2", "zhōngguó"),
        ("xi1'an1", "xī'ān"),
        ("Bei3jing1 huan1ying2 ni3!", "Běijīng huānyíng nǐ!"),
        ("ni3hao3, 世界 123", "nǐhǎo, 世界 123"),
        ("ma1ma5", "māma"),
        ("Lv3 xing2", "Lǚ xíng"),
    ],
)
def test_strings_both_ways(numbers, marks):
    assert to_tone_marks(numbers) == marks
    assert to_tone_numbers(marks) == numbers


def test_apostrophe_inserted_before_a_o_e_syllables():
    assert to_tone_marks("xi1an1") == "xī'ān"
    assert to_tone_marks("tian1e2") == "tiān'é"
    assert to_tone_marks("hai3ou1") == "hǎi'ōu"
    assert to_tone_marks("xi1 an1") == "xī ān"  # already separated


def test_unmarked_syllables_become_neutral_and_digits_are_kept():
    assert to_tone_numbers("zhong1guo") == "zhong1guo5"
    assert to_tone_numbers("nihao") == "ni5hao5"


def test_text_that_is_not_pinyin_is_kept():
    assert to_tone_numbers("iphone 和 hǎo") == "iphone 和 hao3"
    assert to_tone_marks("iphone 和 hao3") == "iphone 和 hǎo"
    assert to_tone_marks("") == "" and to_tone_numbers("   ") == "   "


def test_errors_point_into_the_original_string():
    with pytest.raises(PinyinError) as err:
        to_tone_numbers("hǎo nǚiii")
    assert err.value.span == (6, 9)
    assert "'iii' at 6..9" in str(err.value)


def test_round_trip_every_toned_syllable():
    """numbers -> marks -> numbers is the identity for all of TONED_SYLLABLES, with
    precomposed and with decomposed (NFD) marks. One test, listing every failure."""
    failures = []
    for toned in TONED_SYLLABLES:
        marks = to_tone_marks(toned)
        back = (to_tone_numbers(marks), to_tone_numbers(unicodedata.normalize("NFD", marks)))
        if back != (toned, toned) or mark_syllable(toned[:-1], int(toned[-1])) != marks:
            failures.append((toned, marks, back))
    assert not failures


def test_mark_syllable_rejects_bad_tone():
    with pytest.raises(ValueError):
        mark_syllable("ma", 6)
