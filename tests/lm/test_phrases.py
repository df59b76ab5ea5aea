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
