"""Build a model directory's word lexicon and word n-gram from a prepared data directory's train
split (never dev or test), more prepared text (``WordModelConfig.texts``, e.g. the general-domain
corpora), jieba's dictionary (MIT; word frequencies) and word-frequency lists.

- Train clauses (maximal hanzi runs of each train line) are segmented into words with jieba;
  each word's readings are counted from the corpus annotation (toned, in context). Each data
  directory's clauses count as often as its mixture weight says.
- jieba's dictionary adds its words with pypinyin's phrase readings (count 0); its frequencies
  and those of the named lists, each on a common scale and averaged, are prior unigram counts
  scaled to ``prior_weight`` times the train counts: a word the corpus never had is still ranked
  by how common it is.
- Single hanzi take their readings and counts from the model's character lexicon (every train
  occurrence), plus pypinyin's readings at count 0.

The n-gram counts the train clauses as word ids, each clause ended by ``</s>``.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pinhan.data.annotate import HANZI_RUN
from pinhan.data.corpora import FREQUENCY_LISTS
from pinhan.data.config import check_mixture_weight
from pinhan.data.corpora.fetch import DEFAULT_CACHE
from pinhan.data.heldout import HeldoutRule
from pinhan.data.shards import ShardedSplit
from pinhan.data.vocab import SPECIALS, Lexicon, Vocab
from pinhan.errors import ConfigError, DataError
from pinhan.lm.frequencies import normalise, read_frequencies
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


def segment(data_dir: Path, weight: float = 1.0) -> tuple[list[list[str]], dict[str, Counter]]:
    """Train clauses as jieba words, and each word's readings as the corpus annotated them.
    ``weight``: each clause counts ``weight_copies(clause, weight)`` times (its readings too)."""
    import jieba

    from pinhan.data.prepare import weight_copies

    jieba.setLogLevel(60)
    clauses, observed = [], defaultdict(Counter)
    for run, sylls in train_clauses(data_dir):
        copies = weight_copies(run, weight) if weight != 1 else 1
        if not copies:
            continue
        words, at = jieba.lcut(run), 0
        for word in words:
            reading = sylls[at : at + len(word)]
            at += len(word)
            if len(word) > 1 and all(reading):
                observed[word][tuple(reading)] += copies
        clauses.extend([words] * copies)
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


@dataclass
class WordModelConfig:
    """How ``pinhan lm`` builds the word lexicon and the word n-gram (``--kind words``).

    Args:
        order: the n-gram's order (2 or 3).
        min_count: n-grams seen fewer times are pruned: one value for every order above 1, or
            one per order from 2 up (``[1, 3]``: all bigrams, trigrams seen 3+ times).
        texts: more prepared data directories (``pinhan prepare``; each already filtered by the
            held-out rule there) whose train splits are counted beside the model's own, with a
            mixture weight each: ``{"data/inews": 1.0}``. A weight is how many times each clause
            counts: ``floor(w)`` copies plus one more for the share ``w - floor(w)`` of clauses
            (picked by a stable hash, as ``PrepareConfig.weights`` does).
        data_weight: the same weight for the model's own data directory.
        dictionary: add jieba's ``dict.txt`` (MIT): its words join the lexicon and its counts
            the unigram prior.
        frequencies: word-frequency lists (``wordfreq``, ``jionlp``; fetched by ``pinhan fetch``
            into ``sources_cache``) averaged with jieba's counts, each on a common scale
            (:mod:`pinhan.lm.frequencies`), into the unigram prior.
        frequency_words: whether a word that only a frequency list holds joins the lexicon
            (with pypinyin's reading); otherwise the lists only re-rank known words.
        prior_weight: the prior's total weight as a share of the counted continuation counts. A
            small corpus leans more on the dictionary's counts: the bundled-only recipe takes 0.8
            (2.7M characters of train text; on dev clauses People's Daily +0.1 to +0.2 points,
            reviews -0.1 to +0.2, encyclopedia sentences +0.7 against 0.1), the general-domain one
            keeps 0.1, where 0.4 and 0.8 moved its dev domains by noise (RESULTS.md, "A heavier
            dictionary prior for the bundled-only word model").
        sources_cache: where ``pinhan fetch`` put the frequency lists.
        modified_discounts: modified Kneser-Ney's discounts (three per order, from the counts of
            counts) instead of one fixed discount. On 1,000 dev clauses each (RESULTS.md, "Modified
            Kneser-Ney"), the general-domain default, accurate mode: People's Daily +0.17, reviews
            +0.05, internet news +0.45, manual pages +0.06 points of character accuracy; fast mode
            -0.01 / -0.02 / +0.10 / -0.18; the bundled-only model +0.06 / -0.04 (accurate).
    """

    order: int = 3
    min_count: int | list[int] = 2
    texts: dict[str, float] = field(default_factory=dict)
    data_weight: float = 1.0
    dictionary: bool = True
    frequencies: list[str] = field(default_factory=list)
    frequency_words: bool = False
    prior_weight: float = 0.1
    sources_cache: str = str(DEFAULT_CACHE)
    modified_discounts: bool = True

    def __post_init__(self) -> None:
        for name, weight in {"data_weight": self.data_weight, **{f"texts[{k}]": v for k, v in self.texts.items()}}.items():
            check_mixture_weight(name, weight)
        unknown = [name for name in self.frequencies if name not in FREQUENCY_LISTS]
        if unknown:
            raise ConfigError(f"unknown frequency list {unknown[0]!r} (known: {', '.join(FREQUENCY_LISTS)})")
        if self.prior_weight < 0:
            raise ConfigError(f"prior_weight must be >= 0, got {self.prior_weight}")


def parse_texts(items: list[str]) -> dict[str, float]:
    """``["data/inews=2", "data/manpages"]`` (as ``pinhan lm --text`` takes them) -> {directory:
    weight}, a weight 1 where none is given; a ConfigError names a bad item."""
    texts = {}
    for item in items:
        path, _, weight = item.partition("=")
        try:
            texts[path] = float(weight) if weight else 1.0
        except ValueError:
            raise ConfigError(f"--text {item}: the weight after = must be a number") from None
        if not Path(path).is_dir():
            raise ConfigError(f"--text {path}: not a prepared data directory")
    return texts


def build_words(data_dir: str | Path, lexicon: Lexicon, config: WordModelConfig | None = None, *,
                heldout: HeldoutRule | None = None, progress=None) -> tuple[WordLexicon, WordNgram]:
    """The word lexicon and the word n-gram of a prepared data directory and ``config``'s other
    sources (see the module docstring); ``heldout`` applies the held-out rule to the dictionary's
    and the frequency lists' entries (the train split follows the bundled split rule already, a
    named corpus was filtered by ``pinhan prepare``)."""
    config = config or WordModelConfig()
    data_dir, started = Path(data_dir), time.perf_counter()
    say = progress or (lambda message: None)
    clauses, observed, counted = [], defaultdict(Counter), {}
    for directory, weight in [(data_dir, config.data_weight)] + [(Path(p), w) for p, w in config.texts.items()]:
        more, seen = segment(directory, weight)
        if not more and directory == data_dir:
            raise DataError(f"{data_dir} has no train clauses to build a word model from")
        clauses += more
        for word, readings in seen.items():
            observed[word].update(readings)
        counted[str(directory)] = {"weight": weight, "clauses": len(more)}
        say(f"segmented {directory}: {len(more):,} train clauses counted (weight {weight:g}; {time.perf_counter() - started:.0f} s)")
    freqs, listed, dropped = prior_frequencies(config, heldout, say)
    known = {w for c in clauses for w in c} | listed
    table = readings_table(known, observed, lexicon)
    words = [EOS_TEXT] + sorted(table)
    word_id = {w: i for i, w in enumerate(words)}
    lines = [np.array([word_id[w] for w in c if w in word_id] + [EOS], dtype=np.int64) for c in clauses]
    prior = _prior(lines, words, freqs, config.prior_weight)
    lm = WordNgram.build(lines, len(words), order=config.order, min_count=config.min_count, prior_counts=prior,
                         modified=config.modified_discounts)
    lm.info.update({"prior_weight": config.prior_weight, "train_clauses": len(clauses), "data": str(data_dir),
                    "counted": counted, "frequencies": (["jieba"] if config.dictionary else []) + config.frequencies})
    say(f"{len(words):,} words, n-grams kept {lm.info['ngrams_kept']} ({time.perf_counter() - started:.0f} s)")
    info = {"words": len(words), "train_clauses": len(clauses), "counted": counted, "data": str(data_dir),
            "sources": ["train splits (jieba-segmented)"] + (["jieba dict.txt"] if config.dictionary else [])
            + config.frequencies + ["character lexicon", "pypinyin readings"],
            "heldout_dropped": dropped if heldout is not None else None}
    return WordLexicon(words, [table.get(w, {}) if i else {} for i, w in enumerate(words)], info), lm


def prior_frequencies(config: WordModelConfig, heldout: HeldoutRule | None, say) -> tuple[dict[str, float], set[str], dict[str, int]]:
    """The unigram prior's frequencies: jieba's counts and each named list, every one scaled to
    :data:`~pinhan.lm.frequencies.SCALE` and averaged; the words they bring into the lexicon
    (jieba's; the lists' too when ``frequency_words``); entries the held-out rule dropped, per list."""
    lists: list[dict[str, int]] = []
    listed: set[str] = set()
    dropped: dict[str, int] = {}
    if config.dictionary:
        counts, dropped["jieba dict.txt"] = jieba_frequencies(heldout)
        lists.append(normalise("jieba", iter(counts.items())).counts)
        listed |= set(counts)
    for name in config.frequencies:
        found = read_frequencies(name, config.sources_cache, heldout)
        lists.append(found.counts)
        dropped[name] = found.heldout_dropped
        listed |= set(found.counts) if config.frequency_words else set()
    for name, n in dropped.items():
        say(f"{name}: held-out rule " + (f"dropped {n} entries ({heldout.path})" if heldout is not None else "not applied (no list given)"))
    merged: dict[str, float] = defaultdict(float)
    for counts in lists:
        for word, count in counts.items():
            merged[word] += count / len(lists)
    return merged, listed, dropped


def _prior(lines: list[np.ndarray], words: list[str], freqs: dict[str, float], weight: float) -> np.ndarray:
    """Prior frequencies as unigram counts weighing ``weight`` times the train continuation counts."""
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
