"""The word lexicon: words with their readings and counts, indexed by what a user types.

A word is a text (``中国``, or one hanzi); each has one or more toned readings
(``zhong1 guo2``) with the number of times the training text read it so (0: a reading only a
dictionary gives, such as 她 ``chi2``). The decoder looks words up by their toneless spelling
(``zhongguo``) or by their initials (``zg``, also ``zhg``: zh / ch / sh may be typed whole or as
their first letter), and scores a reading by its share of the word's count, so that a reading
the corpus never used is a last resort, not an equal.

Word ids index :class:`~pinhan.lm.ngram.WordNgram`; id 0 is the end of a clause (``</s>``).
Stored as one gzip-compressed JSON file (no pickle: loading executes no code).
"""

from __future__ import annotations

import gzip
import json
import math
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import cached_property, lru_cache
from itertools import groupby
from operator import itemgetter
from pathlib import Path

from pinhan.errors import DataError

FORMAT = "pinhan-words/1"
EOS = 0  # the word id that ends a clause
EOS_TEXT = "</s>"
READING_PRIOR = 0.5  # added to every reading's count: a dictionary-only reading keeps a small share
SHORT_FORMS = {"zh": "z", "ch": "c", "sh": "s"}
ERHUA = "r"  # 儿 as a suffix, typed as Hanyu Pinyin writes it (玩儿 wanr)

Reading = tuple[str, ...]  # toned syllables, one per character: ("zhong1", "guo2")


def toneless(syllable: str) -> str:
    return syllable.rstrip("012345")


def initial_of(syllable: str) -> str:
    """The letters an abbreviation types for a toneless syllable: its initial (zh, b, ...), or
    its first letter when it has none (a, e, o; also n / m of the interjections)."""
    for two in ("zh", "ch", "sh"):
        if syllable.startswith(two):
            return two
    return syllable[:1]


class WordLexicon:
    """``words[i]`` with ``readings[i]``: {reading: count}. Indexes are built on construction.

    Readings are kept as stored (``[["zhong1 guo2", 7], ...]`` per word) and turned into tuples
    only when asked for: a few hundred thousand words' readings as dicts of tuples took half a
    worker's memory (RESULTS.md, "Word lattice")."""

    def __init__(self, words: list[str], readings: Sequence[dict[Reading, int]] | None = None, info: dict | None = None,
                 *, rows: list[list] | None = None) -> None:
        """``readings`` per word as {reading tuple: count}, or ``rows`` as stored (``[[text, count], ...]``)."""
        if rows is None:
            rows = [[[" ".join(r), int(n)] for r, n in sorted(table.items(), key=lambda rn: (-rn[1], rn[0]))]
                    for table in (readings or [])]
        if not words or words[EOS] != EOS_TEXT or len(words) != len(rows):
            raise DataError("a word lexicon needs </s> first and one readings table per word")
        self.words, self._rows, self.info = words, rows, info or {}
        self.spelled = _index(_spelled_keys(words, rows))
        self.abbreviated = _index((abbreviation(r), wid, n) for wid in range(1, len(words)) for r, n in rows[wid])
        self.max_letters = max((len(k) for k in self.spelled), default=1)
        self.max_initials = max((len(k) for k in self.abbreviated), default=1)

    def __len__(self) -> int:
        return len(self.words)

    @cached_property
    def word_id(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.words)}

    @property
    def readings(self) -> _Readings:
        """``readings[i]``: word i's {toned reading tuple: train count}."""
        return _Readings(self._rows)

    def reading_logp(self, wid: int, spelling: str | None = None, abbreviated: bool = False) -> tuple[Reading, float]:
        """The word's likeliest reading (among those spelled ``spelling``, toneless, or
        abbreviated so, if given) and log p(reading | word)."""
        rows = self._rows[wid]
        if len(rows) == 1:  # most words: one reading, the whole mass
            return tuple(rows[0][0].split()), 0.0
        total = sum(n for _, n in rows) + READING_PRIOR * len(rows)
        key = abbreviation if abbreviated else toneless_spelling
        options = [(text, n) for text, n in rows if spelling is None or key(text) == spelling] or rows
        text, n = max(options, key=lambda tn: (tn[1], tuple(tn[0].split())))
        return tuple(text.split()), math.log((n + READING_PRIOR) / total)

    # --- files --------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """One gzip JSON file, written under a temporary name and renamed into place."""
        path = Path(path)
        doc = {"format": FORMAT, "info": self.info, "words": self.words, "readings": self._rows}
        tmp = path.with_name(path.name + ".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=6) as handle:
            json.dump(doc, handle, ensure_ascii=False, separators=(",", ":"))
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> WordLexicon:
        path = Path(path)
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                doc = json.load(handle)
            if doc.get("format") != FORMAT:
                raise DataError(f"{path}: not a pinhan word lexicon (format {doc.get('format')!r}, expected {FORMAT})")
            rows = doc["readings"]
            if not isinstance(rows, list) or not all(isinstance(text, str) and isinstance(n, int)
                                                     for word in rows for text, n in word):
                raise DataError(f"{path}: readings must be [[text, count], ...] per word")
            return cls(list(doc["words"]), info=doc.get("info"), rows=rows)
        except DataError:
            raise
        except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DataError(f"{path}: cannot read the word lexicon ({exc})") from None


class _Readings(Sequence):
    """A read-only view: word id -> {reading tuple: count}, built on access."""

    def __init__(self, rows: list[list]) -> None:
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, wid):
        if isinstance(wid, slice):
            return [self[i] for i in range(*wid.indices(len(self)))]
        return {tuple(text.split()): n for text, n in self._rows[wid]}


@lru_cache(maxsize=None)
def _syllable_keys(syllable: str) -> tuple[str, str]:
    """(toneless spelling, abbreviation letter(s)) of one toned syllable (a few thousand exist)."""
    plain = toneless(syllable)
    first = initial_of(plain)
    return plain, SHORT_FORMS.get(first, first)


def toneless_spelling(reading: Reading | str) -> str:
    """The toneless spelling of a reading (a tuple, or stored text ``"zhong1 guo2"``)."""
    return "".join([_syllable_keys(s)[0] for s in (reading.split() if isinstance(reading, str) else reading)])


def erhua_spelling(text: str, reading: str) -> str | None:
    """How Hanyu Pinyin writes a word's 儿 suffix, as a trailing ``r`` (玩儿 ``wanr``, 一点儿
    ``yidianr``, 儿 alone ``r``, for erhua after any syllable), or None for a word without one.
    ``reading`` is stored text (``"wan2 er2"``); only a final 儿 read ``er`` qualifies (儿童 does not)."""
    syllables = reading.split()
    if not text.endswith("儿") or len(syllables) != len(text) or toneless(syllables[-1]) != "er":
        return None
    spelled = toneless_spelling(syllables[:-1]) + ERHUA
    return None if spelled == "er" else spelled  # 鹅儿 as "er" would stand among 而, 二, 儿


def _spelled_keys(words: list[str], rows: list[list]) -> Iterable[tuple[str, int, int]]:
    """(key, word id, count) of every reading's toneless spelling, and of its erhua spelling
    where it has one, in one pass over the readings."""
    for wid in range(1, len(words)):
        for reading, n in rows[wid]:
            yield toneless_spelling(reading), wid, n
            erhua = erhua_spelling(words[wid], reading)
            if erhua is not None:
                yield erhua, wid, n


def abbreviation(reading: Reading | list[str] | str) -> str:
    """What an abbreviation types for a reading: each syllable's initial, zh / ch / sh as z / c / s
    (typed input is shortened the same way before the lookup, so ``zhgwh`` and ``zgwh`` both find
    中国文化)."""
    return "".join([_syllable_keys(s)[1] for s in (reading.split() if isinstance(reading, str) else reading)])


def shorten(letters: str) -> str:
    """Typed abbreviation letters in the index's form (zh / ch / sh -> z / c / s)."""
    return letters.replace("zh", "z").replace("ch", "c").replace("sh", "s")


def _index(entries: Iterable[tuple[str, int, int]]) -> dict[str, list[int]]:
    """(key, word id, count of the reading) -> key: word ids, by that key's count then id."""
    merged: dict[tuple[str, int], int] = defaultdict(int)
    for key, wid, n in entries:
        merged[(key, wid)] += n + 1  # +1: a dictionary-only reading still orders among its peers
    rows = sorted((key, -n, wid) for (key, wid), n in merged.items())
    return {key: [wid for _, _, wid in group] for key, group in groupby(rows, key=itemgetter(0))}
