import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pinhan.errors import InputError, PinhanError
from pinhan.infer.inputs import segment_keys
from pinhan.pinyin import PinyinError, parse


def test_segment_keys(api):
    vocab = api.vocab
    keys = segment_keys(vocab, parse("zhong1guo")[0])
    assert [vocab.initials[i] + vocab.finals[f] for i, f, _ in keys] == ["zhong", "guo"]
    assert vocab.tones[keys[0][2]] == "1" and keys[1][2] == 1  # toned, then toneless (UNKNOWN)
    abbreviated = segment_keys(vocab, parse("zhongg")[0])
    assert vocab.initials[abbreviated[1][0]] == "g" and abbreviated[1][1] == 1


def _readable(api, ch: str, syllables: set[str]) -> bool:
    return any(r.rstrip("12345") in syllables for r in api.lexicon.readings().get(ch, []))


@pytest.mark.parametrize("mode", ["accurate", "fast"])
def test_candidates_are_consistent_with_their_pinyin(api, mode):
    for pinyin in ("nihao", "zhongguowenhua", "xian", "womenmingtianqubeijing", "zhongg", "Beijing"):
        candidates = api.convert(pinyin, k=12, mode=mode)
        assert candidates and len({c.text for c in candidates}) == len(candidates)  # no duplicates
        assert len(candidates) <= 12
        ends = {seg.end for path in parse(pinyin, max_paths=4) for seg in path}
        for c in candidates:
            assert len(c.pinyin) == len(c.text)
            for ch, syllable in zip(c.text, c.pinyin):
                if syllable == ch:  # copied as typed: a syllable no hanzi of this tiny lexicon has
                    assert ch.lower() in pinyin.lower()
                else:  # a hanzi, never a special token, read as the syllable it reports
                    assert api.vocab.char_to_id[ch] >= 5 and syllable in api.lexicon.readings()[ch]
            if c.kind == "whole":
                assert c.consumed == len(pinyin)
            else:
                assert c.consumed < len(pinyin) and c.consumed in ends  # covers whole segments
                assert len(c.text) == 1 or c.text in api.converter.words
        whole = [c for c in candidates if c.kind == "whole"]
        assert whole and candidates[0].kind == "whole"  # the best sentence comes first


def test_candidate_order_under_each_scoring(api):
    """Logits rank within the parser's best segmentation (it leads); the softmax ranks all."""
    best_path = [seg.text for seg in parse("zhongguo", max_paths=1)[0]]
    logits = api.convert("zhongguo", k=20)
    assert len(logits[0].text) == len(best_path) == 2  # from zhong guo, not zhong gu o
    softmax = api.with_config(scoring="softmax", max_paths=4).convert("zhongguo", k=20, prefixes=False)
    assert [c.score for c in softmax] == sorted((c.score for c in softmax), reverse=True)



def test_alternative_segmentations_that_split_off_lone_letters_are_not_decoded():
    """ni ha o (nihao) and wo me n (women) are skipped; xi an (xian) and ban ge (bange, whose best
    reading has a lone e) stay; initials-only input keeps its single reading."""
    from pinhan.infer.tasks.convert import _worth_decoding

    def readings(pinyin):
        return [str(path) for path in _worth_decoding(parse(pinyin, max_paths=4))][:2]

    assert [str(p) for p in parse("nihao", max_paths=2)] == ["ni hao", "ni ha o"]  # what the parser ranks
    assert readings("nihao") == ["ni hao"]  # every other reading of nihao splits off a letter
    assert readings("women") == ["wo men"]
    assert readings("xian") == ["xian", "xi an"]
    assert readings("bange") == ["bang e", "ban ge"]
    assert readings("zgrm") == ["z g r m"]
    assert readings("nvren") == ["nv ren"]  # nv re n, nv r en: both split a letter off


def test_readings_whose_syllables_all_convert_go_first(api):
    """hm is a syllable (噷) that no hanzi of the lexicon has: read as it parses it would be copied
    as typed, so h m (two abbreviations) is decoded instead; max_paths limits what is decoded."""
    assert [str(p) for p in parse("hm", max_paths=2)] == ["hm", "h m"]
    two = api.with_config(max_paths=2).converter
    assert [str(path) for path in two.parse("hm", two.parser())][0] == "h m"
    assert [str(path) for path in two.parse("xian", two.parser())] == ["xian", "xi an"]  # both convert: parser order
    one = api.with_config(max_paths=1).converter
    assert [str(path) for path in one.parse("xian", one.parser())] == ["xian"]
    candidates = one.convert_batch(["hm"], k=5)[0]
    assert candidates and all(c.text != "hm" for c in candidates)  # hanzi, not the letters copied


def test_whole_candidates_follow_the_typed_syllables(api):
    for c in api.convert("zhongguowenhua", k=20, mode="accurate"):
        if c.kind == "whole" and len(c.text) == 4:
            assert [p.rstrip("12345") for p in c.pinyin] == ["zhong", "guo", "wen", "hua"]


def test_deterministic_and_batch_independent(api):
    inputs = [("nihao", ""), ("zhongguo", "银行"), ("xian", ""), ("ni3hao 123", "")]
    batched = api.convert_batch(inputs, k=6)
    assert batched == api.convert_batch(inputs, k=6)
    for item, expected in zip(inputs, batched):
        assert api.convert(item[0], context=item[1], k=6) == expected


def test_pass_through_is_copied(api):
    for mode in ("accurate", "fast"):
        best = api.convert("nihao2024tian", k=3, mode=mode)[0]
        assert best.text[2:6] == "2024" and len(best.text) == 7 and best.pinyin[2:6] == tuple("2024")
        assert api.convert("123", k=3, mode=mode)[0].text == "123"


def test_fuzzy_rules_widen_what_a_syllable_allows(api):
    plain = api.convert("zongguo", k=30, mode="fast")
    fuzzy = api.convert("zongguo", k=30, mode="fast", fuzzy=["z-zh"])
    # the tiny lexicon has 中 (zhong) but nothing read zong: without the rule zong is copied
    assert not any(_readable(api, c.text[0], {"zhong"}) for c in plain if c.kind == "whole")
    assert plain[0].text.startswith("zong")
    assert fuzzy[0].kind == "whole" and _readable(api, fuzzy[0].text[0], {"zhong"})
    with pytest.raises(InputError, match="unknown fuzzy rule"):
        api.convert("zongguo", fuzzy=["z/zh"])


def test_empty_input_gives_no_candidates(api):
    assert api.convert("") == [] and api.convert("   ") == []
    assert api.convert_batch([]) == []


def test_input_over_the_limit_is_a_clear_error(api):
    with pytest.raises(InputError, match="65 syllables; the limit is 64"):
        api.convert("ni" * 65)
    assert api.convert("ni" * 64, k=1, mode="fast")  # at the limit: fine


def test_bad_arguments_are_clear_errors(api):
    with pytest.raises(InputError, match="mode"):
        api.convert("nihao", mode="slow")
    with pytest.raises(InputError, match="k must"):
        api.convert("nihao", k=0)
    with pytest.raises(InputError, match="pinyin must be a string"):
        api.convert(123)
    with pytest.raises(InputError, match="context must be a string"):
        api.convert("nihao", context=5)
    with pytest.raises(InputError, match="inputs must be a list"):
        api.convert_batch("nihao")
    with pytest.raises(PinyinError, match="cannot read 'iii' at 2..5"):
        api.convert("nǚiii")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=24))
def test_no_unicode_input_crashes(api, text):
    try:
        candidates = api.convert(text, k=3, mode="fast")
    except PinhanError:
        return  # a clear error is fine; anything else fails the test
    assert all(isinstance(c.text, str) and c.text for c in candidates)


def test_fuzzy_all_in_every_spelling(api):
    every = api.convert("zongguo", k=3, fuzzy="all")
    assert every == api.convert("zongguo", k=3, fuzzy=["all"]) == api.convert("zongguo", k=3, fuzzy=["all", "z-zh"])
