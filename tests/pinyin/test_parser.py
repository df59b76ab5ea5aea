"""Parser golden cases: one behaviour per test, each able to fail on its own."""

import pytest

from pinhan.pinyin import SYLLABLES, Path, PinyinError, PinyinParser, Segment, parse


def first(text, **kw):
    return parse(text, **kw)[0]


def view(path):
    """(kind, text, tone) per segment: what most goldens compare."""
    return [(s.kind, s.text, s.tone) for s in path]


def texts(paths):
    return [p.texts for p in paths]


# -- segmentation and ranking ---------------------------------------------------------


def test_xian_gives_xian_first_then_xi_an():
    paths = texts(parse("xian"))
    assert paths[0] == ("xian",)
    assert paths[1] == ("xi", "an")


def test_apostrophe_forces_xi_an():
    paths = parse("xi'an")
    assert paths[0].texts == ("xi", "an")
    assert ("xian",) not in texts(paths)
    assert [(s.start, s.end) for s in paths[0]] == [(0, 2), (3, 5)]


def test_whitespace_separates_like_an_apostrophe():
    assert texts(parse("xi an")) == texts(parse("xi'an"))
    assert texts(parse("  xi \t an  ")) == texts(parse("xi'an"))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("zhongguowenhua", ("zhong", "guo", "wen", "hua")),
        ("ZhongGuo", ("zhong", "guo")),
        ("woaibeijingtiananmen", ("wo", "ai", "bei", "jing", "tian", "an", "men")),
        ("nihao", ("ni", "hao")),
        ("lve", ("lve",)),
        ("lue", ("lve",)),  # alias spelling, canonical text
        ("jvzi", ("ju", "zi")),
        ("ê", ("ea",)),
        ("hng", ("hng",)),
    ],
)
def test_full_pinyin_first_path(text, expected):
    assert first(text).texts == expected
    assert all(s.kind == "syllable" for s in first(text))


@pytest.mark.parametrize("text", ["lv", "lü", "lu:", "LÜ", "LU:"])
def test_u_umlaut_spellings(text):
    path = first(text)
    assert view(path) == [("syllable", "lv", None)]
    assert (path[0].start, path[0].end) == (0, len(text))


def test_tone_digits():
    assert view(first("zhong1guo2")) == [("syllable", "zhong", 1), ("syllable", "guo", 2)]
    assert [(s.start, s.end) for s in first("zhong1guo2")] == [(0, 6), (6, 10)]  # digit in span
    assert view(first("ma0")) == [("syllable", "ma", 5)]  # 0 is the neutral tone


def test_tone_marks():
    assert view(first("zhōngguó")) == [("syllable", "zhong", 1), ("syllable", "guo", 2)]
    assert view(first("Xī'ān")) == [("syllable", "xi", 1), ("syllable", "an", 1)]
    assert first("xīān").texts == ("xi", "an")  # two marks cannot share one syllable


def test_tone_applies_to_every_reading_of_the_run():
    for path in parse("xian1"):
        assert path[-1].tone == 1 and all(s.tone is None for s in path[:-1])


def test_initials_only():
    path = first("zgwh")
    assert view(path) == [("abbrev", c, None) for c in "zgwh"]
    assert all(s.final is None for s in path)
    # z, c, s abbreviate zh, ch, sh too (zgwh -> 中国文化); zh stays exact
    assert {"zhong", "zong"} <= path[0].syllables
    assert "zong" not in first("zhg")[0].syllables
    assert path[1].syllables >= {"guo", "ge"}


def test_zh_ch_sh_are_one_abbreviation():
    paths = parse("zh")
    assert view(paths[0]) == [("abbrev", "zh", None)]
    assert paths[1].texts == ("z", "h")
    assert first("zh")[0].syllables == frozenset(
        s for s in first("zh")[0].syllables if s.startswith("zh")
    ) and "zhong" in first("zh")[0].syllables


def test_mixed_abbreviation():
    path = first("zhongg")
    assert view(path) == [("syllable", "zhong", None), ("abbrev", "g", None)]
    assert (path[1].initial, path[1].final) == ("g", None)


def test_incomplete_last_syllable():
    path = first("zhongguow")
    assert view(path) == [("syllable", "zhong", None), ("syllable", "guo", None), ("abbrev", "w", None)]
    path = first("zhongguowe")
    last = path[-1]
    assert (last.kind, last.text, last.initial, last.final) == ("partial", "we", "w", "e")
    assert last.syllables == {"wei", "wen", "weng"}
    path = first("zhon")
    assert (path[0].kind, path[0].initial, path[0].final) == ("partial", "zh", "on")
    assert path[0].syllables == {"zhong"}


def test_partial_only_at_the_very_end():
    for text in ("zhon'guo", "zhon guo", "zhon1", "zhon!"):
        assert all(s.kind != "partial" for p in parse(text, max_paths=64) for s in p), text
    assert first("zhon' ")[0].kind == "partial"


def test_abbreviations_off_reads_full_syllables_only():
    paths = parse("xian", abbreviations=False)
    assert all(s.kind == "syllable" for p in paths for s in p)
    assert texts(paths) == [("xian",), ("xi", "an"), ("xia", "n"), ("xi", "a", "n")]
    assert first("zhongguox", abbreviations=False).texts == ("zhongguox",)  # no reading: a word


def test_tone_digit_on_an_abbreviation():
    assert view(first("zh1")) == [("abbrev", "zh", 1)]


def test_interjections_rank_below_normal_syllables():
    assert texts(parse("xian", abbreviations=False))[1] == ("xi", "an")  # not xia n


# -- passthrough and errors -------------------------------------------------------------


def test_digits_that_are_not_tones_pass_through():
    path = first("nihao123")
    assert view(path) == [("syllable", "ni", None), ("syllable", "hao", None), ("passthrough", "123", None)]
    assert (path[2].start, path[2].end, path[2].syllables) == (5, 8, frozenset())
    assert first("hao6").texts == ("hao", "6")


def test_punctuation_and_cjk_pass_through():
    path = first("nǐ hǎo，世界")
    assert view(path) == [("syllable", "ni", 3), ("syllable", "hao", 3), ("passthrough", "，世界", None)]
    assert (path[2].start, path[2].end) == (6, 9)


def test_unreadable_plain_letters_are_a_word_that_passes_through():
    path = first("wo xihuan iphone")
    assert path.texts == ("wo", "xi", "huan", "iphone")
    assert path[-1].kind == "passthrough" and path[-1].start == 10
    assert view(first("iii")) == [("passthrough", "iii", None)]
    assert first("usb3").texts == ("usb3",)  # a digit after a word is not a tone


def test_unreadable_pinyin_notation_is_an_error_naming_the_span():
    with pytest.raises(PinyinError) as err:
        parse("nǚiii")
    assert err.value.span == (2, 5)
    assert str(err.value) == "cannot read 'iii' at 2..5 as pinyin"
    with pytest.raises(PinyinError) as err:
        parse("hao ǖ")
    assert err.value.span == (4, 5)


def test_only_passthrough():
    assert view(first("123，")) == [("passthrough", "123，", None)]


@pytest.mark.parametrize("text", ["", "   ", "'", " ' '\t"])
def test_nothing_to_read_gives_no_paths(text):
    assert parse(text) == []


def test_max_length():
    parse("a" * 256)
    with pytest.raises(PinyinError) as err:
        parse("a" * 257)
    assert err.value.span == (256, 257)
    with pytest.raises(PinyinError):
        parse("ab", max_length=1)
    assert PinyinParser(max_length=1000).parse("ni" * 400)[0].n_syllables == 400


def test_non_str_is_a_type_error():
    with pytest.raises(TypeError):
        parse(b"nihao")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "8"])
def test_bad_max_paths(bad):
    with pytest.raises(ValueError):
        parse("xian", max_paths=bad)


# -- limits, ordering, determinism ---------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 3, 8, 50])
def test_max_paths_is_a_prefix_of_a_longer_ranking(k):
    text = "zhongguowenhuaxian"
    longer = parse(text, max_paths=200)
    assert parse(text, max_paths=k) == longer[:k]
    assert len(parse(text, max_paths=k)) == k


def test_paths_are_distinct_and_ranked():
    paths = parse("xianzaishixiangzgwh", max_paths=64)
    assert len(set(paths)) == len(paths) == 64
    keys = [p.rank_key for p in paths]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_parsing_is_deterministic_and_parsers_are_independent():
    a = PinyinParser(fuzzy="all").parse("zongguo")
    PinyinParser().parse("zongguo")
    assert PinyinParser(fuzzy="all").parse("zongguo") == a == parse("zongguo", fuzzy="all")


def test_syllable_freq_orders_within_a_tier():
    uniform = texts(parse("henan", abbreviations=False))
    assert uniform[:2] == [("hen", "an"), ("he", "nan")]  # tie: longer first segment
    freq = {"he": 1000, "nan": 500, "hen": 10, "an": 10}
    ranked = texts(parse("henan", abbreviations=False, syllable_freq=freq))
    assert ranked[:2] == [("he", "nan"), ("hen", "an")]
    # ... but never above a reading with fewer syllables.
    assert texts(parse("xian", syllable_freq={"xi": 10**9, "an": 10**9}))[0] == ("xian",)


def test_syllable_freq_accepts_any_spelling_and_sums_tones():
    a = PinyinParser(syllable_freq={"he2": 500, "hé": 500, "nan2": 500})
    b = PinyinParser(syllable_freq={"he": 1000, "nan": 500})
    assert a.parse("henan") == b.parse("henan")


@pytest.mark.parametrize("bad", [{"zhon": 1}, {"ma": -1}, {"ma": float("nan")}, {"ma": "x"}])
def test_bad_syllable_freq(bad):
    with pytest.raises(ValueError):
        PinyinParser(syllable_freq=bad)


def test_score_is_the_log_prior():
    one = first("ma", abbreviations=False)
    assert one.texts == ("ma",)
    assert one.score < 0
    two = first("mama", abbreviations=False)
    assert two.score == pytest.approx(2 * one.score, abs=1e-5)


# -- read_as --------------------------------------------------------------------------------


def test_read_as_matches_parse():
    parser = PinyinParser()
    text = "xianzaizgw"
    checked = 0
    for path in parser.parse(text, max_paths=16):
        assert parser.read_as(text, [s.text for s in path.pinyin]) == path
        checked += 1
    assert checked >= 8
    assert parser.read_as("xian", ["xi", "an"]) == parser.parse("xian")[1]
    assert parser.read_as("ni hao!", ["ni", "hao"]).texts == ("ni", "hao", "!")


@pytest.mark.parametrize("wrong", [["xi"], ["xia", "an"], ["xi", "an", "n"], []])
def test_read_as_rejects_non_readings(wrong):
    with pytest.raises(PinyinError):
        PinyinParser().read_as("xian", wrong)


def test_segment_and_path_types():
    path = first("zhong1guo")
    assert isinstance(path, Path) and isinstance(path[0], Segment)
    assert len(path) == 2 and list(path) == list(path.segments) and path[-1] is path.segments[-1]
    assert str(path) == "zhong1 guo"
    assert path[0].toned == "zhong1"
    with pytest.raises(AttributeError):
        path[0].text = "x"  # type: ignore[misc]
    assert hash(path) == hash(first("zhong1guo"))
