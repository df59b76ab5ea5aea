"""The syllable inventory of Mandarin as it is *typed*.

Conventions (they are the model's vocabulary, so they never change silently):

* toneless, lower case, ASCII: ``ü`` is written ``v`` (``lv``, ``nve``), exactly as
  pypinyin writes it; after j/q/x/y it is ``u`` (``ju``, ``yue``) as in standard
  orthography.
* ``ê`` (the interjection 欸) is spelled ``ea``. It needs an ASCII spelling to be
  typed on a plain keyboard and to fit the all-ASCII vocabulary; ``ea`` is short, is
  no other syllable, and ``e'a`` still reads as two syllables. ``ê`` (also with tone
  marks: ``ế``) is accepted on input everywhere and normalised to ``ea``.
* Toned forms are tone3 style, tone 5 = neutral: ``zhong1``, ``lv4``, ``le5``.
* The typed split (:func:`split_syllable`) puts whatever the user types first into
  the initial, ``y`` and ``w`` included: ``yan -> (y, an)``, ``wu -> (w, u)``. The
  syllabic nasals and other initial-less syllables have the zero initial ``""``:
  ``er -> ("", er)``, ``m -> ("", m)``, ``ng -> ("", ng)``; ``hm -> (h, m)``.

The table below is written by hand from the standard syllable table (现代汉语词典
音节表) plus the rarer syllables dictionaries and pypinyin use; it is not generated.
``tests/pinyin/test_inventory.py`` checks that every reading pypinyin gives for every
character of ``pypinyin.pinyin_dict`` is in it, so a pypinyin upgrade that introduces a
new syllable fails loudly instead of producing ``[UNK]`` pinyin.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from .errors import PinyinError

# Initials as typed, in the conventional order. "" (zero initial) is not listed.
INITIALS: tuple[str, ...] = (
    "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h",
    "j", "q", "x", "zh", "ch", "sh", "r", "z", "c", "s", "y", "w",
)  # fmt: skip
_INITIAL_SET = frozenset(INITIALS)

# Standard syllables, by typed initial ("" = zero initial). One line per initial keeps
# the table reviewable against a printed syllable chart.
_STANDARD: dict[str, str] = {
    "": "a ai an ang ao e ei en eng er o ou",
    "y": "ya yan yang yao ye yi yin ying yo yong you yu yuan yue yun",
    "w": "wa wai wan wang wei wen weng wo wu",
    "b": "ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu",
    "p": "pa pai pan pang pao pei pen peng pi pian piao pie pin ping po pou pu",
    "m": "ma mai man mang mao me mei men meng mi mian miao mie min ming miu mo mou mu",
    "f": "fa fan fang fei fen feng fo fou fu",
    "d": "da dai dan dang dao de dei den deng di dia dian diao die ding diu dong dou du "
         "duan dui dun duo",
    "t": "ta tai tan tang tao te tei teng ti tian tiao tie ting tong tou tu tuan tui tun tuo",
    "n": "na nai nan nang nao ne nei nen neng ni nian niang niao nie nin ning niu nong nou "
         "nu nuan nun nuo nv nve",
    "l": "la lai lan lang lao le lei leng li lia lian liang liao lie lin ling liu lo long "
         "lou lu luan lun luo lv lve",
    "g": "ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan guang gui gun guo",
    "k": "ka kai kan kang kao ke kei ken keng kong kou ku kua kuai kuan kuang kui kun kuo",
    "h": "ha hai han hang hao he hei hen heng hong hou hu hua huai huan huang hui hun huo",
    "j": "ji jia jian jiang jiao jie jin jing jiong jiu ju juan jue jun",
    "q": "qi qia qian qiang qiao qie qin qing qiong qiu qu quan que qun",
    "x": "xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun",
    "zh": "zha zhai zhan zhang zhao zhe zhei zhen zheng zhi zhong zhou zhu zhua zhuai "
          "zhuan zhuang zhui zhun zhuo",
    "ch": "cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan "
          "chuang chui chun chuo",
    "sh": "sha shai shan shang shao she shei shen sheng shi shou shu shua shuai shuan "
          "shuang shui shun shuo",
    "r": "ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo",
    "z": "za zai zan zang zao ze zei zen zeng zi zong zou zu zuan zui zun zuo",
    "c": "ca cai can cang cao ce cei cen ceng ci cong cou cu cuan cui cun cuo",
    "s": "sa sai san sang sao se sei sen seng si song sou su suan sui sun suo",
}  # fmt: skip

# Rare syllables found in dictionaries and in pypinyin's readings (biang 𰻞, fiao 覅,
# bong 埲, din 𠆩, len 𨮮, nia 𡝩, pia 䏒, wong 瓮 variants, ...). Real syllables, but
# rare enough that nobody types them by accident.
_RARE: tuple[str, ...] = ("biang", "bong", "din", "fiao", "len", "nia", "pia", "wong")

# Interjection syllables: syllabic nasals (嗯 n/ng, 呣 m, 哼 hng, 噷 hm) and ê (欸, "ea").
# They are valid syllables, but the default prior treats them as rare so that
# `xian` ranks `xi an` above `xia n`.
MARGINAL: frozenset[str] = frozenset({"m", "n", "ng", "hm", "hng", "ea"})

# Zero-initial syllables whose typed split is ("", whole): the nasals and ê.
_NO_INITIAL: frozenset[str] = frozenset({"m", "n", "ng", "ea"})


def _all_syllables() -> tuple[str, ...]:
    found: set[str] = set()
    for line in _STANDARD.values():
        found.update(line.split())
    found.update(_RARE)
    found.update(MARGINAL)
    return tuple(sorted(found))


# Every toneless syllable, sorted (a stable order for vocabularies).
SYLLABLES: tuple[str, ...] = _all_syllables()
SYLLABLE_SET: frozenset[str] = frozenset(SYLLABLES)

# Every (syllable, tone) pair, tone3 style: a fixed, corpus-independent vocabulary.
TONED_SYLLABLES: tuple[str, ...] = tuple(sorted(f"{s}{t}" for s in SYLLABLES for t in range(1, 6)))

# Other spellings users type for a syllable. pypinyin and this package write ü as v
# after n/l and as u after j/q/x/y; people type `lue` (as in standard print) and `jv`
# (v-happy typists), so both are read and normalised. Keys map to canonical syllables.


def _aliases() -> dict[str, str]:
    alias = {"lue": "lve", "nue": "nve"}
    for ini in "jqxy":
        for fin in ("u", "ue", "uan", "un"):
            canonical = ini + fin
            if canonical in SYLLABLE_SET:
                alias[ini + "v" + fin[1:]] = canonical
    return alias


ALIASES: Mapping[str, str] = MappingProxyType(_aliases())


def _split(letters: str) -> tuple[str, str]:
    """Typed split of a string of letters, whether or not it is a syllable."""
    if letters in _NO_INITIAL:
        return "", letters
    if letters[:2] in ("zh", "ch", "sh") and len(letters) > 2:
        return letters[:2], letters[2:]
    if letters[:1] in _INITIAL_SET and len(letters) > 1:
        return letters[:1], letters[1:]
    return "", letters


def split_syllable(syllable: str) -> tuple[str, str]:
    """Split a canonical toneless syllable into its typed ``(initial, final)``.

    >>> split_syllable("zhong"), split_syllable("yan"), split_syllable("er")
    (('zh', 'ong'), ('y', 'an'), ('', 'er'))
    >>> split_syllable("m"), split_syllable("hng")
    (('', 'm'), ('h', 'ng'))

    Raises :class:`PinyinError` for anything that is not in :data:`SYLLABLES`; use
    :func:`pinhan.pinyin.normalize_syllable` first for other spellings.
    """
    if syllable not in SYLLABLE_SET:
        raise PinyinError.unreadable(str(syllable), 0, len(str(syllable)))
    return _split(syllable)


# Every final that appears in a typed split, sorted.
FINALS: tuple[str, ...] = tuple(sorted({_split(s)[1] for s in SYLLABLES}))

# Syllables by typed initial ("" = zero initial): what an abbreviation may stand for.
SYLLABLES_BY_INITIAL: Mapping[str, frozenset[str]] = MappingProxyType(
    {ini: frozenset(s for s in SYLLABLES if _split(s)[0] == ini) for ini in ("",) + INITIALS}
)


def split_typed(letters: str) -> tuple[str, str]:
    """Typed split of any letter string (used for fuzzy spellings such as ``zuang``)."""
    return _split(letters)
