import pytest

from pinhan.lm.phrases import PhraseReadings, tone3


def test_tone_marks_become_tone3():
    assert [tone3(s) for s in ("zhǎng", "le", "lǜ", "nǚ")] == ["zhang3", "le5", "lv4", "nv3"]


def test_longest_phrase_fixes_its_characters_and_leaves_the_rest_open():
    phrases = PhraseReadings({"银行": [["yín"], ["háng"]], "行长": [["háng"], ["zhǎng"]], "银行行长": [["yín"], ["háng"], ["háng"], ["zhǎng"]],
                              "长大": [["zhǎng"], ["dà"]], "朝阳": [["zhāo", "cháo"], ["yáng"]], "一": [["yī"]]})
    assert phrases.fixed("银行行长") == ["yin2", "hang2", "hang2", "zhang3"]
    assert phrases.fixed("他长大了") == [None, "zhang3", "da4", None]
    assert phrases.fixed("朝阳") == [None, "yang2"]  # two readings listed: left open
    assert phrases.fixed("一") == [None] and "一" not in phrases  # single characters are no phrases
    assert phrases.fixed("") == []


def test_pypinyin_phrases_read_the_issue_examples():
    phrases = PhraseReadings.pypinyin()
    assert len(phrases) > 40000
    assert phrases.fixed("银行行长") == ["yin2", "hang2", "hang2", "zhang3"]


@pytest.mark.parametrize("text", ["银行行长说，今年的利率不会变。", "他长得很高，还了书就走了", "abc 中国123人民", "", "𪀮好"])
def test_annotating_with_the_phrase_table_is_pypinyins_annotation(text):
    from pinhan.data.annotate import annotate

    assert PhraseReadings.pypinyin().annotate(text) == annotate(text)


def test_the_context_encoder_uses_the_annotator_it_is_given(api):
    from pinhan.infer.inputs import ContextEncoder

    seen = []

    def annotator(text):
        seen.append(text)
        return ["zhong1", None]

    chars, factors = ContextEncoder(api.vocab, api.bundle.tables, 32, annotator=annotator)("中，")
    assert seen == ["中，"] and len(chars) == 2
    assert (factors[0] == api.bundle.tables.factors[api.vocab.syllable_id("zhong1")]).all()


def test_ge_after_a_number_is_the_measure_word_and_begins_no_phrase():
    table = PhraseReadings({"个子": [["gè"], ["zi"]], "子女": [["zǐ"], ["nǚ"]], "这个": [["zhè"], ["ge"]]})
    assert table.fixed("两个子女") == [None, None, "zi3", "nv3"]  # not 两 + 个子 (zi5) + 女
    assert table.fixed("他个子高") == [None, "ge4", "zi5", None]
    assert table.fixed("这个子女") == ["zhe4", "ge5", "zi3", "nv3"]  # 这个 matched first, as before


def test_le_after_a_verb_is_the_particle_where_the_next_character_begins_a_phrase():
    table = PhraseReadings({"了当": [["liǎo"], ["dàng"]], "当地": [["dāng"], ["dì"]], "了解": [["liǎo"], ["jiě"]],
                            "解下": [["jiě"], ["xià"]], "直截了当": [["zhí"], ["jié"], ["liǎo"], ["dàng"]]})
    assert table.fixed("吃了当地菜") == [None, None, "dang1", "di4", None]  # not 了当 + 地
    assert table.fixed("直截了当") == ["zhi2", "jie2", "liao3", "dang4"]
    assert table.fixed("截了当地") == [None, "liao3", "dang4", None]  # 截's 了 is 直截了当's, never the particle
    assert table.fixed("去了解下情况") == [None, "liao3", "jie3", None, None, None]  # 了解 is the verb
