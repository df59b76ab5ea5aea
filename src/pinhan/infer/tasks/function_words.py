"""Function words the polyphone head reads wrong outside dictionary words: rules over the text.

The head learns from CPP's labels and g2pM's readings. CPP labels a polyphone mostly inside a
dictionary word (its 20 labelled 应 are 应用, 反应, 效应, ...: 16 ``ying4``), and g2pM, trained on
the same kind of labels, reads alike; so where no word holds the character the head gives the
in-word reading: 应 as the modal "should" (损失应由谁承担) ``ying4``, 为 as "for" (为你扛起)
``wei2``, and 地 after an adverbial (慢慢地走) ``di4``; so too everyday adjectives and verbs whose
other readings live in words (太差了 ``chai1``, 太难了 ``nan4``, 藏在 ``zang4``). On news and review
text these are common and spoken aloud by a TTS front-end; each rule below fixes one such
character where its context leaves no doubt, over the head (and over a phrase only where a rule
says so).

Each rule takes the text, the readings fixed so far (one per character; None: open) and a test
of whether a string is a word of the phrase dictionaries, and returns the readings with its own
fixed. :class:`~pinhan.infer.tasks.g2p.G2P` runs them under their
:class:`~pinhan.infer.config.InferenceConfig` settings.
"""

from __future__ import annotations

from collections.abc import Callable

from pinhan.data.annotate import is_hanzi

WordTest = Callable[[str], bool]

# characters that end a clause: what follows one starts a new clause
_CLAUSE_BREAKS = frozenset("，。；：！？、,.;:!?（(“\"「『 \t\n")
_CLOSERS = frozenset("”」』）)》")  # close a quote or an aside: what follows continues the clause


def _clause_after(text: str, at: int, width: int = 10) -> str:
    """Up to ``width`` characters after ``at``, cut at the first clause break."""
    out = []
    for ch in text[at + 1 : at + 1 + width]:
        if ch in _CLAUSE_BREAKS or ch in _CLOSERS:
            break
        out.append(ch)
    return "".join(out)


def _clause_before(text: str, at: int) -> str:
    """The characters from the last clause break before ``at`` up to it."""
    start = at
    while start > 0 and text[start - 1] not in _CLAUSE_BREAKS:
        start -= 1
    return text[start:at]


def _in_word(text: str, at: int, is_word: WordTest, longest: int = 4) -> bool:
    """Whether a dictionary word of 2..``longest`` characters in ``text`` holds position ``at``."""
    return any(is_word(text[j:k]) for j in range(max(0, at - longest + 1), at + 1)
               for k in range(max(at + 1, j + 2), min(len(text), j + longest) + 1))


def _ends_word(text: str, at: int, is_word: WordTest, longest: int = 4) -> bool:
    """Whether a dictionary word in ``text`` holds position ``at`` and begins before it."""
    return any(is_word(text[j:k]) for j in range(max(0, at - longest + 1), at)
               for k in range(at + 1, min(len(text), j + longest) + 1))


# --- 应: the modal "should" ----------------------------------------------------------------------

# 应 ... 要求 / 邀请: "at the request of", ``ying4`` (应受访者要求, 应美方邀请)
_ANSWERING = ("要求", "邀请", "请求", "之邀", "号召", "召唤")


def modal_ying(text: str, fixed: list[str | None], is_word: WordTest) -> list[str | None]:
    """应 in no dictionary word and before a hanzi is the modal "should", ``ying1`` (损失应由谁承担,
    不应认定, 依法应予惩处); its ``ying4`` readings are words (应用, 反应, 答应, 应邀) or answer a
    request (应受访者要求). In 8,000 inews sentences it changed 32 of the head's ``ying4``, 31 of
    them rightly (the one wrong: 轻声地应着, "answered") (RESULTS.md, "Polyphones, tenth part")."""
    out = list(fixed)
    for at, ch in enumerate(text):
        if ch != "应" or out[at] is not None or at + 1 >= len(text) or not is_hanzi(text[at + 1]):
            continue
        if _in_word(text, at, is_word) or any(w in _clause_after(text, at, 12) for w in _ANSWERING):
            continue
        out[at] = "ying1"
    return out


# --- 得: the modal "must" -----------------------------------------------------------------------

# who must (我得走了, 你得去医院) and the adverbs before a must (还得, 就得, 总得): after a verb 得
# is the complement particle (跑得很快) and begins words as the verb "get" (得到, 得了, 得奖)
_MUST_AFTER = ("我", "你", "他", "她", "您", "咱", "们", "大家", "自己", "还", "就", "也", "都", "总", "又", "只", "非",
               "必", "可", "恐怕", "而且")
_NOT_MUST_BEFORE = frozenset("过了着到出知以分奖益意失手逞罪病数票")


def modal_dei(text: str, fixed: list[str | None], is_word: WordTest) -> list[str | None]:
    """An open 得 in no dictionary word, after a person or an adverb and before a hanzi that
    makes it no verb "get" (得了, 得过, 得到), is the modal "must", ``dei3`` (我得走了, 还得用药打针,
    你得好好学习); the head reads it ``de5`` or ``de2`` (RESULTS.md, "Polyphones, tenth part")."""
    out = list(fixed)
    for at, ch in enumerate(text):
        if ch != "得" or out[at] is not None or at == 0 or at + 1 >= len(text):
            continue
        after = text[at + 1]
        if not is_hanzi(after) or after in _NOT_MUST_BEFORE or _in_word(text, at, is_word):
            continue
        if text.endswith(_MUST_AFTER, 0, at):
            out[at] = "dei3"
    return out


# --- 得: the complement particle --------------------------------------------------------------------

# what a complement after a verb's 得 begins with (跑得很快, 说得对, 变得越来越, 做得不好, 看得清楚)
_COMPLEMENT = ("很", "太", "真", "挺", "非常", "十分", "特别", "越", "更", "最", "比较", "较", "相当", "不", "多", "好", "快", "慢",
               "对", "清", "满", "那么", "这么", "那样", "这样", "有点", "有些", "够", "像", "极", "格外", "飞快", "干净", "一塌糊涂")


def complement_de(text: str, fixed: list[str | None], is_word: WordTest) -> list[str | None]:
    """An open 得 in no dictionary word, after a hanzi that is not a person or an adverb of
    :func:`modal_dei` and before the start of a complement (很, 不, 越, 对, 清, ...), is the
    particle ``de5`` (他跑得很快, 说得对, 变得越来越好); the head reads them ``de2``: in 8,000
    inews sentences 26 changed, 25 rightly (RESULTS.md, "Polyphones, tenth part")."""
    out = list(fixed)
    for at, ch in enumerate(text):
        if ch != "得" or out[at] is not None or at == 0 or at + 1 >= len(text) or not is_hanzi(text[at - 1]):
            continue
        if _ends_word(text, at, is_word) or text.endswith(_MUST_AFTER, 0, at):
            continue  # 获得, 值得, 只得: 得 in a word with what precedes it; 得很 is the complement itself
        if text.startswith(_COMPLEMENT, at + 1) and not text.startswith("不到", at + 1):  # 得不到: "cannot get"
            out[at] = "de5"
    return out


# --- 只: the measure word -------------------------------------------------------------------------

_COUNTING = frozenset("这那哪几一二两三四五六七八九十百千万每半多0123456789")
# verbs no measured noun begins with: 那只会越想越糟, 那只属于你 (``zhi3``, "only")
_ONLY_BEFORE = frozenset("会属剩需顾管怪求懂")


def measure_zhi(text: str, fixed: list[str | None], is_word: WordTest) -> list[str | None]:
    """An open 只 in no dictionary word, right after a demonstrative or a number (这只小狗, 两只手,
    几只鸟) and before a hanzi, is the measure word ``zhi1``; as "only" it begins words there
    (这只是, 一只有, 那只能) or follows no counting word (RESULTS.md, "Polyphones, tenth part")."""
    out = list(fixed)
    for at, ch in enumerate(text):
        if ch != "只" or out[at] is not None or at == 0 or at + 1 >= len(text) or not is_hanzi(text[at + 1]):
            continue
        if text[at - 1] in _COUNTING and text[at + 1] not in _ONLY_BEFORE and not _in_word(text, at, is_word):
            out[at] = "zhi1"
    return out


# --- 都: the adverb "all" ------------------------------------------------------------------------------

_WHO = frozenset("们我你他她它您谁人家者")
# a city's 都 after a direction no dictionary lists with it (南都, the newspaper)
_CITY_BEFORE = frozenset("南北东西中")


def adverb_dou(text: str, fixed: list[str | None], is_word: WordTest) -> list[str | None]:
    """都 is the adverb ``dou1`` right after a person or a plural (他们都会来, 人都), over a phrase
    the dictionaries match across it (都会 ``du1 hui4``, "metropolis"; 都市), and wherever it is
    open and in no word with what precedes it (首都, 成都, 武都, 望都: the dictionaries list the
    cities; 南都 aside): the head read some of these ``du1`` (交警都愣了, 这都能忘吗)."""
    out = list(fixed)
    for at, ch in enumerate(text):
        if ch != "都" or at == 0 or at + 1 >= len(text) or not is_hanzi(text[at + 1]):
            continue
        if text[at - 1] in _WHO:
            out[at] = "dou1"
        elif out[at] is None and text[at - 1] not in _CITY_BEFORE and not _ends_word(text, at, is_word):
            out[at] = "dou1"
    return out


# --- 没: "not" before a word ---------------------------------------------------------------------------


def negation_mei(text: str, fixed: list[str | None], is_word: WordTest) -> list[str | None]:
    """没 that begins a word (没收 ``mo4``, "confiscate"; 没落) whose second character begins a word
    of its own (收到, 收拾, 落下, 收入) is "not", ``mei2``, over the phrase: forward maximum
    matching reads 他没收到我的信 as 没收 + 到."""
    out = list(fixed)
    for at, ch in enumerate(text):
        if ch == "没" and at + 2 < len(text) and is_word(text[at : at + 2]) and is_word(text[at + 1 : at + 3]):
            out[at] = "mei2"
    return out


# --- 重: the adjective "heavy" --------------------------------------------------------------------

# degree adverbs: what follows one is an adjective (太重了, 伤势较重, 负担越来越重)
_DEGREE = ("太", "很", "较", "更", "最", "挺", "好", "特别", "非常", "十分", "过于", "越来越", "比较", "相当", "极其", "格外",
           "有点", "不太")


def heavy_zhong(text: str, fixed: list[str | None], is_word: WordTest) -> list[str | None]:
    """An open 重 in no dictionary word right after a degree adverb is the adjective "heavy,
    serious", ``zhong4`` (太重了, 伤势较重); the head reads it ``chong2`` ("again") there."""
    out = list(fixed)
    for at, ch in enumerate(text):
        if ch != "重" or out[at] is not None or at == 0 or _in_word(text, at, is_word):
            continue
        if text.endswith(_DEGREE, 0, at):
            out[at] = "zhong4"
    return out


# --- readings outside words: the shell, the adjectives --------------------------------------------

# characters whose other readings live in dictionary words, so that one in no word reads the
# everyday way: 壳 ``ke2`` (私募壳, 车壳; ``qiao4`` is literary: 地壳, 甲壳); 难 "hard" ``nan2`` (太难了;
# ``nan4`` "disaster": 灾难, 遇难, 难民); 咋 "how" ``za3`` (不咋样; 咋呼, 咋舌); the particle 吧
# ``ba5`` at a clause's end (四个字吧; ``ba1`` "bar" in a name: 酒吧, 吧台, 性吧论坛); 没 "not"
# ``mei2`` (一直没时间; ``mo4``: 淹没, 没收, 出没); 挑 "pick, carry" ``tiao1`` (挑了这本, 挑石头;
# ``tiao3`` "raise, stir": 挑战, 挑衅, 挑起, and before what it raises: 挑枪, 挑帘); 倔 "gruff" ``jue4``
# (很倔; ``jue2``: 倔强)
_OPEN_READINGS = {"壳": "ke2", "难": "nan2", "咋": "za3", "吧": "ba5", "没": "mei2", "挑": "tiao1", "倔": "jue4"}
_OPEN_NOT_BEFORE = {"挑": frozenset("起开破亮灯帘枪眉刺逗衅战拨动明唆")}
_OPEN_AT_CLAUSE_END = frozenset("吧")


def open_readings(text: str, fixed: list[str | None], is_word: WordTest) -> list[str | None]:
    """An open character of ``_OPEN_READINGS`` in no dictionary word takes its everyday reading:
    the head learned the others from CPP's in-word labels and g2pM, and read 太难了 ``nan4``
    (RESULTS.md, "Polyphones, eleventh part")."""
    out = list(fixed)
    for at, ch in enumerate(text):
        reading = _OPEN_READINGS.get(ch)
        if reading is None or out[at] is not None or _in_word(text, at, is_word):
            continue
        if at + 1 < len(text) and (text[at + 1] in _OPEN_NOT_BEFORE.get(ch, ()) or
                                   (ch in _OPEN_AT_CLAUSE_END and is_hanzi(text[at + 1]))):
            continue
        out[at] = reading
    return out


# adjectives whose other readings are nouns or live in words: 差 "poor" ``cha4`` (``cha1`` the
# noun "difference": 高度差, 一字之差, 误差; ``chai1``: 出差), 累 "tired" ``lei4`` (``lei3``: 积累, 累诉),
# 少 "few, less" ``shao3`` (``shao4`` "young": 少年, 少女, and given names: 刘少奇, 杨少波)
_ADJECTIVE_READINGS = {"差": "cha4", "累": "lei4", "少": "shao3"}
# 少 before a verb it limits (少吃, 少喝酒) or a clause's end (加班少，, 山多地少。) is "less, few"
_LESS_BEFORE = ("吃", "喝", "抽", "说", "做", "花", "用", "买", "看", "玩", "去", "来", "走", "跑", "管", "写", "睡", "熬",
                "跌", "开", "动", "放", "加", "交", "给", "拿", "些", "点", "于", "数", "许", "见", "有", "不", "一")
# what an adjective follows: a degree adverb, 又 / 也 (又累又饿), 怕 (不怕累) ...
_BEFORE_ADJECTIVE = _DEGREE + ("真", "超", "极", "够", "这么", "那么", "实在", "有些", "又", "也", "怕", "偏", "稍", "略",
                                "要")
# ... or what 差 is said of ("quality" nouns; a measured quantity before it makes the noun: 高度差, 分差)
_POOR_WHAT = ("质量", "条件", "状况", "信号", "设施", "服务", "态度", "效果", "水平", "性能", "环境", "卫生", "素质", "成绩",
              "体质", "能力", "口碑", "视力", "信誉", "治安", "隔音", "手感", "音质", "画质", "做工", "口感", "味道", "品质",
              "体验", "待遇", "收成", "光线", "身体", "基础", "脾气", "运气", "人品", "天气", "交通", "管理", "性")
# ... and what follows one (差了, 太累了, 差得远, 累死, 差在哪)
_AFTER_ADJECTIVE = ("了", "的", "得", "死", "坏", "极", "些", "在", "吗", "呢", "啊", "吧", "呀")
# 比 in these words compares nothing (比如高度差: the noun)
_NOT_COMPARING = frozenset("如例率赛分重")
# 差 "short of, worse" before how much (差太多, 差不了多少, 没差几分, 差一点) or as a verdict (差评)
_SHORT_BY = ("太多", "太远", "很多", "很远", "多了", "远了", "不了", "没差", "多少", "几", "一", "评")


def adjective_readings(text: str, fixed: list[str | None], is_word: WordTest) -> list[str | None]:
    """An open 差, 累 or 少 in no dictionary word, after a degree adverb (服务太差, 我很累), after
    what 差 judges (信号差, 质量差), before 了 / 的 / 得 ... (差得太远了, 累的够呛, 少了) or, for
    少, before a verb it limits or a clause's end (少吃, 加班少), is the adjective: ``cha4``,
    ``lei4``, ``shao3``. The head read 差 ``cha1`` or ``chai1`` there, 又累又饿 ``lei3`` and 少了
    ``shao4`` (RESULTS.md, "Polyphones, eleventh part")."""
    out = list(fixed)
    for at, ch in enumerate(text):
        reading = _ADJECTIVE_READINGS.get(ch)
        if reading is None or out[at] is not None or _in_word(text, at, is_word):
            continue
        judged = text.endswith(_BEFORE_ADJECTIVE, 0, at)
        if ch == "差":  # 质量差, 比三亚差, 差多少, 差太多
            before = _clause_before(text, at)
            compares = any(before[k + 1 : k + 2] not in _NOT_COMPARING for k, c in enumerate(before) if c == "比")
            judged = judged or compares or text.endswith(_POOR_WHAT, 0, at) or text.startswith(_SHORT_BY, at + 1)
        less = ch == "少" and (at + 1 >= len(text) or not is_hanzi(text[at + 1]) or text.startswith(_LESS_BEFORE, at + 1))
        if judged or less or text.startswith(_AFTER_ADJECTIVE, at + 1):
            out[at] = reading
    return out


# --- 了, 着: "can", after 不 --------------------------------------------------------------------------


def potential_complement(text: str, fixed: list[str | None], is_word: WordTest) -> list[str | None]:
    """An open 了 right after 不 or 不得 is the potential complement ``liao3`` (走不了, 吃不了,
    不得了); pypinyin's phrases read 不得了 ``le5`` and CC-CEDICT's ``liao3``, so it is open there,
    and the head read it ``le5``. So is an open 着 right after a verb's 不 or 得, ``zhao2`` (睡不着,
    找不着, 用得着; the head read ``zhe5``)."""
    out = list(fixed)
    for at, ch in enumerate(text):
        if out[at] is not None or at == 0:
            continue
        if ch == "了" and (text[at - 1] == "不" or text.endswith("不得", 0, at)):
            out[at] = "liao3"
        elif ch == "着" and at >= 2 and text[at - 1] in "不得" and is_hanzi(text[at - 2]) and text[at - 2] not in "不得":
            out[at] = "zhao2"
    return out


# --- verbs: a reduplicated or tried verb, a taught person ---------------------------------------------

# polyphones whose verb reading a reduplication (量一量, 数了数) or a try (称一下) asks for
_VERB_READINGS = {"量": "liang2", "数": "shu3", "称": "cheng1", "教": "jiao1", "卷": "juan3", "扇": "shan1",
                  "钻": "zuan1", "挑": "tiao1", "划": "hua2", "调": "tiao2", "倒": "dao4"}
_TAUGHT = ("我", "你", "他", "她", "您", "大家", "孩子", "学生", "人")


def verb_readings(text: str, fixed: list[str | None], is_word: WordTest) -> list[str | None]:
    """An open polyphone of ``_VERB_READINGS`` reads as the verb where the text repeats it (量一量,
    数了数: both) or tries it (称一下, 调了一下), and 教 before a person is "teach", ``jiao1``
    (老师教我们汉语, 教得很好 aside: :func:`complement_de` leaves 教 to the head) (RESULTS.md,
    "Polyphones, tenth part")."""
    out = list(fixed)
    for at, ch in enumerate(text):
        verb = _VERB_READINGS.get(ch)
        if verb is None:
            continue
        rest = text[at + 1 : at + 4]
        repeated = rest[:2] in (f"一{ch}", f"了{ch}") or rest.startswith(("一下", "了一下"))
        repeat_of = at >= 2 and text[at - 2 : at] in (f"{ch}一", f"{ch}了")
        taught = ch == "教" and text.startswith(_TAUGHT, at + 1)
        if (repeated or repeat_of or taught) and out[at] is None:
            out[at] = verb
    return out


# --- a neighbour that settles the reading ------------------------------------------------------------

# (character, reading, characters one of which comes right before it, ... right after it); an
# empty side is not checked: 睡个好觉 / 一觉醒来 / 睡不着觉 ``jiao4`` (the nap, not 觉得's ``jue2``); 冲着我笑,
# 冲我笑 ``chong4`` ("towards", not "rush"); 倒杯水, 倒入碗中, 倒掉 ``dao4`` ("pour", not "fall"); 藏着, 藏在,
# 藏于 ``cang2`` ("hide, keep", not 西藏's ``zang4``); 粘在, 粘上 ``zhan1`` (the verb "stick", not "sticky";
# not 粘着, which is also 粘着性能's ``nian2 zhuo2``, "adhesion");
# 弄干净, 弄成, 弄桌 ``nong4`` (the verb "do, make", not a Shanghai lane's ``long4``: 弄堂, 百福弄社区);
# 盛一碗饭 ``cheng2`` ("fill", not 盛大's ``sheng4``); 请了三天假 ``jia4`` ("leave", not 真假's
# ``jia3``); 挨了一顿批评, 挨打 ``ai2`` ("suffer", not 挨着's ``ai1``);
# 塞进, 塞得满满的 ``sai1`` ("stuff"; not 边塞's ``sai4``, the names' 何塞, 塞维里诺, or 堵塞's ``se4``);
# 咽了, 咽下 ``yan4`` ("swallow"; not the pharynx's ``yan1``: 咽部, 舌咽神经); 所藏 ``cang2``; 撒上 ``sa3``
# ("sprinkle", not 撒谎's ``sa1``); 切为, 切成 ``qie1`` ("cut", not 一切's ``qie4``); 哄他入睡 ``hong3``
# ("coax", not 起哄's ``hong4``); 炸至金黄 ``zha2`` ("deep-fry", not "explode"); 刨出 ``pao2`` ("dig", not 刨子's ``bao4``)
_NEIGHBOUR_READINGS = (("觉", "jiao4", "个一好午懒着", ""), ("冲", "chong4", "", "着我你他她它"),
                       ("倒", "dao4", "", "入进掉水酒茶杯碗瓶壶盆"), ("藏", "cang2", "", "着在于起好到进了有一"),
                       ("粘", "zhan1", "", "在到上住了贴起"),
                       ("弄", "nong4", "", "成干桌坏好清得到个点些了出死脏乱丢错懂明湿破断伤醒哭完来去上下进回走过一着吃饭钱"),
                       ("盛", "cheng2", "", "饭汤粥菜米水一了满着在到"), ("藏", "cang2", "所", ""),
                       ("撒", "sa3", "", "上入些点满于到落"), ("切", "qie1", "", "为成开碎片块段丝好下掉断"),
                       ("哄", "hong3", "", "他她我你孩宝人睡骗着得"), ("炸", "zha2", "", "至熟香酥黄透"),
                       ("刨", "pao2", "", "出土坑地开根"),
                       ("假", "jia4", "天周月年", ""), ("挨", "ai2", "", "了打骂批饿冻揍训罚宰整"),
                       ("塞", "sai1", "", "进在到了得住满给入严着上回紧"), ("咽", "yan4", "", "了下不回进着口气唾"))
# ... unless the character after it makes it another word: 看着觉得 (觉得 ``jue2``)
_NEIGHBOUR_NOT_BEFORE = {"觉": frozenset("得悟察知")}


def neighbour_readings(text: str, fixed: list[str | None], is_word: WordTest) -> list[str | None]:
    """An open character of ``_NEIGHBOUR_READINGS`` in no word with what precedes it takes the
    reading its neighbour settles (睡个好觉 ``jiao4``, 冲着我笑 ``chong4``, 倒杯水 ``dao4``: the
    head reads 倒 ``dao3``, "fall")."""
    out = list(fixed)
    for char, reading, before, after in _NEIGHBOUR_READINGS:
        for at, ch in enumerate(text):
            if ch != char or out[at] is not None or _ends_word(text, at, is_word):
                continue
            if before and (at == 0 or text[at - 1] not in before):
                continue
            if after and (at + 1 >= len(text) or text[at + 1] not in after):
                continue
            if at + 1 < len(text) and text[at + 1] in _NEIGHBOUR_NOT_BEFORE.get(char, ()):
                continue
            out[at] = reading
    return out


# --- 长: the verb "grow" -----------------------------------------------------------------------------

# what 长 "grow" takes or reaches (长高, 长胖, 长满, 长个, 长出); not 长了 (长了见识, but 时间长了) or
# 越长越 (越长越像, but 时间越长越好): "long" as often
_GROWN = frozenset("高胖满出个牙毛草")


def grow_zhang(text: str, fixed: list[str | None], is_word: WordTest) -> list[str | None]:
    """An open 长 in no dictionary word before what it grows into or reaches (长高, 长满, 长个) is
    the verb "grow", ``zhang3``; the head read these ``chang2`` ("long")."""
    out = list(fixed)
    for at, ch in enumerate(text):
        if ch != "长" or out[at] is not None or at + 1 >= len(text) or _in_word(text, at, is_word):
            continue
        if text[at + 1] in _GROWN:
            out[at] = "zhang3"
    return out


# --- 还: "give back" before 了 -----------------------------------------------------------------------


def returned_huan(text: str, fixed: list[str | None], is_word: WordTest) -> list[str | None]:
    """An open 还 right before a 了 that begins no word (了解, 了不起) is "give back", ``huan2``
    (把钱还了, 书已经还了): the adverb 还 comes before a verb, never before 了 (还了得 aside); the
    separable rule covers 还了书, not 还了 at a clause's end."""
    out = list(fixed)
    for at, ch in enumerate(text):
        if ch != "还" or out[at] is not None or not text.startswith("了", at + 1) or text.startswith("得", at + 2):
            continue
        if not is_word(text[at + 1 : at + 3]) and not _ends_word(text, at, is_word):
            out[at] = "huan2"
    return out


# --- 好好: the reduplicated adverb ---------------------------------------------------------------------

# 好 reads ``hao4`` at the end of these words (爱好, 喜好): 爱好好像 is no 好好
_HAO4_WORDS_BEFORE = frozenset("爱喜嗜癖")


def reduplicated_hao(text: str, fixed: list[str | None], is_word: WordTest) -> list[str | None]:
    """好好 is the adverb "properly", ``hao3 hao3`` (你好好学习, 好好想想), over the phrases the
    dictionaries match across it: forward maximum matching cuts 你好好学习 as 你好 + 好学 ("studious",
    ``hao4``)."""
    out = list(fixed)
    for at in range(len(text) - 1):
        if text[at] == text[at + 1] == "好" and (at == 0 or text[at - 1] not in _HAO4_WORDS_BEFORE):
            out[at] = out[at + 1] = "hao3"
    return out


# --- 为: the preposition "for" ------------------------------------------------------------------

# adverbs and modals before a 为 that starts a "for X, do Y" phrase (能为你, 将为大家, 一直为别人)
_BEFORE_FOR = ("能", "将", "要", "会", "愿", "肯", "敢", "想", "一直", "继续", "共同", "必须", "仍", "还", "再",
               "又", "专门", "特地", "特意", "主动", "正在", "努力", "积极", "纷纷", "亲自", "也", "就", "已", "曾",
               "不断", "始终", "一起", "专程", "竭力", "全力", "免费", "无偿", "默默", "真心", "由衷", "衷心",
               "不能", "能够", "愿意", "应该", "应当", "需要", "已经", "都要", "也要")
# persons a "for" serves (为你, 为其, 为大家, 为老人)
_FOR_WHOM = ("你", "我", "他", "她", "它", "其", "您", "咱", "大家", "自己", "别人", "他人", "人民", "群众", "孩子", "患者",
             "用户", "客户", "老人")
# a person right before 为 is its subject: 他为国家分忧, 谁为我们 ("for"), unless a verb of
# _NAMING comes before the person (称他为英雄: "as")
_SUBJECTS = ("我", "你", "他", "她", "它", "您", "谁", "们", "大家")
# verbs that make 为 "as" (称他为, 视其为, 选他为): the person then is the object, not the served
_NAMING = frozenset("以视称拜选奉尊封立命改定作当成变化转列设认娶嫁收聘推")
# after these 为 is the copula or part of a word (为期, 为止, 为主, 为首, 为准, 为例, 为零, 为三成)
_NOT_FOR = frozenset("期止主首准例何难伍奴伴零〇一二三四五六七八九十百千万亿两半0123456789")


def preposition_wei(text: str, fixed: list[str | None], is_word: WordTest) -> list[str | None]:
    """An open 为 is the preposition "for", ``wei4``, where it starts a clause (，为推动..., 为防止...),
    follows a modal or adverb (将为, 一直为, 也为), or comes before or right after a person (为您,
    为其, 为老人; 谁为国家分忧, 她为车祸感到难过) after no verb that makes it "as" (称他为, 娶她为妻);
    not before a number or 期 / 止 / 主 / 首 (为期, 为三成), not in a passive 为 ... 所
    (不为名利所累) and not after 以 in its clause (以...为准). In 8,000
    inews sentences it changed 69 of the head's ``wei2``; 37 of the 40 checked by hand are "for"
    (RESULTS.md, "Polyphones, tenth part")."""
    out = list(fixed)
    for at, ch in enumerate(text):
        if ch != "为" or out[at] is not None or at + 1 >= len(text):
            continue
        after = text[at + 1]
        if not is_hanzi(after) or after in _NOT_FOR or "所" in _clause_after(text, at):
            continue
        before = _clause_before(text, at)
        if "以" in before:
            continue
        starts_clause = not before and (at == 0 or text[at - 1] not in _CLOSERS)
        after_modal = any(before.endswith(m) and not (len(m) == 1 and at >= 2 and is_word(text[at - 2 : at])
                                                      and text[at - 2 : at] not in _BEFORE_FOR)
                          for m in _BEFORE_FOR)
        # a person after 为 is served, one before it its subject, unless a naming verb precedes
        # either (称他为: "as"); before[-1:] is "" at the clause's start, never a naming verb
        for_whom = text.startswith(_FOR_WHOM, at + 1) and before[-1:] not in _NAMING
        subject = next((p for p in _SUBJECTS if before.endswith(p)), None)  # 他为国家, 谁为
        by_subject = subject is not None and before[: len(before) - len(subject)][-1:] not in _NAMING
        if starts_clause or after_modal or for_whom or by_subject:
            out[at] = "wei4"
    return out


# --- 地: the particle after an adverbial --------------------------------------------------------

# 地 + these begins a place word, not the particle (广大地区, 城市地铁, 不如地暖); 地下 / 地上 too
# (城市地下管网), at the cost of 偷偷地下载.
_PLACE_WORDS = frozenset("地区 地方 地点 地位 地球 地面 地域 地带 地段 地图 地址 地震 地铁 地理 地质 地产 地势 地形 "
                         "地表 地层 地块 地盘 地价 地税 地租 地主 地名 地标 地级 地市 地处 地板 地毯 地窖 地雷 地狱 "
                         "地热 地壳 地基 地下 地上 地貌 地界 地头 地步 地缘 地心 地磁 地勤 地平 地利 地府 地皮 地暖 "
                         "地沟 地委 地里".split())
_MEASURES = frozenset("块片亩顷")
# verbs and nouns that name a place with 地 after them (户籍地 安徽省, 注册地 描述为), not adverbials
_PLACE_OF = frozenset("户籍 住所 注册 迁出 迁入 犯罪 立案 履行 举办 拍摄 居住 发生 出生 原籍 发源 集散 聚居 栖息 "
                      "登记 经营 生产 所在 目的 水源 原产 始发 出发 到达 侵权 结果 行为 合同 玉米 自家".split())
_NOT_AFTER_DE = frozenset("的是为和与及之")  # after a noun's 地 (拍摄地就在, 西瓜地，), hardly after the particle
_ADVERB_WORDS_WITH_DE = frozenset({"心地", "极地", "实地", "性地"})  # words, but 小心地, 积极地, 切实地, 针对性地: the particle


def adverbial_de(text: str, fixed: list[str | None], is_word: WordTest) -> list[str | None]:
    """地 reads ``de5`` where it follows an adverbial (see ``g2p_adverbial_de`` of
    :class:`~pinhan.infer.config.InferenceConfig`): a dictionary word or ``X性`` ends right
    before it, it makes no word with what precedes it, a hanzi other than a function word
    follows, the word before names no piece or place of land, and it begins no place word.
    The phrase dictionaries match across the particle (认真地学习: 地学 ``di4``) and the head
    reads ``di4`` everywhere (its teacher g2pM does, and cpp-dev labels 地 19 times of 20
    ``di4``, all nouns), so the rule overrides both."""
    out = list(fixed)
    for at, ch in enumerate(text):
        if ch != "地" or at < 2 or at + 1 >= len(text):
            continue
        after = text[at + 1]
        if not is_hanzi(after) or after in _NOT_AFTER_DE or text[at : at + 2] in _PLACE_WORDS:
            continue
        starts = [j for j in range(max(0, at - 4), at - 1) if is_word(text[j:at])]
        if text[at - 1] == "性" and at >= 3:  # 预见性地, 针对性地
            starts.append(at - 3)
        if not starts or text[at - 1] in _MEASURES or any(text[j:at] in _PLACE_OF for j in starts):
            continue  # 一块地, 一片地; 户籍地, 注册地: a piece or place of land
        first = min(starts)
        inside = any(is_word(text[j:k]) and text[j:k] not in _ADVERB_WORDS_WITH_DE
                     for j in range(max(0, first - 1), at) for k in range(at + 1, min(len(text), at + 5) + 1))
        if not inside:  # 当地, 场地, 目的地, 人生地不熟: 地 belongs to a word
            out[at] = "de5"
    return out


# The rules g2p's ``g2p_function_words`` setting runs, in order, each with the characters it reads
# (地 has its own setting, ``g2p_adverbial_de``).
RULES: tuple[tuple[str, Callable[[str, list[str | None], WordTest], list[str | None]]], ...] = (
    ("为", preposition_wei), ("应", modal_ying), ("得", modal_dei), ("得", complement_de), ("只", measure_zhi),
    ("都", adverb_dou), ("没", negation_mei), ("".join(_OPEN_READINGS), open_readings),
    ("".join(_ADJECTIVE_READINGS), adjective_readings), ("了着", potential_complement),
    ("重", heavy_zhong), ("长", grow_zhang), ("好", reduplicated_hao), ("还", returned_huan),
    ("".join(_VERB_READINGS), verb_readings), ("".join(c for c, *_ in _NEIGHBOUR_READINGS), neighbour_readings))


def apply(text: str, fixed: list[str | None], is_word: WordTest) -> list[str | None]:
    """``fixed`` with every rule of :data:`RULES` one of whose characters ``text`` holds applied."""
    for chars, rule in RULES:
        if any(ch in text for ch in chars):
            fixed = rule(text, fixed, is_word)
    return fixed
