import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pinhan.data.annotate import is_hanzi
from pinhan.errors import InputError, PinhanError


def test_one_syllable_per_hanzi_from_its_readings(api):
    readings = api.lexicon.readings()
    for text in ("银行行长", "我们明天去银行，行长说今年的利率不会变。", "abc中国2024年", "长城"):
        result = api.g2p(text)
        assert len(result.pinyin) == len(text) and len(result.hanzi) == len(text)
        syllables = result.syllables()
        assert len(syllables) == sum(is_hanzi(ch) for ch in text)  # every hanzi here has a reading
        for ch, p, h in zip(text, result.pinyin, result.hanzi):
            if h:
                assert p in readings.get(ch, []) or ch not in api.vocab.char_to_id
            else:
                assert p == ch  # passed through


def test_polyphones_are_flagged(api):
    result = api.g2p("行长好")
    readings = api.lexicon.readings()
    assert list(result.polyphonic) == [len(readings[ch]) > 1 for ch in "行长好"]
    assert result.to_dict()["polyphonic"] == [i for i, ch in enumerate("行长好") if len(readings[ch]) > 1]


def test_tone_styles(api):
    numbers = api.g2p("银行").syllables()
    marks = api.g2p("银行", tones="mark").syllables()
    plain = api.g2p("银行", tones="none").syllables()
    assert numbers[0] == "yin2" and marks[0] == "yín" and plain[0] == "yin"
    assert [p.rstrip("12345") for p in numbers] == plain
    with pytest.raises(InputError, match="tones must be one of"):
        api.g2p("银行", tones="ipa")


def test_batch_is_deterministic_and_matches_single(api):
    texts = ["银行行长", "", "长大了", "hello"]
    batch = api.g2p_batch(texts)
    assert batch == api.g2p_batch(texts)
    assert [api.g2p(t) for t in texts] == batch
    assert batch[1].pinyin == () and batch[3].syllables() == []


def test_a_hanzi_outside_the_vocabulary_reads_by_pypinyin(api):
    result = api.g2p("龘中")  # 龘 is not in the tiny corpus
    assert result.hanzi == (True, True) and result.pinyin[0] == "da2"


def test_limits_and_types(api):
    with pytest.raises(InputError, match="257 characters; the limit is 256"):
        api.g2p("中" * 257)
    with pytest.raises(InputError, match="text must be a string"):
        api.g2p(None)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=20))
def test_no_unicode_input_crashes(api, text):
    try:
        result = api.g2p(text)
    except PinhanError:
        return
    assert len(result.pinyin) == len(text)


def test_stopping_after_the_last_polyphone_is_exact(api):
    """Decoding every position greedily gives what g2p gives (it stops after the last character
    with several readings and fills in the rest)."""
    from pinhan.infer.search.beam import beam_search
    from pinhan.infer.search.constraints import H2PConstraint
    from pinhan.infer.inputs import encode_h2p

    class Everything(H2PConstraint):
        def length(self, row):
            return len(self.chars[row])

    api = api.with_config(g2p_phrases=False)  # the decoder alone (phrases would narrow its readings)
    engine = api.g2p_engine
    for text in ("银行行长说今年的利率不会变", "长城很长了吗", "我们明天去北京"):
        run = engine._runs(0, text)[0]
        enc = encode_h2p([run.chars], [""], engine.contexts)
        full, _ = beam_search(api.runner, api.runner.encode(enc), Everything([run.chars], [run.readings], engine.tables), 1, beam_size=1)
        want = [api.vocab.syllables[s] for s in full[0][0].tokens]
        assert api.g2p(text).lexical() == want  # the decided readings, before dictionary tones


def test_pinyin_is_written_with_dictionary_tones_and_readings_keep_the_lexical_tone(api):
    text = "我们晚上一起玩儿"
    result = api.g2p(text)
    assert result.pinyin[3] == "shang5" and result.readings[3] in ("shang4", "shang3")  # 晚上: neutral in CC-CEDICT
    assert result.pinyin[4] == "yi1"  # citation tone, whatever sandhi a phrase list wrote
    # erhua in 玩儿 (the untrained model may decide 儿's rarer reading ren2, which stays as it is)
    assert result.pinyin[7] == ("r5" if result.readings[7].startswith("er") else result.readings[7])
    assert result.to_dict()["readings"] == result.lexical() and len(result.lexical()) == len(text)
    plain = api.with_config(g2p_dictionary_tones=False).g2p(text)
    assert plain.pinyin == plain.readings == result.readings
    assert api.g2p(text, tones="mark").pinyin[3] == "shang"


def test_de_after_an_adverbial_is_the_particle(api):
    """地 after an adverbial word reads de5, over a phrase that takes it with the next character
    (认真地学习: 地学 di4) and over the 2-character words an adverb's last character makes with
    it (积极地: 极地; 小心地: 心地); where it makes a word with what precedes it (当地, 场地), begins
    a place word (地区) or ends the clause, it is left to the other stages; off, it is not fixed."""
    engine = api.g2p_engine

    def de(text: str) -> str | None:
        return engine.fixed_readings(text)[text.index("地")]

    for text in ("他慢慢地走了", "我们要认真地学习", "他们积极地参加活动", "他小心地打开", "预见性地警告", "有选择地吸收"):
        assert de(text) == "de5", text
        assert api.g2p(text).readings[text.index("地")] == "de5", text
    for text in ("他在当地工作", "出租车场地很大", "这块地很肥", "广大地区", "这是一片荒地", "实地考察"):
        assert de(text) != "de5", text
    assert api.with_config(g2p_adverbial_de=False).g2p_engine.fixed_readings("他慢慢地走了")[3] != "de5"


def test_function_words_outside_dictionary_words_are_fixed_by_their_rules(api):
    """The modal 应 (ying1), 为 "for" (wei4), the modal 得 (dei3) and 都 after its subject (dou1,
    over the phrase 都会) are fixed before the head; off, they are not."""
    engine = api.g2p_engine
    cases = {"损失应由谁承担": ("应", "ying1"), "他将为大家提供帮助": ("为", "wei4"), "我得走了": ("得", "dei3"),
             "他们都会来": ("都", "dou1")}
    off = api.with_config(g2p_function_words=False).g2p_engine
    for text, (char, syllable) in cases.items():
        at = text.index(char)
        assert engine.fixed_readings(text)[at] == syllable, text
        assert api.g2p(text).readings[at] == syllable, text
        assert off.fixed_readings(text)[at] != syllable, text


def test_a_separable_verb_reads_as_the_phrase_it_makes_with_its_object(api):
    """还了书 reads 还 as 还书 does (huan2); not where 行 belongs to the word before it (进行了规定)
    or the character after the particle repeats the verb (查了查); off, the head decides."""
    engine = api.g2p_engine
    assert len(engine.readings("还")) > 1
    assert engine.fixed_readings("他还了书") == [None, "huan2", None, None]
    assert engine.fixed_readings("他还过书") == [None, "huan2", None, None]
    assert engine.fixed_readings("方面进行了规定")[3] is None
    assert engine.fixed_readings("查了查")[0] is None
    assert api.with_config(g2p_separable=False).g2p_engine.fixed_readings("他还过书") == [None] * 4
    assert api.g2p("他还了书").readings[1] == "huan2"
