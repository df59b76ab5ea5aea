"""The function-word rules g2p runs over its open positions (pinhan.infer.tasks.function_words)."""

import pytest

from pinhan.infer.tasks import function_words as fw

# a stand-in for the phrase dictionaries: the words these cases need
WORDS = frozenset("没收 收到 没落 落下 地壳 应用 反应 答应 应该 只是 只有 获得 得到 得了 得很 都会 首都 成都 重新 重要 以为 成为 认为 为了 "
                  "人为 当地 慢慢 认真 地学 主要 不能 得不偿失 灾难 遇难 弄堂 酒吧".split())


def is_word(text: str) -> bool:
    return text in WORDS


def reading(rule, text: str, char: str, fixed: list | None = None, nth: int = 0) -> str | None:
    """What ``rule`` fixes at the ``nth`` ``char`` of ``text`` (None: left as it was)."""
    at = [i for i, ch in enumerate(text) if ch == char][nth]
    return rule(text, list(fixed) if fixed is not None else [None] * len(text), is_word)[at]


@pytest.mark.parametrize("text", ["损失应由谁承担", "此外，应加紧捣毁", "不应认定为合同", "依法应予惩处"])
def test_ying_outside_words_is_the_modal(text):
    assert reading(fw.modal_ying, text, "应") == "ying1"


@pytest.mark.parametrize("text", ["这是应用软件", "他答应了", "应受访者要求，隐去姓名", "你应该去", "回应"])
def test_ying_in_a_word_or_answering_a_request_is_left_open(text):
    assert reading(fw.modal_ying, text, "应") is None


@pytest.mark.parametrize("text", ["为消防车让路", "我们，为人民服务", "他将为大家提供帮助", "一直为别人考虑", "民警为其准备早饭",
                                  "他们不能为追求利益", "谁为国家分忧", "她为车祸感到难过"])
def test_wei_that_serves_someone_is_for(text):
    assert reading(fw.preposition_wei, text, "为") == "wei4"


@pytest.mark.parametrize("text", ["此案被列为重点", "不为名利所累", "以本协议为准", "期限为三年", "称他为英雄", "这主要为质量问题",
                                  "会议为期三天", "“抓摊”为形式", "娶她为妻", "选他为班长"])
def test_wei_as_the_copula_or_passive_is_left_open(text):
    assert reading(fw.preposition_wei, text, "为") is None


def test_a_rule_leaves_what_an_earlier_step_fixed():
    text = "为消防车让路"
    assert reading(fw.preposition_wei, text, "为", fixed=["wei2"] + [None] * 5) == "wei2"


@pytest.mark.parametrize("text", ["我得走了", "你得好好学习", "事情还得从头说起", "我们就得关门"])
def test_de_after_a_person_or_adverb_is_must(text):
    assert reading(fw.modal_dei, text, "得") == "dei3"


@pytest.mark.parametrize("text", ["他跑得很快", "他说得对", "变得越来越好", "好得很", "工资不能开得太高"])
def test_de_before_a_complement_is_the_particle(text):
    assert reading(fw.complement_de, text, "得") == "de5"
    assert reading(fw.modal_dei, text, "得") is None


@pytest.mark.parametrize("text", ["他获得很多奖", "如果得不到帮助", "我得很快走", "他得到了"])
def test_de_as_get_or_in_a_word_is_no_complement(text):
    assert reading(fw.complement_de, text, "得") is None


@pytest.mark.parametrize("text,expected", [("我很喜欢这只小狗", "zhi1"), ("两只手", "zhi1"), ("30只壁虎", "zhi1"),
                                           ("这只是开始", None), ("他只有一个", None), ("一只", None)])
def test_zhi_after_a_number_or_demonstrative_is_the_measure_word(text, expected):
    assert reading(fw.measure_zhi, text, "只") == expected


def test_dou_after_its_subject_is_the_adverb_over_a_phrase():
    text = "他们都会来"
    assert reading(fw.adverb_dou, text, "都", fixed=[None, None, "du1", "hui4", None]) == "dou1"
    assert reading(fw.adverb_dou, "首都北京", "都", fixed=[None, "du1", None, None]) == "du1"
    assert reading(fw.adverb_dou, "成都会议", "都", fixed=[None, "du1", "hui4", None]) == "du1"


@pytest.mark.parametrize("text,expected", [("请给我倒杯水", "dao4"), ("倒入碗中", "dao4"), ("大树倒了", None), ("他倒是很忙", None)])
def test_dao_before_what_is_poured_is_pour(text, expected):
    assert reading(fw.neighbour_readings, text, "倒") == expected


@pytest.mark.parametrize("text,expected", [("这个箱子太重了", "zhong4"), ("伤势较重", "zhong4"), ("重新开始", None),
                                           ("很重要", None), ("重拾信心", None)])
def test_zhong_after_a_degree_adverb_is_heavy(text, expected):
    assert reading(fw.heavy_zhong, text, "重") == expected


def test_apply_runs_each_rule_on_its_character_and_keeps_the_rest():
    text = "我得走了，应为你留饭"
    out = fw.apply(text, [None] * len(text), is_word)
    assert out[1] == "dei3" and out[5] == "ying1" and out[6] == "wei4"  # 为你: "for you"
    assert [out[i] for i in (0, 2, 3, 4, 7, 8, 9)] == [None] * 7


@pytest.mark.parametrize("text,expected", [("这都能忘吗", "dou1"), ("交警都愣了", "dou1"), ("首都是北京", None),
                                           ("成都是省会", None), ("南都记者", None)])
def test_an_open_dou_in_no_word_with_what_precedes_is_the_adverb(text, expected):
    assert reading(fw.adverb_dou, text, "都") == expected


@pytest.mark.parametrize("text,char,nth,expected", [("我们量一量", "量", 0, "liang2"), ("我们量一量", "量", 1, "liang2"),
                                                    ("我数了数", "数", 0, "shu3"), ("请你称一下", "称", 0, "cheng1"),
                                                    ("他教我们汉语", "教", 0, "jiao1"), ("他的数学很好", "数", 0, None),
                                                    ("量体温", "量", 0, None), ("教学楼", "教", 0, None)])
def test_a_repeated_or_tried_verb_and_teaching_someone_read_as_the_verb(text, char, nth, expected):
    assert reading(fw.verb_readings, text, char, nth=nth) == expected


def test_apply_runs_the_verb_rule_for_any_of_its_characters():
    assert fw.apply("数一数", [None] * 3, is_word) == ["shu3", None, "shu3"]


@pytest.mark.parametrize("text,char,expected", [("我好几天没睡好觉", "觉", "jiao4"), ("一觉醒来", "觉", "jiao4"),
                                                ("他冲着我笑", "冲", "chong4"), ("我觉得很好", "觉", None),
                                                ("他冲进去了", "冲", None), ("感觉很好", "觉", None)])
def test_a_neighbour_settles_the_reading(text, char, expected):
    assert reading(fw.neighbour_readings, text, char) == expected


@pytest.mark.parametrize("text,char,expected", [("私募壳买卖", "壳", "ke2"), ("这个壳很硬", "壳", "ke2"), ("地壳运动", "壳", None),
                                                ("刚开始以为会太难了", "难", "nan2"), ("这道题难", "难", "nan2"),
                                                ("灾难来了", "难", None), ("他遇难了", "难", None),
                                                ("这本书不咋样", "咋", "za3"), ("并不过分吧。", "吧", "ba5"),
                                                ("去酒吧喝酒", "吧", None), ("性吧论坛", "吧", None), ("四个字吧", "吧", "ba5"), ("一直没时间写", "没", "mei2"),
                                                ("她挑了一条裤子", "挑", "tiao1"), ("来了个挑石头的汉子", "挑", "tiao1"),
                                                ("马背上加个挑枪武士", "挑", None),
                                                ("他的脾气很倔", "倔", "jue4")])
def test_an_open_character_in_no_word_reads_the_everyday_way(text, char, expected):
    assert reading(fw.open_readings, text, char) == expected


@pytest.mark.parametrize("text,char,expected", [
    ("服务态度实在是太差了", "差", "cha4"), ("电线质量差或周围有易燃物品", "差", "cha4"), ("比差得太远了", "差", "cha4"),
    ("他又累又饿", "累", "lei4"), ("不怕苦不怕累", "累", "lei4"), ("你也累的够呛", "累", "lei4"),
    ("如果有高度差，", "差", None), ("只有一字之差", "差", None), ("从而减少了累诉", "累", None), ("误差很大", "差", None),
    ("达累斯萨拉姆", "累", None), ("山多地少。", "少", "shao3"), ("胃病患者少吃螃蟹", "少", "shao3"),
    ("争吵的事情少了", "少", "shao3"), ("本报记者杨少波报道", "少", None), ("梁少华居士", "少", None),
    ("酒店实际的情况比网上要差", "差", "cha4"), ("顶盖强度稍差", "差", "cha4"), ("跟官网报价没差多少", "差", "cha4"),
    ("比如高度差", "差", None), ("完全没差", "差", None)])
def test_poor_and_tired_are_read_as_adjectives_where_their_context_says_so(text, char, expected):
    words = WORDS | {"误差"}
    at = text.index(char)
    assert fw.adjective_readings(text, [None] * len(text), words.__contains__)[at] == expected


@pytest.mark.parametrize("text,expected", [("头发长出来了", "zhang3"), ("孩子长高了", "zhang3"), ("时间长了", None),
                                           ("时间越长越好", None)])
def test_zhang_before_what_it_grows_into_is_grow(text, expected):
    assert reading(fw.grow_zhang, text, "长") == expected


@pytest.mark.parametrize("text,fixed,expected", [("你好好学习", ["ni3", "hao3", "hao4", "xue2", "xi2"], ["hao3", "hao3"]),
                                                ("好好想想", [None] * 4, ["hao3", "hao3"]),
                                                ("爱好好像", ["ai4", "hao4", "hao3", "xiang4"], ["hao4", "hao3"])])
def test_hao_hao_is_the_adverb_over_the_phrases_across_it(text, fixed, expected):
    at = text.index("好好")
    assert fw.reduplicated_hao(text, fixed, is_word)[at : at + 2] == expected


@pytest.mark.parametrize("text,char,expected", [("他冲我笑了笑", "冲", "chong4"), ("请给我盛一碗饭", "盛", "cheng2"),
                                                ("他请了三天假", "假", "jia4"), ("盛大的晚会", "盛", None),
                                                ("真假难辨", "假", None), ("我睡不着觉", "觉", "jiao4"),
                                                ("看着觉得好笑", "觉", None), ("我挨了一顿批评", "挨", "ai2"),
                                                ("光盘塞进去", "塞", "sai1"), ("何塞的球衣", "塞", None),
                                                ("他咽了一口口水", "咽", "yan4"), ("咽部异物感", "咽", None),
                                                ("撒上切好的香菜", "撒", "sa3"), ("撒上切好的香菜", "切", "qie1"),
                                                ("把怒气撒在他身上", "撒", None), ("讲故事哄他入睡", "哄", "hong3"),
                                                ("炸至金黄", "炸", "zha2"), ("尸体被刨出坟墓", "刨", "pao2"),
                                                ("该寺所藏佛像", "藏", "cang2"), ("盛米饭的碗", "盛", "cheng2")])
def test_towards_fill_and_leave(text, char, expected):
    assert reading(fw.neighbour_readings, text, char) == expected


@pytest.mark.parametrize("text,expected", [("这只小狗", "zhi1"), ("那只会越想越糟", None), ("那只属于你", None)])
def test_zhi_before_a_verb_is_only(text, expected):
    assert reading(fw.measure_zhi, text, "只") == expected


def test_adjectives_leave_a_fixed_reading_alone():
    assert reading(fw.adjective_readings, "太差了", "差", ["tai4", "chai1", "le5"]) == "chai1"


@pytest.mark.parametrize("text,char,expected", [("简直不得了", "了", "liao3"), ("我走不了", "了", "liao3"), ("吃了饭", "了", None),
                                                ("不好了", "了", None), ("睡不着的她", "着", "zhao2"), ("还用得着减吗", "着", "zhao2"),
                                                ("他看着我", "着", None), ("不着急", "着", None)])
def test_le_and_zhe_after_a_verbs_bu_or_de_are_potential_complements(text, char, expected):
    assert reading(fw.potential_complement, text, char) == expected


@pytest.mark.parametrize("text,char,expected", [("他把信藏在枕头下", "藏", "cang2"), ("他藏着一封信", "藏", "cang2"),
                                                ("贝壳里藏有泥沙", "藏", "cang2"), ("他在藏工作", "藏", None),
                                                ("提示牌粘在电脑上", "粘", "zhan1"), ("米饭很粘", "粘", None),
                                                ("把地弄干净", "弄", "nong4"), ("百福弄社区", "弄", None)])
def test_hiding_and_sticking_are_read_as_verbs_before_what_they_take(text, char, expected):
    assert reading(fw.neighbour_readings, text, char) == expected


@pytest.mark.parametrize("text,expected", [("他没收到我的信", "mei2"), ("他没落下什么", "mei2"), ("他没收了手机", "mo4"),
                                           ("淹没在水里", "mo4")])
def test_mei_before_a_word_of_its_own_is_not(text, expected):
    fixed = [None] * len(text)
    at = text.index("没")
    fixed[at] = "mo4"
    assert fw.negation_mei(text, fixed, is_word)[at] == expected


@pytest.mark.parametrize("text,expected", [("他把钱还了", "huan2"), ("书已经还了。", "huan2"), ("记者还了解到", None),
                                           ("这还了得", None)])
def test_huan_before_le_is_give_back(text, expected):
    words = WORDS | {"了解"}
    at = text.index("还")
    assert fw.returned_huan(text, [None] * len(text), words.__contains__)[at] == expected
