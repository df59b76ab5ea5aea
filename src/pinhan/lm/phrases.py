"""Readings that a phrase dictionary fixes: g2p's first stage, before any model runs.

A hanzi text is cut by forward maximum matching over the phrases (the way pypinyin's own
``mmseg`` segments); every character inside a matched phrase of two or more characters takes the
phrase's reading, unless the phrase lists more than one reading for it. Characters outside a
phrase are left open (``None``) for the polyphone head or the frequency backoff.

Which dictionary: pypinyin's phrases (``pypinyin.phrases_dict``, ~47k). On a fold of cpp-dev it
fixed 47 % of the labelled polyphones at 98.3 % and lifted the head from 93.7 % to 96.3 %;
``pypinyin-dict``'s ``large_pinyin`` (412k) and ``cc_cedict`` fixed more but were wrong more
often, and adding either after pypinyin's lowered the fold's accuracy (benchmarks/RESULTS.md,
"Polyphones (issue 16)"). CC-CEDICT's reading serves instead as a bonus to the head's score
(``InferenceConfig.g2p_dictionary_weight``): it tips the head's close calls only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

from pypinyin.contrib.tone_convert import to_tone3

from pinhan.data.annotate import annotate, is_hanzi


def tone3(marked: str) -> str:
    """A tone-marked syllable (``zhǎng``) as tone3 with the neutral tone 5 and ü as v (``zhang3``)."""
    return to_tone3(marked, neutral_tone_with_five=True).replace("ü", "v")


class PhraseReadings:
    """Phrase -> one toned syllable per character (None where the phrase leaves it open).

    Args:
        phrases: phrase -> per-character lists of tone-marked readings (pypinyin's format).
        max_len: longest phrase tried at a position.
    """

    def __init__(self, phrases: Mapping[str, Sequence[Sequence[str]]], max_len: int = 8) -> None:
        self.max_len = max_len
        self._phrases: dict[str, tuple[str | None, ...]] = {}
        converted: dict[str, str] = {}  # ~1,500 distinct syllables among ~100k readings: convert each once

        def convert(marked: str) -> str:
            if marked not in converted:
                converted[marked] = tone3(marked)
            return converted[marked]

        for word, readings in phrases.items():
            if len(word) < 2 or len(readings) != len(word) or len(word) > max_len:
                continue
            self._phrases[word] = tuple(convert(r[0]) if len(r) == 1 else None for r in readings)
        # first character -> lengths of the phrases it begins, longest first: forward maximum
        # matching tries only those (most characters begin phrases of 2-4), not every length up to max_len
        lengths: dict[str, set[int]] = {}
        for word in self._phrases:
            lengths.setdefault(word[0], set()).add(len(word))
        self._lengths = {ch: tuple(sorted(found, reverse=True)) for ch, found in lengths.items()}

    @classmethod
    def pypinyin(cls) -> PhraseReadings:
        """pypinyin's phrase dictionary."""
        from pypinyin.phrases_dict import phrases_dict

        return cls(phrases_dict)

    @classmethod
    def cc_cedict(cls) -> PhraseReadings:
        """CC-CEDICT's phrases as ``pypinyin-dict`` ships them (~106k): g2p's second opinion."""
        from pypinyin_dict.phrase_pinyin_data.cc_cedict import phrases_dict

        return cls(phrases_dict)

    def __len__(self) -> int:
        return len(self._phrases)

    def __contains__(self, word: str) -> bool:
        return word in self._phrases

    def readings(self, word: str) -> tuple[str | None, ...] | None:
        """The phrase's reading per character (None where it lists several), None if no phrase."""
        return self._phrases.get(word)

    def fixed(self, text: str) -> list[str | None]:
        """One entry per character of ``text``: the reading a matched phrase fixes, else None.

        个 right after a number is the measure word and begins no phrase: 两个子女 is 两个 + 子女,
        not 两 + 个子 ("stature", ``zi5``) + 女. And 了 after a verb is the particle where the
        character after it begins a phrase of its own: 吃了当地的菜 is 吃了 + 当地, not 了当 (``liao3
        dang4``, "frank") + 地; 领了结婚证 is not 了结 + 婚. 了解 aside: 了解下情况, 深入的了解法官 are the verb."""
        out: list[str | None] = [None] * len(text)
        at, end, phrases, lengths = 0, len(text), self._phrases, self._lengths
        while at < end:
            if text[at] == "个" and at > 0 and text[at - 1] in _NUMBERS:
                at += 1
                continue
            for length in lengths.get(text[at], ()):
                readings = phrases.get(text[at : at + length]) if at + length <= end else None
                if readings is not None and length == 2 and text[at] == "了" and self._particle_le(text, at):
                    readings = None
                if readings is not None:
                    out[at : at + length] = readings
                    at += length
                    break
            else:
                at += 1
        return out

    def _particle_le(self, text: str, at: int) -> bool:
        """Whether 了 at ``at`` follows a verb's hanzi (not 直截了当's 截 or 一了百了's 一) and the
        character after it begins a phrase with what follows."""
        if at == 0 or not is_hanzi(text[at - 1]) or text[at - 1] in "截一" or text.startswith("了解", at):
            return False
        nxt = at + 1
        return any(text[nxt : nxt + length] in self._phrases for length in self._lengths.get(text[nxt], ())
                   if nxt + length <= len(text))

    def annotate(self, text: str) -> list[str | None]:
        """:func:`pinhan.data.annotate.annotate`'s readings, faster: a matched phrase's readings,
        else the character's own first reading (pypinyin's, memoised); None for a non-hanzi.

        With pypinyin's phrases (the same cut: pypinyin segments by forward maximum matching
        too) it agrees with ``annotate`` on 99.999 % of the syllables of 2,759 dev contexts
        (one 色 in 80k) at a seventh of the time: committed context is annotated on every
        conversion an input method sends with a new context."""
        return [fixed if fixed is not None else (_single_reading(ch) if is_hanzi(ch) else None)
                for ch, fixed in zip(text, self.fixed(text))]

    def words(self) -> Iterable[str]:
        return self._phrases.keys()


# what counts before a measure word (两个, 几个, 每个, 3个)
_NUMBERS = frozenset("一二三四五六七八九十百千万两几多每半某0123456789")


@lru_cache(maxsize=65536)
def _single_reading(ch: str) -> str | None:
    """pypinyin's reading of one hanzi alone (None: none it can give)."""
    return annotate(ch)[0]
