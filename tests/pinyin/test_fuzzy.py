"""Fuzzy rules: names, variants, and their effect on parsing."""

import pytest

from pinhan.pinyin import FUZZY_RULES, PinyinError, PinyinParser, parse
from pinhan.pinyin.fuzzy import resolve_rules, spelling_table, spelling_variants


def test_rule_names_from_the_issue():
    assert set(FUZZY_RULES) == {
        "z-zh", "c-ch", "s-sh", "n-l", "l-r", "f-h",
        "an-ang", "en-eng", "in-ing", "ian-iang", "uan-uang",
    }  # fmt: skip


@pytest.mark.parametrize(
    "given, resolved",
    [
        ((), ()),
        ("all", tuple(sorted(FUZZY_RULES))),
        ("z-zh", ("z-zh",)),
        (["an-ang", "z-zh", "z-zh"], ("an-ang", "z-zh")),
    ],
)
def test_resolve_rules(given, resolved):
    assert resolve_rules(given) == resolved


@pytest.mark.parametrize("bad", [("z-zh", "q-zh"), "zh-z", ["ALL"], 3])
def test_unknown_rule_is_a_plain_value_error_naming_it(bad):
    with pytest.raises(ValueError) as err:
        PinyinParser(fuzzy=bad)
    assert not isinstance(err.value, PinyinError)
    assert "fuzzy" in str(err.value)
    with pytest.raises(ValueError):
        parse("zong", fuzzy=bad)


@pytest.mark.parametrize(
    "syllable, rules, variants",
    [
        ("zhong", ("z-zh",), {"zhong", "zong"}),
        ("zong", ("z-zh",), {"zhong", "zong"}),
        ("zan", ("z-zh", "an-ang"), {"zan", "zhan", "zang", "zhang"}),
        ("nu", ("n-l", "l-r"), {"nu", "lu"}),  # one step: no chain n -> l -> r
        ("lu", ("n-l", "l-r"), {"lu", "nu", "ru"}),
        ("fei", ("f-h",), {"fei", "hei"}),
        ("xian", ("ian-iang", "an-ang"), {"xian", "xiang"}),  # an-ang does not touch ian
        ("yan", ("an-ang",), {"yan", "yang"}),  # typed split y + an
        ("n", ("n-l",), {"n"}),  # interjections have no variants
        ("zhong", (), {"zhong"}),
    ],
)
def test_spelling_variants(syllable, rules, variants):
    assert spelling_variants(syllable, rules) == variants


def test_fuzzy_spellings_need_not_be_syllables():
    table = spelling_table(("z-zh",))
    assert table["zuang"] == {"zhuang"}
    assert table["zong"] == {"zong", "zhong"}
    assert spelling_table(())["zong"] == {"zong"}


def test_zongguo_with_z_zh_reads_zhong():
    first = parse("zongguo", fuzzy=("z-zh",))[0]
    assert first.texts == ("zong", "guo")
    assert "zhong" in first[0].syllables
    assert "zhong" not in parse("zongguo")[0][0].syllables


def test_fuzzy_applies_to_abbreviations_and_partials():
    abbrev = parse("zg", fuzzy=("z-zh",))[0][0]
    assert abbrev.kind == "abbrev" and {"zhong", "zong", "zi"} <= abbrev.syllables
    partial = parse("zon", fuzzy=("z-zh",))[0][0]
    assert partial.kind == "partial" and partial.syllables == {"zong", "zhong"}
    assert parse("zon")[0][0].syllables == {"zong"}


def test_a_fuzzy_only_spelling_parses():
    first = parse("zuang", fuzzy="all")[0]
    assert len(first) == 1 and first[0].kind == "syllable"
    assert first[0].text == "zuang" and (first[0].initial, first[0].final) == ("z", "uang")
    assert "zhuang" in first[0].syllables


def test_final_rules_in_parse():
    seg = parse("xian", fuzzy=("ian-iang",))[0][0]
    assert seg.syllables == {"xian", "xiang"}
    seg = parse("chen", fuzzy=("en-eng", "c-ch"))[0][0]
    assert seg.syllables == {"chen", "cheng", "cen", "ceng"}
