"""Scanner: letters, tone digits, separators, other text, and their spans."""

import pytest

from pinhan.pinyin.scan import scan


def runs(text):
    found = scan(text)
    return [(found.letters[r.lo : r.hi], r.tone, r.notation, r.at_end) for r in found.runs]


def test_tone_digits_end_runs():
    assert runs("zhong1guo2") == [("zhong", 1, False, False), ("guo", 2, False, False)]


@pytest.mark.parametrize("digit, tone", [("0", 5), ("5", 5), ("3", 3)])
def test_tone_digit_values(digit, tone):
    assert runs(f"ma{digit}")[0][1] == tone


def test_longer_digit_runs_and_other_digits_are_other_text():
    found = scan("nihao123 ma6")
    assert [(r.tone) for r in found.runs] == [0, 0]
    assert found.other == [(5, 8), (11, 12)]


def test_separators_and_other_text():
    found = scan("xi'an ，世界")
    assert found.letters == "xian"
    assert [(r.lo, r.hi) for r in found.runs] == [(0, 2), (2, 4)]
    assert found.other == [(6, 9)]  # adjacent other characters merge


def test_u_colon_is_one_letter_with_a_two_character_span():
    found = scan("lu:4")
    assert found.letters == "lv"
    assert (found.starts, found.ends) == ([0, 1], [1, 3])
    assert found.runs[0].notation and found.runs[0].tone == 4


def test_combining_marks_attach_to_the_previous_letter():
    found = scan("lu\u0308\u0301e")
    assert found.letters == "lve" and found.marks == [0, 2, 0]
    assert found.ends == [1, 4, 5] and found.marked


def test_stray_combining_mark_is_other_text():
    found = scan("\u0304a b\u0304")
    assert found.letters == "ab"
    assert found.other == [(0, 1), (4, 5)]


def test_case_width_and_special_letters():
    assert scan("ZhōngGuó").letters == "zhongguo"
    assert scan("ｚｈｏｎｇ").letters == "zhong"
    assert scan("ê").letters == "ê" and scan("Ü").letters == "v"


def test_at_end_only_for_a_final_run_without_tone():
    assert runs("zhon") == [("zhon", 0, False, True)]
    assert runs("zhon' ")[0][3] is True
    assert runs("zhon1")[0][3] is False
    assert runs("zhon!")[0][3] is False
    assert runs("zhon guo")[0][3] is False
