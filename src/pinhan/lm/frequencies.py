"""Word-frequency lists of general text, normalised to one scale, for the word lexicon's prior.

Two lists, fetched by ``pinhan fetch wordfreq jionlp`` (pinned in
``pinhan/data/corpora/sources.lock.json``):

- ``wordfreq`` 3.1.1 ``large_zh`` (CC BY-SA 4.0: a list derived from it shares alike, see
  ``pinhan/assets/ATTRIBUTION.md``): msgpack of "cBpack" buckets, bucket ``i`` holding the words
  of frequency ``10 ** (-i / 100)`` (a header object first).
- ``jionlp`` 1.5.31 ``dictionary/word_distribution.zip`` (Apache-2.0): one ``[word, count]`` JSON
  array a line, counts over 4.8B tokens (spaces, punctuation and Latin included).

Both keep hanzi words only (what the lexicon can hold) and are scaled so that their counts sum to
:data:`SCALE` (occurrences per billion hanzi-word tokens of that list): a word's value then means
the same in either list, whatever the list's size or its share of non-hanzi tokens.

Use: ``read_frequencies("wordfreq").counts`` -> ``{word: count}``. The word lexicon does not use
them yet (``word_build`` keeps jieba's dictionary by default); the held-out rule can be applied
(``heldout=``) and the dropped words are counted.
"""

from __future__ import annotations

import gzip
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from pinhan.data.annotate import HANZI_RUN
from pinhan.data.corpora.fetch import DEFAULT_CACHE, source_root
from pinhan.data.heldout import HeldoutRule
from pinhan.errors import DataError

SCALE = 1_000_000_000  # counts of a normalised list sum to this
WORDFREQ_FILE = "wordfreq/data/large_zh.msgpack.gz"
JIONLP_FILE = "jionlp/dictionary/word_distribution.zip"


@dataclass
class FrequencyList:
    """One normalised list: ``counts`` {hanzi word: count per SCALE tokens, at least 1}."""

    name: str
    counts: dict[str, int]
    raw_words: int  # entries in the list as shipped
    non_hanzi: int  # entries left out: not all hanzi
    heldout_dropped: int  # entries the held-out rule dropped


def wordfreq_raw(path: Path) -> Iterator[tuple[str, float]]:
    """(word, frequency) from a wordfreq cBpack file (``*.msgpack.gz``)."""
    import msgpack

    try:
        with gzip.open(path, "rb") as fh:
            data = msgpack.unpack(fh, raw=False)
    except (OSError, ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise DataError(f"cannot read wordfreq list {path}: {exc}") from None
    header = data[0] if isinstance(data, list) and data else None
    if not isinstance(header, dict) or header.get("format") != "cB" or header.get("version") != 1:
        raise DataError(f"{path} is not a wordfreq cBpack list (header {header!r})")
    for bucket, words in enumerate(data[1:]):
        freq = 10 ** (-bucket / 100)
        for word in words:
            yield word, freq


def jionlp_raw(path: Path) -> Iterator[tuple[str, float]]:
    """(word, count) from jionlp's word_distribution.zip (``[word, count]`` JSON lines)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith(".json")]
            if not names:
                raise DataError(f"{path} holds no .json word list")
            with zf.open(names[0]) as fh:
                for number, raw in enumerate(fh, 1):
                    if not raw.strip():
                        continue
                    try:
                        word, count = json.loads(raw)
                    except (ValueError, TypeError):
                        raise DataError(f"{path}: line {number} is not a [word, count] pair") from None
                    yield str(word), float(count)
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot read jionlp list {path}: {exc}") from None


def normalise(name: str, pairs: Iterator[tuple[str, float]], heldout: HeldoutRule | None = None,
              scale: int = SCALE) -> FrequencyList:
    """Hanzi words only (a word listed twice adds up), scaled to sum to ``scale``; a word that
    rounds to 0 keeps 1 (it was listed, so it is not unseen)."""
    kept: dict[str, float] = {}
    raw = non_hanzi = dropped = 0
    for word, value in pairs:
        raw += 1
        if not HANZI_RUN.fullmatch(word):
            non_hanzi += 1
        elif heldout is not None and heldout.hits(word):
            dropped += 1
        else:
            kept[word] = kept.get(word, 0.0) + value
    total = sum(kept.values())
    if total <= 0:
        raise DataError(f"frequency list {name} holds no hanzi word with a positive count")
    counts = {word: max(1, round(value * scale / total)) for word, value in kept.items()}
    return FrequencyList(name, counts, raw, non_hanzi, dropped)


READERS = {"wordfreq": (WORDFREQ_FILE, wordfreq_raw), "jionlp": (JIONLP_FILE, jionlp_raw)}


def read_frequencies(name: str, cache: str | os.PathLike = DEFAULT_CACHE, heldout: HeldoutRule | None = None,
                     root: str | os.PathLike | None = None) -> FrequencyList:
    """List ``name`` (``wordfreq`` or ``jionlp``) as fetched into ``cache`` (or unpacked under
    ``root``), normalised to :data:`SCALE`."""
    if name not in READERS:
        raise DataError(f"unknown frequency list {name!r} (known: {', '.join(READERS)})")
    member, reader = READERS[name]
    path = Path(root if root is not None else source_root(name, cache)) / member
    if not path.is_file():
        raise DataError(f"frequency list {name} is missing its file {path}")
    return normalise(name, reader(path), heldout)
