"""Same-data classical baseline: word trigram with interpolated modified Kneser-Ney smoothing,
decoded by beam-pruned Viterbi over the word lattice of toneless, unsegmented pinyin.

Training data: the **train split only** of a prepared data directory (``data/bundled``). Each
maximal run of hanzi in a train line is one LM sentence (the benchmark items are such runs),
segmented into words with jieba. jieba's own dictionary frequencies are added as extra unigram
counts (scaled so that together they weigh ``jieba_weight`` times the train unigram counts).

Word -> toneless pinyin dictionary: every jieba dictionary word and every train word, read by
pypinyin as a phrase, plus each train word's in-context readings from the corpus annotation, plus
every single hanzi of the project's lexicon with all its readings (so every syllable is
coverable). With ``erhua`` (default on) 儿 is also readable as ``r`` (``wanr`` = 玩儿), the
convention of the HSK set's own pinyin.

Decoding: input letters (``zhongguowenhua``) -> every substring that spells a dictionary word is a
lattice edge (this covers every valid syllable segmentation at once: ``xian`` matches 先 and 西安)
-> Viterbi over (position, last two words) states with the ``beam`` best states kept per letter
position and the ``max_words`` most frequent words per spelling. Context-free: the item's
``context`` is not used. ``--segmentation parser`` instead fixes the syllables to the top path of
the project's pinyin parser (``xian`` is then only ``xian``, never ``xi'an``): about 1 point of
char accuracy and 2-3 points of sentence accuracy lower on the dev clauses.

Settings (``jieba_weight`` 0.1, ``beam`` 16, ``max_words`` 40) were chosen on every 4th clause of
the prepared dev split (``--sets bundled-dev``), never on a test set; jieba weights 0..0.6 and
beams 8..32 all land within 0.2 points of char accuracy there.

Run::

    .venv/bin/python -m benchmarks.baselines.word_trigram --sets pd1998-test reviews-test hsk-test [--limit N]

The built model is cached in ``benchmarks/out/word_trigram_model.pkl`` (gitignored).
Python API: ``WordTrigramConverter.build("data/bundled").convert("zhongguowenhua")``.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import os
import pickle
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable, Iterator, Sequence

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO.parent / "shared" / "bench"
OUT = REPO / "benchmarks" / "out"
CACHE = OUT / "word_trigram_model.pkl"
CACHE_VERSION = 2

BOS, EOS = "<s>", "</s>"
BOS_ID, EOS_ID = 0, 1
SHIFT = 21  # word ids are packed into n-gram keys with this many bits each
FALLBACK_LOGP = -30.0  # cost of passing one letter through when no word spells it
_LETTERS = re.compile("[a-z]+")
_HANZI = re.compile("[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")


# --- language model -----------------------------------------------------------------------

def _discounts(count_of_counts: Counter) -> list[float]:
    """Modified Kneser-Ney discounts [0, D1, D2, D3+] (Chen & Goodman) from n1..n4."""
    n1, n2, n3, n4 = (count_of_counts.get(k, 0) for k in (1, 2, 3, 4))
    if not (n1 and n2 and n3 and n4):  # tiny corpora: plain absolute discounting
        return [0.0, 0.5, 1.0, 1.5] if n1 else [0.0, 0.0, 0.0, 0.0]
    y = n1 / (n1 + 2 * n2)
    ds = [1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3]
    return [0.0] + [min(max(d, 0.0), float(k + 1)) for k, d in enumerate(ds)]


class KneserNeyTrigram:
    """Interpolated modified Kneser-Ney word trigram.

    ``p3(w|u,v) = max(c(uvw) - D3(c), 0) / c(uv.) + g3(uv) p2(w|v)``; the bigram level uses
    continuation counts N1+(. v w) (raw counts for n-grams starting with ``<s>``, which nothing
    precedes), the unigram level continuation counts N1+(. w) plus ``jieba_weight``-scaled extra
    counts, interpolated with the uniform distribution over the vocabulary. ``<s>`` is never
    predicted; ``</s>`` is. Words are ids (``word_id``); n-gram keys pack ids into one int.
    """

    def __init__(self) -> None:
        self.words: list[str] = [BOS, EOS]
        self.word_id: dict[str, int] = {BOS: BOS_ID, EOS: EOS_ID}
        self.c3: dict[int, int] = {}
        self.c2: dict[int, int] = {}
        self.c1: dict[int, int] = {}
        self.extra: dict[int, float] = {}
        self.ctx3: dict[int, tuple[float, float]] = {}  # (u, v) -> (1 / total, backoff weight)
        self.ctx2: dict[int, tuple[float, float]] = {}
        self.d3 = self.d2 = self.d1 = [0.0, 0.0, 0.0, 0.0]
        self.p1: list[float] = []
        self.jieba_weight = 0.0

    def add_word(self, word: str) -> int:
        wid = self.word_id.get(word)
        if wid is None:
            wid = self.word_id[word] = len(self.words)
            self.words.append(word)
            if wid >= 1 << SHIFT:
                raise ValueError(f"more than {1 << SHIFT} words")
        return wid

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], vocab: Iterable[str] = (), extra_counts: dict[str, float] | None = None,
              jieba_weight: float = 0.0) -> "KneserNeyTrigram":
        """``sentences``: word lists without ``<s>``/``</s>``; ``vocab``: further words that may be
        predicted (they get extra counts or the uniform floor); ``extra_counts``: word -> extra
        unigram count (jieba frequencies)."""
        lm = cls()
        raw3: Counter = Counter()
        raw2_bos: Counter = Counter()
        mask = (1 << SHIFT) - 1
        for sentence in sentences:
            ids = [BOS_ID] + [lm.add_word(w) for w in sentence] + [EOS_ID]
            raw2_bos[ids[1]] += 1
            for k in range(2, len(ids)):
                raw3[(ids[k - 2] << (2 * SHIFT)) | (ids[k - 1] << SHIFT) | ids[k]] += 1
        for w in vocab:
            lm.add_word(w)
        for w in extra_counts or {}:
            lm.add_word(w)
        # Adjusted bigram counts: distinct left words of (v, w); raw counts after <s>.
        c2: Counter = Counter()
        for key in raw3:
            c2[key & ((1 << 2 * SHIFT) - 1)] += 1
        for w, n in raw2_bos.items():
            c2[(BOS_ID << SHIFT) | w] = n
        c1: Counter = Counter()
        for key in c2:
            c1[key & mask] += 1
        lm.c3, lm.c2, lm.c1 = dict(raw3), dict(c2), dict(c1)
        lm.d3 = _discounts(Counter(lm.c3.values()))
        lm.d2 = _discounts(Counter(lm.c2.values()))
        lm.d1 = _discounts(Counter(lm.c1.values()))
        lm.ctx3 = lm._contexts(lm.c3, lm.d3)
        lm.ctx2 = lm._contexts(lm.c2, lm.d2)
        lm.extra = {lm.word_id[w]: float(n) for w, n in (extra_counts or {}).items() if n > 0}
        lm.set_jieba_weight(jieba_weight)
        return lm

    @staticmethod
    def _contexts(counts: dict[int, int], d: list[float]) -> dict[int, tuple[float, float]]:
        """context key (the n-gram key without its last word) -> (1 / total count, backoff weight)."""
        totals: Counter = Counter()
        discounted: Counter = Counter()
        for key, n in counts.items():
            ctx = key >> SHIFT
            totals[ctx] += n
            discounted[ctx] += d[min(n, 3)]
        return {ctx: (1.0 / t, discounted[ctx] / t) for ctx, t in totals.items()}

    def set_jieba_weight(self, jieba_weight: float) -> None:
        """Unigram level: the extra counts are scaled to ``jieba_weight`` times the train total."""
        self.jieba_weight = jieba_weight
        total_c1 = sum(self.c1.values())
        total_extra = sum(self.extra.values())
        scale = jieba_weight * total_c1 / total_extra if total_extra and jieba_weight > 0 else 0.0
        z = total_c1 + scale * total_extra
        discounted = sum(self.d1[min(n, 3)] for n in self.c1.values())
        if discounted <= 0:  # nothing discounted (tiny corpus): reserve half a count for the floor
            discounted, z = 0.5, z + 0.5
        n_predictable = len(self.words) - 1  # all but <s>
        if z == 0:
            self.p1 = [0.0] + [1.0 / n_predictable] * n_predictable
            return
        floor = discounted / z / n_predictable
        p1 = [floor] * len(self.words)
        p1[BOS_ID] = 0.0
        for w, n in self.c1.items():
            p1[w] += (n - self.d1[min(n, 3)]) / z
        if scale:
            for w, n in self.extra.items():
                p1[w] += scale * n / z
        self.p1 = p1

    def prob_id(self, u: int, v: int, w: int) -> float:
        """p(w | u v) with ids; ``u = v = BOS_ID`` at a sentence start."""
        p = self.p1[w]
        ctx = self.ctx2.get(v)
        if ctx is not None:
            c = self.c2.get((v << SHIFT) | w, 0)
            p = (c - self.d2[min(c, 3)]) * ctx[0] + ctx[1] * p if c else ctx[1] * p
        ctx = self.ctx3.get((u << SHIFT) | v)
        if ctx is not None:
            c = self.c3.get((u << 2 * SHIFT) | (v << SHIFT) | w, 0)
            p = (c - self.d3[min(c, 3)]) * ctx[0] + ctx[1] * p if c else ctx[1] * p
        return p

    def prob(self, history: Sequence[str], word: str) -> float:
        """p(word | last two words of history); unknown words get id-less probability 0."""
        ids = [BOS_ID, BOS_ID] + [self.word_id[h] for h in history]
        if word not in self.word_id or word == BOS:
            return 0.0
        return self.prob_id(ids[-2], ids[-1], self.word_id[word])

    def logprob(self, history: Sequence[str], word: str) -> float:
        p = self.prob(history, word)
        return math.log(p) if p > 0 else -math.inf


# --- decoding -----------------------------------------------------------------------------

def normalize_input(pinyin: str) -> str:
    """Lower-case letters only; ``ü``/``u:`` -> ``v``; tone digits, spaces and apostrophes dropped."""
    s = pinyin.lower().replace("u:", "v").replace("ü", "v")
    return re.sub(r"[^a-z]", "", s)


def lattice_edges(text: str, spellings: dict[str, list[int]], *, max_words: int, max_letters: int) -> list[list[tuple[int, list[int]]]]:
    """edges[i] = [(j, word ids)] for every substring ``text[i:j]`` that spells a word: all
    syllable segmentations at once."""
    n = len(text)
    edges: list[list[tuple[int, list[int]]]] = [[] for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, min(n, i + max_letters) + 1):
            ws = spellings.get(text[i:j])
            if ws:
                edges[i].append((j, ws[:max_words]))
    return edges


def path_edges(n: int, spans: Sequence[tuple[int, int, str]], split_spellings: dict[str, list[int]], *, max_words: int,
               max_syllables: int) -> list[list[tuple[int, list[int]]]]:
    """Edges for one fixed syllable segmentation ``spans`` = [(start, end, syllable)]: a word
    matches a run of consecutive syllables spelled exactly so (``xi'an`` is not ``xian``)."""
    edges: list[list[tuple[int, list[int]]]] = [[] for _ in range(n)]
    for a in range(len(spans)):
        for b in range(a + 1, min(len(spans), a + max_syllables) + 1):
            ws = split_spellings.get("'".join(sp[2] for sp in spans[a:b]))
            if ws:
                edges[spans[a][0]].append((spans[b - 1][1], ws[:max_words]))
    return edges


def viterbi(text: str, spellings: dict[str, list[int]] | None, lm: KneserNeyTrigram, *, beam: int, max_words: int = 40,
            max_letters: int = 40, edges: list[list[tuple[int, list[int]]]] | None = None) -> list[str]:
    """Best word sequence spelling ``text`` (normalized letters) under ``lm``; letters no word
    covers pass through one by one at ``FALLBACK_LOGP`` each (and reset the LM context).
    The lattice is ``edges`` if given, else ``lattice_edges(text, spellings, ...)``."""
    n = len(text)
    if n == 0:
        return []
    # beams[i]: (u, v) -> (log score, back pointer (i0, (u0, v0), word id or letter))
    beams: list[dict[tuple[int, int], tuple[float, tuple | None]]] = [dict() for _ in range(n + 1)]
    beams[0][(BOS_ID, BOS_ID)] = (0.0, None)
    if edges is None:
        edges = lattice_edges(text, spellings or {}, max_words=max_words, max_letters=max_letters)
    all_edges = edges
    p1, c2, c3, ctx2, ctx3, d2, d3 = lm.p1, lm.c2, lm.c3, lm.ctx2, lm.ctx3, lm.d2, lm.d3
    log = math.log
    for i in range(n):
        states = beams[i]
        if not states:
            continue
        if len(states) > beam:
            states = dict(heapq.nlargest(beam, states.items(), key=lambda kv: kv[1][0]))
            beams[i] = states
        edges = all_edges[i]
        if not edges:  # pass one letter through
            target = beams[i + 1]
            for key, (score, _) in states.items():
                s = score + FALLBACK_LOGP
                old = target.get((BOS_ID, BOS_ID))
                if old is None or s > old[0]:
                    target[(BOS_ID, BOS_ID)] = (s, (i, key, text[i]))
            continue
        for (u, v), (score, _) in states.items():
            cx2 = ctx2.get(v)
            cx3 = ctx3.get((u << SHIFT) | v)
            v_key = v << SHIFT
            uv_key = ((u << SHIFT) | v) << SHIFT
            for j, ws in edges:
                target = beams[j]
                for w in ws:
                    p = p1[w]
                    if cx2 is not None:
                        c = c2.get(v_key | w, 0)
                        p = (c - d2[min(c, 3)]) * cx2[0] + cx2[1] * p if c else cx2[1] * p
                    if cx3 is not None:
                        c = c3.get(uv_key | w, 0)
                        p = (c - d3[min(c, 3)]) * cx3[0] + cx3[1] * p if c else cx3[1] * p
                    s = score + log(p)
                    old = target.get((v, w))
                    if old is None or s > old[0]:
                        target[(v, w)] = (s, (i, (u, v), w))
    best_key, best = None, -math.inf
    for (u, v), (score, _) in beams[n].items():
        s = score + log(lm.prob_id(u, v, EOS_ID))
        if s > best:
            best_key, best = (u, v), s
    if best_key is None:
        raise RuntimeError("no path through the lattice")  # cannot happen: letters pass through
    out: list[str] = []
    pos, key = n, best_key
    while True:
        entry = beams[pos][key][1]
        if entry is None:
            break
        pos, key, w = entry
        out.append(w if isinstance(w, str) else lm.words[w])
    return out[::-1]


# --- the converter ------------------------------------------------------------------------

def _toneless(syllable: str) -> str:
    return syllable.rstrip("012345")


def train_clauses(prepared_dir: Path) -> Iterator[tuple[str, list[str | None]]]:
    """(hanzi run, toneless syllables or None) for every maximal hanzi run of every train line."""
    import numpy as np

    from pinhan.data.shards import ShardedSplit
    from pinhan.data.vocab import SPECIALS, Vocab

    vocab = Vocab.load(prepared_dir / "vocab.json")
    split = ShardedSplit(prepared_dir / "shards", "train")
    # one character per id, so text offsets stay aligned with the syllables ([UNK] -> U+FFFD)
    chars = np.array(["\ufffd"] * len(SPECIALS) + vocab.chars[len(SPECIALS):], dtype=object)
    syllables = np.array([None] * len(SPECIALS) + [_toneless(s) for s in vocab.syllables[len(SPECIALS):]], dtype=object)
    for i in range(len(split)):
        c, y = split.doc(i)
        text = "".join(chars[c])
        sy = list(syllables[y])
        for m in _HANZI.finditer(text):
            yield m.group(), sy[m.start() : m.end()]


def _jieba_dictionary() -> dict[str, int]:
    import jieba

    path = Path(jieba.__file__).parent / "dict.txt"
    freqs: dict[str, int] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 2 and _HANZI.fullmatch(parts[0]):
                freqs[parts[0]] = freqs.get(parts[0], 0) + int(parts[1])
    return freqs


class WordTrigramConverter:
    """Toneless unsegmented pinyin -> hanzi with a word trigram KN LM (see the module docstring)."""

    def __init__(self, lm: KneserNeyTrigram, spellings: dict[str, list[int]], *, beam: int = 16, max_words: int = 40,
                 segmentation: str = "lattice", meta: dict | None = None) -> None:
        """``segmentation``: ``"lattice"`` (every segmentation of the letters into spellings) or
        ``"parser"`` (word boundaries only at the syllable boundaries of the project parser's top path)."""
        self.split_spellings: dict[str, list[int]] = {}  # "xi'an" -> word ids (for "parser")
        self.max_syllables = 1
        if segmentation not in ("lattice", "parser"):
            raise ValueError(f"segmentation must be 'lattice' or 'parser', not {segmentation!r}")
        self.segmentation = segmentation
        self.lm = lm
        self.spellings = spellings  # letters -> word ids, most probable (unigram) first
        self.beam = beam
        self.max_words = max_words
        self.max_letters = max((len(k) for k in spellings), default=1)
        self.meta = meta or {}

    # construction
    @classmethod
    def from_parts(cls, sentences: Iterable[tuple[Sequence[str], Sequence[str | None] | None]], readings: dict[str, Iterable[str]],
                   extra_counts: dict[str, float] | None = None, *, jieba_weight: float = 0.1, **kwargs) -> "WordTrigramConverter":
        """Hermetic constructor: ``sentences`` = (words, toneless syllables per character or None);
        ``readings``: word -> toneless spellings (each syllable list joined, e.g. ``"xian"``)."""
        observed: dict[str, Counter] = defaultdict(Counter)
        word_lists = []
        for words, sylls in sentences:
            word_lists.append(list(words))
            if sylls is not None:
                pos = 0
                for w in words:
                    part = sylls[pos : pos + len(w)]
                    pos += len(w)
                    if part and all(part):
                        observed[w]["'".join(part)] += 1
        all_readings: dict[str, set[str]] = defaultdict(set)
        for w, rs in readings.items():
            all_readings[w].update(r for r in rs if r)
        for w, rs in observed.items():
            all_readings[w].update(rs)
        lm = KneserNeyTrigram.build(word_lists, vocab=sorted(all_readings), extra_counts=extra_counts, jieba_weight=jieba_weight)
        spell: dict[str, list[int]] = defaultdict(list)
        split: dict[str, list[int]] = defaultdict(list)
        for w, rs in all_readings.items():
            wid = lm.word_id[w]
            for r in rs:
                spell[normalize_input(r)].append(wid)
                split["'".join(normalize_input(x) for x in r.split("'"))].append(wid)
        conv = cls(lm, dict(spell), **kwargs)
        conv.set_split_spellings(dict(split))
        conv._sort_spellings()
        return conv

    def set_split_spellings(self, split_spellings: dict[str, list[int]]) -> None:
        self.split_spellings = split_spellings
        self.max_syllables = max((k.count("'") + 1 for k in split_spellings), default=1)
        self._sort_spellings()

    def _sort_spellings(self) -> None:
        p1 = self.lm.p1
        for table in (self.spellings, self.split_spellings):
            for ids in table.values():
                ids[:] = sorted(set(ids), key=lambda w: (-p1[w], w))

    def set_jieba_weight(self, jieba_weight: float) -> None:
        self.lm.set_jieba_weight(jieba_weight)
        self._sort_spellings()
        self.meta["jieba_weight"] = jieba_weight

    @classmethod
    def build(cls, prepared_dir: str | Path, *, jieba_weight: float = 0.1, erhua: bool = True, progress: bool = False,
              **kwargs) -> "WordTrigramConverter":
        """From the train split of a prepared data directory (never dev or test)."""
        import jieba
        from pypinyin import Style, lazy_pinyin, pinyin

        from pinhan.data.vocab import Lexicon

        prepared_dir = Path(prepared_dir)
        started = time.perf_counter()
        jieba.setLogLevel(60)
        jieba.initialize()
        say = (lambda msg: print(f"[{time.perf_counter() - started:6.1f} s] {msg}", file=sys.stderr)) if progress else (lambda msg: None)
        sentences = []
        for run, sylls in train_clauses(prepared_dir):
            sentences.append((jieba.lcut(run), sylls))
        say(f"segmented {len(sentences):,} train clauses")
        freqs = _jieba_dictionary()
        words = set(freqs)
        for ws, _ in sentences:
            words.update(ws)
        readings: dict[str, set[str]] = {}
        for w in words:
            r = lazy_pinyin(w, style=Style.NORMAL, errors=lambda x: ["?"] * len(x))
            readings[w] = {"'".join(r)} if len(r) == len(w) and all(_LETTERS.fullmatch(x) for x in r) else set()
        say(f"pypinyin readings of {len(words):,} words")
        lexicon = Lexicon.load(prepared_dir / "lexicon.json")
        for syllable, chars in lexicon.entries.items():
            for ch in chars:
                readings.setdefault(ch, set()).add(_toneless(syllable))
        for ch in {ch for w in words for ch in w}:
            for r in pinyin(ch, style=Style.NORMAL, heteronym=True, errors=lambda x: [["?"]])[0]:
                if _LETTERS.fullmatch(r):
                    readings.setdefault(ch, set()).add(r)
        if erhua:  # 儿 as a bare 'r' (玩儿 wanr), also at the end of words (哪儿 nar)
            readings.setdefault("儿", set()).add("r")
            for w, rs in readings.items():
                if len(w) > 1 and w.endswith("儿"):
                    rs.update({r[:-2] + "r" for r in rs if r.endswith("er")})
        conv = cls.from_parts(sentences, readings, freqs, jieba_weight=jieba_weight, **kwargs)
        conv.meta.update({"prepared_dir": str(prepared_dir), "train_clauses": len(sentences), "erhua": erhua,
                          "jieba_weight": jieba_weight, "build_seconds": round(time.perf_counter() - started, 1)})
        say(f"LM: {len(conv.lm.words):,} words, {len(conv.lm.c2):,} bigrams, {len(conv.lm.c3):,} trigrams")
        return conv

    # persistence
    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            pickle.dump({"version": CACHE_VERSION, "lm": vars(self.lm), "spellings": self.spellings,
                         "split_spellings": self.split_spellings, "meta": self.meta}, fh, protocol=5)
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path, **kwargs) -> "WordTrigramConverter":
        with open(path, "rb") as fh:
            data = pickle.load(fh)
        if data.get("version") != CACHE_VERSION:
            raise ValueError(f"{path}: cache version {data.get('version')}, expected {CACHE_VERSION}")
        lm = KneserNeyTrigram()
        lm.__dict__.update(data["lm"])
        conv = cls(lm, data["spellings"], meta=data["meta"], **kwargs)
        conv.split_spellings = data["split_spellings"]
        conv.max_syllables = max((k.count("'") + 1 for k in conv.split_spellings), default=1)
        return conv

    # use
    def convert_words(self, pinyin: str) -> list[str]:
        text = normalize_input(pinyin)
        edges = None
        if self.segmentation == "parser" and text:
            from pinhan.pinyin import parse

            paths = parse(text, max_paths=1)
            if paths:  # the top path's segments (an unparsable piece is one span of its own)
                spans = [(seg.start, seg.end, text[seg.start : seg.end]) for seg in paths[0]]
                edges = path_edges(len(text), spans, self.split_spellings, max_words=self.max_words,
                                   max_syllables=self.max_syllables)
        return viterbi(text, self.spellings, self.lm, beam=self.beam, max_words=self.max_words,
                       max_letters=self.max_letters, edges=edges)

    def convert(self, pinyin: str) -> str:
        """``"zhongguowenhua"`` -> ``"中国文化"``."""
        return "".join(self.convert_words(pinyin))


# --- benchmark ----------------------------------------------------------------------------

def load_items(name: str, prepared_dir: Path, bench_dir: Path) -> list[dict]:
    """``bundled-dev`` = the prepared directory's dev clauses (for tuning); other names are
    ``{bench_dir}/{name}.jsonl``."""
    path = prepared_dir / "dev.jsonl" if name == "bundled-dev" else bench_dir / f"{name}.jsonl"
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def item_input(item: dict) -> str:
    return "".join(_toneless(s) for s in item["pinyin"])


def evaluate(conv: WordTrigramConverter, items: list[dict], warmup: int = 20) -> dict:
    from pinhan.eval.metrics import by_length, char_accuracy, sentence_accuracy

    inputs = [item_input(it) for it in items]
    golds = [it["hanzi"] for it in items]
    for text in inputs[:warmup]:
        conv.convert(text)
    preds, ms = [], []
    for text in inputs:
        t0 = time.perf_counter()
        preds.append(conv.convert(text))
        ms.append((time.perf_counter() - t0) * 1000)
    ms_sorted = sorted(ms)
    return {
        "items": len(items),
        "char_accuracy": char_accuracy(preds, golds),
        "sentence_accuracy": sentence_accuracy(preds, golds),
        "latency_ms_median": statistics.median(ms),
        "latency_ms_p95": ms_sorted[min(len(ms_sorted) - 1, math.ceil(0.95 * len(ms_sorted)) - 1)],
        "by_length": by_length(preds, golds),
        "errors_sample": [{"id": it["id"], "gold": g, "pred": p} for it, g, p in zip(items, golds, preds) if p != g][:20],
    }


def get_converter(prepared_dir: Path, cache: Path, rebuild: bool, erhua: bool) -> WordTrigramConverter:
    if cache.is_file() and not rebuild:
        try:
            conv = WordTrigramConverter.load(cache)
        except (ValueError, KeyError, OSError, pickle.UnpicklingError) as exc:
            print(f"cache {cache} not usable ({exc}); rebuilding", file=sys.stderr)
        else:
            if conv.meta.get("prepared_dir") == str(prepared_dir) and conv.meta.get("erhua") == erhua:
                return conv
    conv = WordTrigramConverter.build(prepared_dir, erhua=erhua, progress=True)
    conv.save(cache)
    return conv


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["pd1998-test", "reviews-test", "hsk-test"],
                        help="bench set names (files in --bench-dir), or bundled-dev for the prepared dev clauses")
    parser.add_argument("--limit", type=int, help="first N items of each set")
    parser.add_argument("--prepared", type=Path, default=REPO / "data" / "bundled")
    parser.add_argument("--bench-dir", type=Path, default=BENCH)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the model even if a cache exists")
    parser.add_argument("--no-erhua", action="store_true", help="do not read 儿 as 'r'")
    parser.add_argument("--jieba-weight", type=float, nargs="+", default=[0.1],
                        help="extra jieba unigram counts relative to the train unigram total (several values: a sweep)")
    parser.add_argument("--beam", type=int, default=16)
    parser.add_argument("--max-words", type=int, default=40)
    parser.add_argument("--segmentation", choices=("lattice", "parser"), default="lattice",
                        help="all syllable segmentations (default) or the pinyin parser's top path only")
    parser.add_argument("--out", type=Path, default=OUT / "word_trigram", help="writes OUT.md and OUT.json")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    conv = get_converter(args.prepared.resolve(), args.cache, args.rebuild, not args.no_erhua)
    conv.beam, conv.max_words, conv.segmentation = args.beam, args.max_words, args.segmentation
    print(f"model ready in {time.perf_counter() - t0:.1f} s: {len(conv.lm.words):,} words, {len(conv.lm.c2):,} bigrams, "
          f"{len(conv.lm.c3):,} trigrams", file=sys.stderr)
    results = []
    for weight in args.jieba_weight:
        conv.set_jieba_weight(weight)
        for name in args.sets:
            items = load_items(name, args.prepared, args.bench_dir)[: args.limit]
            r = evaluate(conv, items)
            r.update({"set": name, "jieba_weight": weight, "beam": args.beam, "max_words": args.max_words,
                      "segmentation": args.segmentation})
            results.append(r)
            print(f"{name:14s} jieba_weight={weight:<5g} n={r['items']:5d}  char {100 * r['char_accuracy']:.2f} %  "
                  f"sentence {100 * r['sentence_accuracy']:.2f} %  latency median {r['latency_ms_median']:.2f} ms  "
                  f"p95 {r['latency_ms_p95']:.2f} ms", flush=True)
    command = ("python -m benchmarks.baselines.word_trigram " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    meta = {k: v for k, v in conv.meta.items()}
    load = [round(x, 2) for x in os.getloadavg()]
    report = {"command": command, "model": meta, "results": results, "load_average_at_end": load}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    lines = [
        "# Word trigram (modified KN) + Viterbi baseline",
        "",
        f"`{command}` — trained on the train split of `{meta.get('prepared_dir')}` only; input = toneless pinyin "
        "without separators, context not used; latency = one item at batch 1 after 20 warm-up items.",
        "",
        "| set | items | jieba weight | char % | sentence % | median ms | p95 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(f"| {r['set']} | {r['items']} | {r['jieba_weight']:g} | {100 * r['char_accuracy']:.2f} | "
                     f"{100 * r['sentence_accuracy']:.2f} | {r['latency_ms_median']:.2f} | {r['latency_ms_p95']:.2f} |")
    lines += ["", f"beam {args.beam}, max words per spelling {args.max_words}, segmentation {args.segmentation}, "
              f"erhua {'on' if meta.get('erhua') else 'off'}. Load average (1/5/15 min) at the end: "
              f"{' / '.join(map(str, load))} on {os.cpu_count()} cores (latency is sensitive to other work).", ""]
    args.out.with_suffix(".md").write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.out.with_suffix('.md')} and .json", file=sys.stderr)


if __name__ == "__main__":
    main()
