"""Build a model directory's word lexicon and word n-gram from a prepared data directory's train
split (never dev or test) and jieba's dictionary (MIT; word frequencies).

- Train clauses (maximal hanzi runs of each train line) are segmented into words with jieba;
  each word's readings are counted from the corpus annotation (toned, in context).
- jieba's dictionary adds its words with pypinyin's phrase readings (count 0) and its
  frequencies as prior unigram counts, scaled to ``jieba_weight`` times the train counts: a word
  the corpus never had is still ranked by how common it is.
- Single hanzi take their readings and counts from the model's character lexicon (every train
  occurrence), plus pypinyin's readings at count 0.

The n-gram counts the train clauses as word ids, each clause ended by ``</s>``.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from pinhan.data.annotate import HANZI_RUN
from pinhan.data.heldout import HeldoutRule
from pinhan.data.shards import ShardedSplit
from pinhan.data.vocab import SPECIALS, Lexicon, Vocab
from pinhan.errors import DataError
from pinhan.lm.ngram import WordNgram, pack
from pinhan.lm.words import EOS, EOS_TEXT, Reading, WordLexicon


def train_clauses(data_dir: Path) -> Iterator[tuple[str, list[str | None]]]:
    """(hanzi run, toned syllable per character or None) for every hanzi run of every train line."""
    vocab = Vocab.load(data_dir / "vocab.json")
    split = ShardedSplit(data_dir / "shards", "train")
    # one character per id, so text offsets stay aligned with the syllables ([UNK] -> U+FFFD)
    chars = np.array(["\ufffd"] * len(SPECIALS) + vocab.chars[len(SPECIALS):], dtype=object)
    syllables = np.array([None] * len(SPECIALS) + vocab.syllables[len(SPECIALS):], dtype=object)
    for i in range(len(split)):
        char_ids, syllable_ids = split.doc(i)
        text, sylls = "".join(chars[char_ids]), list(syllables[syllable_ids])
        for match in HANZI_RUN.finditer(text):
            yield match.group(), sylls[match.start() : match.end()]


def jieba_frequencies(heldout: HeldoutRule | None = None) -> tuple[dict[str, int], int]:
    """jieba's dictionary: hanzi word -> frequency, and how many of its lines the held-out rule
    dropped (``heldout`` None: none checked)."""
    import jieba

    freqs: dict[str, int] = {}
    dropped = 0
    with open(Path(jieba.__file__).parent / "dict.txt", encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) >= 2 and HANZI_RUN.fullmatch(parts[0]) and parts[1].isdigit():
                if heldout is not None and heldout.hits(parts[0]):
                    dropped += 1
                    continue
                freqs[parts[0]] = freqs.get(parts[0], 0) + int(parts[1])
    return freqs, dropped


def segment(data_dir: Path) -> tuple[list[list[str]], dict[str, Counter]]:
    """Train clauses as jieba words, and each word's readings as the corpus annotated them."""
    import jieba

    jieba.setLogLevel(60)
    clauses, observed = [], defaultdict(Counter)
    for run, sylls in train_clauses(data_dir):
        words, at = jieba.lcut(run), 0
        for word in words:
            reading = sylls[at : at + len(word)]
            at += len(word)
            if len(word) > 1 and all(reading):
                observed[word][tuple(reading)] += 1
        clauses.append(words)
    return clauses, observed


def readings_table(words: set[str], observed: dict[str, Counter], lexicon: Lexicon) -> dict[str, dict[Reading, int]]:
    """word -> {toned reading: count}: observed counts, dictionary readings at 0, single hanzi from
    the character lexicon."""
    from pypinyin import Style, lazy_pinyin

    from pinhan.data.annotate import char_readings

    table: dict[str, dict[Reading, int]] = {}
    for syllable, chars in lexicon.entries.items():
        for ch, n in chars.items():
            table.setdefault(ch, {})[(syllable,)] = int(n)
    simplified = _simplified()
    for word in [w for w in table if not simplified(w)]:
        del table[word]
    for word in (w for w in words if simplified(w)):
        if len(word) == 1:
            entry = table.setdefault(word, {})
            for syllable in char_readings(word):
                entry.setdefault((syllable,), 0)
            continue
        entry = dict(observed.get(word, {}))
        guess = tuple(lazy_pinyin(word, style=Style.TONE3, neutral_tone_with_five=True, errors=lambda x: ["?"] * len(x)))
        if len(guess) == len(word) and all(s[-1:].isdigit() and s[:-1].isalpha() for s in guess):
            entry.setdefault(guess, 0)
        if entry:
            table[word] = entry
    return {w: r for w, r in table.items() if r}


def _simplified():
    """A test that text is written in simplified characters: traditional forms (這, 國) stay out of
    the lexicon, so a simplified-script user is never offered them."""
    import opencc

    t2s = opencc.OpenCC("t2s")
    return lambda text: t2s.convert(text) == text


def build_words(data_dir: str | Path, lexicon: Lexicon, *, order: int = 3, min_count: int | list[int] = 2,
                jieba_weight: float = 0.1, dictionary: bool = True, heldout: HeldoutRule | None = None,
                progress=None) -> tuple[WordLexicon, WordNgram]:
    """The word lexicon and the word n-gram of a prepared data directory (see the module
    docstring); ``dictionary`` False leaves jieba's dictionary out (train words only); ``heldout``
    applies the held-out rule to the dictionary's lines (the train split follows the bundled
    split rule already)."""
    data_dir, started = Path(data_dir), time.perf_counter()
    say = progress or (lambda message: None)
    clauses, observed = segment(data_dir)
    if not clauses:
        raise DataError(f"{data_dir} has no train clauses to build a word model from")
    say(f"segmented {len(clauses):,} train clauses ({time.perf_counter() - started:.0f} s)")
    freqs, dropped = jieba_frequencies(heldout) if dictionary else ({}, 0)
    if dictionary:
        say(f"jieba dictionary: {len(freqs):,} words; held-out rule: "
            + (f"{dropped} lines dropped ({heldout.path})" if heldout is not None else "not applied (no list given)"))
    table = readings_table(set(freqs) | {w for c in clauses for w in c}, observed, lexicon)
    words = [EOS_TEXT] + sorted(table)
    word_id = {w: i for i, w in enumerate(words)}
    lines = [np.array([word_id[w] for w in c if w in word_id] + [EOS], dtype=np.int64) for c in clauses]
    prior = _prior(lines, words, freqs, jieba_weight)
    lm = WordNgram.build(lines, len(words), order=order, min_count=min_count, prior_counts=prior)
    lm.info.update({"jieba_weight": jieba_weight, "train_clauses": len(clauses), "data": str(data_dir)})
    say(f"{len(words):,} words, n-grams kept {lm.info['ngrams_kept']} ({time.perf_counter() - started:.0f} s)")
    info = {"words": len(words), "train_clauses": len(clauses), "sources": ["train split (jieba-segmented)",
            "jieba dict.txt", "character lexicon", "pypinyin readings"], "data": str(data_dir),
            "heldout_dropped": {"jieba dict.txt": dropped} if heldout is not None else None}
    return WordLexicon(words, [table.get(w, {}) if i else {} for i, w in enumerate(words)], info), lm


def _prior(lines: list[np.ndarray], words: list[str], freqs: dict[str, int], weight: float) -> np.ndarray:
    """jieba frequencies as unigram counts weighing ``weight`` times the train continuation counts."""
    prior = np.zeros(len(words))
    for i, w in enumerate(words):
        prior[i] = freqs.get(w, 0)
    if weight <= 0 or prior.sum() == 0:
        return np.zeros(len(words))
    pairs = np.concatenate([np.stack([line[:-1], line[1:]], axis=1) for line in lines if len(line) > 1])
    continuation_total = len(np.unique(pack(pairs, WordNgram.ID_BITS)))  # one per distinct bigram
    return prior * (weight * continuation_total / prior.sum())


def save_words(lexicon: WordLexicon, lm: WordNgram, model_dir: str | Path, weights: dict[str, float] | None = None,
               tables: dict | None = None) -> tuple[Path, Path]:
    """Write the word lexicon and n-gram into ``model_dir`` with the Transformer's weights chosen
    for them (``model``: accurate mode's decoder, ``head``: fast mode's encoder head) and the dev
    tables they were chosen on. Each file is written under a temporary name and renamed."""
    from pinhan.data.model_dir import ModelDir

    directory = ModelDir(model_dir)
    weights = weights or {}
    lm.info.update({"model_weight": weights.get("model", 0.0), "head_weight": weights.get("head", 0.0),
                    "dev_tables": tables or {}})
    lexicon.save(directory.words)
    lm.save(directory.word_ngram)
    return directory.words, directory.word_ngram
