"""Syllable inventory: coverage of pypinyin's dictionary, typed splits, constants."""

import pytest
from pypinyin import Style, pinyin
from pypinyin.pinyin_dict import pinyin_dict

from pinhan.pinyin import (
    FINALS,
    INITIALS,
    SYLLABLES,
    TONED_SYLLABLES,
    PinyinError,
    normalize_syllable,
    split_syllable,
)


def test_every_pypinyin_reading_is_in_the_inventory():
    """Every reading pypinyin gives for every character of its dictionary (tone3,
    heteronyms, neutral tone 5) normalises to a syllable of the inventory."""
    toned = frozenset(TONED_SYLLABLES)
    missing = set()
    for code in pinyin_dict:
        for reading in pinyin(chr(code), style=Style.TONE3, heteronym=True, neutral_tone_with_five=True)[0]:
            try:
                canonical = normalize_syllable(reading)
            except PinyinError:
                missing.add(reading)
                continue
            if canonical not in toned and canonical + "5" not in toned:
                missing.add(reading)
    assert not missing, sorted(missing)


@pytest.mark.parametrize(
    "syllable",
    "yi wu yu yue yuan yun er ea m n ng hm hng lo yo o ei dia den fiao rua lve nve "
    "nun shei zhei tei kei cei sei nou pia biang".split(),
)
def test_rare_and_zero_initial_syllables_present(syllable):
    assert syllable in SYLLABLES


@pytest.mark.parametrize("text", ["zhon", "iii", "jv", "lue", "ê", "Zhong", "zhong1", "", "v"])
def test_non_canonical_forms_are_not_syllables(text):
    assert text not in SYLLABLES


@pytest.mark.parametrize(
    "syllable, split",
    [
        ("zhong", ("zh", "ong")),
        ("yan", ("y", "an")),
        ("yuan", ("y", "uan")),
        ("wu", ("w", "u")),
        ("er", ("", "er")),
        ("a", ("", "a")),
        ("m", ("", "m")),
        ("n", ("", "n")),
        ("ng", ("", "ng")),
        ("hm", ("h", "m")),
        ("hng", ("h", "ng")),
        ("ea", ("", "ea")),
        ("lve", ("l", "ve")),
        ("ju", ("j", "u")),
        ("shuang", ("sh", "uang")),
    ],
)
def test_split_syllable(syllable, split):
    assert split_syllable(syllable) == split


@pytest.mark.parametrize("bad", ["zhon", "zh", "", "zhong1", "Zhong"])
def test_split_syllable_rejects_non_syllables(bad):
    with pytest.raises(PinyinError) as err:
        split_syllable(bad)
    assert err.value.span == (0, len(bad))


def test_every_split_recombines_into_known_parts():
    for syllable in SYLLABLES:
        initial, final = split_syllable(syllable)
        assert initial + final == syllable
        assert initial == "" or initial in INITIALS
        assert final in FINALS


def test_finals_are_exactly_the_finals_of_splits():
    assert set(FINALS) == {split_syllable(s)[1] for s in SYLLABLES}
    assert list(FINALS) == sorted(FINALS)


def test_initials_as_typed():
    assert INITIALS == tuple("b p m f d t n l g k h j q x zh ch sh r z c s y w".split())


def test_toned_syllables_is_every_syllable_times_five_tones_sorted():
    assert len(TONED_SYLLABLES) == 5 * len(SYLLABLES) == len(set(TONED_SYLLABLES))
    assert list(TONED_SYLLABLES) == sorted(TONED_SYLLABLES)
    assert {"zhong1", "lv4", "le5", "ea2", "m4"} <= set(TONED_SYLLABLES)
    assert {t[:-1] for t in TONED_SYLLABLES} == set(SYLLABLES)


def test_constants_are_immutable():
    assert isinstance(SYLLABLES, tuple) and isinstance(TONED_SYLLABLES, tuple)
    assert isinstance(INITIALS, tuple) and isinstance(FINALS, tuple)
    assert list(SYLLABLES) == sorted(SYLLABLES)
