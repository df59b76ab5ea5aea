"""normalize_syllable / is_syllable: one syllable in any spelling -> canonical form."""

import pytest

from pinhan.pinyin import PinyinError, is_syllable, normalize_syllable


@pytest.mark.parametrize(
    "given, canonical",
    [
        ("zhong1", "zhong1"),
        ("Zhōng", "zhong1"),
        ("ZHŌNG", "zhong1"),
        ("zhong", "zhong"),
        ("lü4", "lv4"),
        ("lu:4", "lv4"),
        ("lv4", "lv4"),
        ("lǜ", "lv4"),
        ("lu\u0308\u0300", "lv4"),  # combining diaeresis + grave
        ("nü", "nv"),
        ("nüè", "nve4"),
        ("lue4", "lve4"),
        ("jv3", "ju3"),
        ("xüe2", "xue2"),
        ("ê2", "ea2"),
        ("ế", "ea2"),
        ("ê\u0304", "ea1"),
        ("ea", "ea"),
        ("ma0", "ma5"),
        ("ma5", "ma5"),
        ("ḿ", "m2"),
        ("ňg", "ng3"),
        ("hm", "hm"),
        ("ă", "a3"),  # a breve is read as the third tone
        ("ｚｈｏｎｇ１".replace("１", "1"), "zhong1"),
        ("zhōng1", "zhong1"),  # mark and digit agree
    ],
)
def test_normalize_syllable(given, canonical):
    assert normalize_syllable(given) == canonical
    assert is_syllable(given)


@pytest.mark.parametrize(
    "bad",
    ["", "zhon", "zh", "zhong6", "zhong12", "zhōng2", "zhōngguó", "zhong guo", "zhong'", " zhong",
     "a1b", "iii", "xīa\u0301", "b\u0304", "中", "1"],
)
def test_normalize_syllable_rejects(bad):
    with pytest.raises(PinyinError) as err:
        normalize_syllable(bad)
    assert err.value.span == (0, len(bad))
    assert repr(bad) in str(err.value)
    assert not is_syllable(bad)


def test_non_str_is_a_type_error():
    with pytest.raises(TypeError):
        normalize_syllable(3)  # type: ignore[arg-type]
    assert not is_syllable(None)  # type: ignore[arg-type]
