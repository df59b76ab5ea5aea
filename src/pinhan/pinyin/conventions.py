"""How a dictionary writes the tones of decided readings: neutral tones, erhua, no tone sandhi.

g2p decides which reading each hanzi has (``shang4`` or ``shang3`` for 上); this module decides
how that reading's tone is written, the way a dictionary (and a TTS lexicon) writes a word:

- **neutral tone**: where a dictionary word reads a character in the neutral tone (晚上
  ``wan3 shang5``, 喜欢 ``xi3 huan5``, 对不起 ``dui4 bu5 qi3``), a decided reading of the same
  syllable takes tone 5. Only the tone changes; a different syllable is never forced.
- **erhua**: a neutral 儿 inside a dictionary word (玩儿, 一会儿, 哪儿) is the r-suffix of the
  syllable before it and is written ``r5`` (CC-CEDICT's convention), not a syllable ``er`` of its own
  -- unless 儿 begins a word with the next character (名儿童: 儿童, not 名儿; it keeps its reading).
- **the everyday sense**: a word a dictionary lists with a neutral syllable in one sense and a full
  tone in another leaves that syllable open; 东西 "thing" is written ``dong1 xi5`` unless the
  text says "east and west" (东西走向, 横贯东西).
- **citation tones of 一 and 不**: 一 reads ``yi1`` and 不 ``bu4`` as dictionaries write them; the
  sandhi tones that some phrase lists bake in (一个 ``yi2``, 一起 ``yi4``, 不是 ``bu2``) depend on the
  next syllable's tone and are a matter of pronunciation rules, not of the reading.

Pure string logic over toned syllables (``zhang3``); the dictionary's per-character readings
come from the caller (:class:`pinhan.lm.phrases.PhraseReadings` over CC-CEDICT in g2p).
"""

from __future__ import annotations

from collections.abc import Container, Sequence

CITATION = {"一": ("yi1", ("yi2", "yi4")), "不": ("bu4", ("bu2",))}  # char -> (citation, sandhi forms)
ERHUA = "r5"

# Words a dictionary lists with a neutral syllable in one sense and a full tone in another, so that
# matching them leaves the syllable open: 东西 "thing" ``dong1 xi5``, "east and west" ``dong1 xi1``.
# The thing is the everyday sense; what follows or precedes the direction says so (东西走向, 东西长
# 十里, 东西两侧, 横贯东西, 南北东西). word -> (offset of the syllable, its neutral, directions after,
# directions before).
_NEUTRAL_SENSES = {"东西": (1, "xi5", ("南北", "方向", "走向", "向", "长", "宽", "两", "部", "侧", "之间", "跨", "距", "横",
                                      "纵", "厢", "城", "街", "大街", "路", "门", "湖", "线", "轴", "贯", "极"),
                          ("南北", "横贯", "贯穿", "纵贯", "横跨"))}


def dictionary_tones(text: str, readings: Sequence[str | None], dictionary: Sequence[str | None],
                     words: Container[str] = ()) -> list[str | None]:
    """``readings`` (one toned syllable per character of ``text``, None where it is no hanzi)
    written with a dictionary's tones; ``dictionary`` gives per character the reading a dictionary
    word fixes there (None: no word covers it or the word leaves it open); ``words``: the
    dictionary's words, to tell an erhua 儿 from one that begins a word.

    >>> dictionary_tones("晚上一起玩儿", ["wan3", "shang4", "yi4", "qi3", "wan2", "er2"],
    ...                  ["wan3", "shang5", "yi1", "qi3", "wan2", "er5"])
    ['wan3', 'shang5', 'yi1', 'qi3', 'wan2', 'r5']
    >>> dictionary_tones("名儿童", ["ming2", "er2", "tong2"], ["ming2", "er5", None], words={"儿童"})
    ['ming2', 'er2', 'tong2']
    """
    if not (len(text) == len(readings) == len(dictionary)):
        raise ValueError(f"text, readings and dictionary must have one entry per character "
                         f"({len(text)}, {len(readings)}, {len(dictionary)})")
    dictionary = _neutral_by_sense(text, dictionary)
    out = list(readings)
    for at, (ch, mine, word) in enumerate(zip(text, readings, dictionary)):
        if mine is None:
            continue
        begins_word = ch == "儿" and text[at : at + 2] in words  # 名儿童: the match 名儿 is wrong
        if word is not None and word.endswith("5") and word[:-1] == mine[:-1] and not begins_word:
            out[at] = ERHUA if ch == "儿" and at > 0 else word
        elif ch in CITATION and mine in CITATION[ch][1]:
            out[at] = CITATION[ch][0]
    return out


def _neutral_by_sense(text: str, dictionary: Sequence[str | None]) -> Sequence[str | None]:
    """``dictionary`` with the neutral syllable of each :data:`_NEUTRAL_SENSES` word it leaves open
    filled in where the word is used in its everyday sense (这个东西 ``xi5``; 东西走向 stays open)."""
    out: list[str | None] | None = None
    for word, (offset, neutral, after, before) in _NEUTRAL_SENSES.items():
        start = text.find(word)
        while start >= 0:
            at, end = start + offset, start + len(word)
            if dictionary[at] is None and not text.startswith(after, end) and not text.endswith(before, 0, start):
                out = list(dictionary) if out is None else out
                out[at] = neutral
            start = text.find(word, start + 1)
    return dictionary if out is None else out
