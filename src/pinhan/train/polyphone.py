"""Train g2p's polyphone head (:mod:`pinhan.model.polyphone`) on a frozen model's encoder.

Run: ``pinhan polyphone --model DIR --labelled ../shared/bench/cpp-dev.jsonl [--teacher g2pm]
[--corpus-sentences 20000] [--dev-fraction 0.2] --out DIR/polyphone.safetensors``

Examples are encoder states at polyphonic characters (more than one reading in the lexicon),
read exactly as g2p reads them at inference (:meth:`pinhan.infer.tasks.g2p.G2P.encoder_states`):

- gold: the labelled character of each CPP-format item (``sentence``, ``index``, ``pinyin``);
- weak (optional): the other polyphonic characters of those sentences and of train sentences of
  the bundled corpus, labelled by a teacher (g2pM, Apache-2.0, weights in its PyPI wheel) where
  its reading is one of the character's; weight ``teacher_weight`` each, at most ``teacher_cap``
  per character. Then sentences of named corpora (``corpus_sources``, from ``pinhan fetch``'s
  cache; their train split by the rule ``pinhan prepare`` splits by) chosen to fill that cap for
  the polyphones the bundled sentences leave short: 20,000 bundled sentences hold 衰 16 times and
  圜 never, the news 173 and 3 times. Every sentence passes the held-out rule first (dropped lines
  are reported).

A fixed-seed fold of the labelled items (``dev_fraction``) measures the head; 0 trains on all.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pinhan.data.heldout import DEFAULT_LIST, HeldoutRule
from pinhan.errors import ConfigError, DataError
from pinhan.model.polyphone import PolyphoneConfig, PolyphoneHead, merge_heads
from pinhan.model.reading_memory import ReadingMemory

MAX_CANDIDATES = 8  # readings scored per character (the lexicon's most frequent first)


@dataclass
class PolyphoneTrainConfig:
    """How the polyphone head is trained.

    Args:
        labelled: CPP-format JSONL files with gold readings (``sentence``, ``index``, ``pinyin``).
        dev_fraction: share of the labelled items held out (fixed ``seed``) to measure the head.
        seed: shuffles the fold, the examples and the initial weights.
        teacher: ``"g2pm"`` labels the weak examples; None trains on gold only.
        teacher_weight: loss weight of a weak example (a gold one weighs 1).
        teacher_cap: most weak examples per character.
        skip_fixed: leave out positions whose reading the phrase dictionary fixes (g2p never asks
            the head there; trained on them, the head learnt 得 de2 from 获得 and read 长得 wrong).
        corpus_sentences: train sentences of the bundled corpus the teacher labels (0: none).
        corpus_sources: named corpora (``pinhan fetch`` names, e.g. ``inews``) whose train-split
            sentences the teacher labels where they hold a polyphone still short of
            ``teacher_cap`` (:func:`mine_sentences`); empty: none.
        sources_cache: the cache ``pinhan fetch`` filled.
        dim: width of the shared reading space; pair_dim: of the per-pair space (per member).
        window: neighbours each side whose encoder states the head reads beside the character's
            own (:class:`~pinhan.model.polyphone.PolyphoneConfig`).
        encoder_layers: the head reads the states after the encoder's first this many layers (0:
            all), and g2p runs no more of the encoder than that. 1 (of the default model's 4): on
            two cpp-dev folds heads reading 1 / 2 / 4 layers got 3,723 / 3,725 / 3,725 of 3,820
            items right, and one layer is a quarter of the encoder's time (benchmarks/RESULTS.md,
            "Polyphones, eighth part").
        epochs, lr, batch_size, lr_decay: AdamW over the examples; lr times ``lr_decay`` each epoch.
        members: heads trained on the same examples from seeds ``seed``, ``seed + 1``, ... and
            merged into one head that scores their mean (:func:`~pinhan.model.polyphone.merge_heads`;
            the file holds one head ``members * dim`` wide). One head's accuracy at its positions
            moves by about half a point with its seed; on four cpp-dev folds the whole g2p read
            7,481 of 7,640 items right with three heads of width 64, against 7,463 with one of
            width 128, better on every fold (RESULTS.md, "Polyphones, twelfth part").
        heldout: the held-out list every sentence is checked against.
        memory_min_count: the head's file also keeps the reading the labelled training items
            give a polyphone beside a neighbour it makes a word with wherever at least this many
            of them hold that neighbour and all agree
            (:class:`~pinhan.model.reading_memory.ReadingMemory`); 0: no memory. 2: on three
            cpp-dev folds 21 readings changed, all to the gold one (with any neighbour, not only
            words: 1 / 2 / 3 changed 60 / 28 / 20 readings, 36 / 24 / 18 to the gold one).
    """

    labelled: list[str] = field(default_factory=lambda: ["../shared/bench/cpp-dev.jsonl"])
    dev_fraction: float = 0.2
    seed: int = 16
    teacher: str | None = "g2pm"
    teacher_weight: float = 0.3
    teacher_cap: int = 400
    skip_fixed: bool = True
    corpus_sentences: int = 20000
    corpus_sources: list[str] = field(default_factory=list)
    sources_cache: str = "data/cache/sources"
    dim: int = 64
    pair_dim: int = 16
    window: int = 1
    encoder_layers: int = 1
    epochs: int = 6
    members: int = 3
    lr: float = 3e-3
    lr_decay: float = 0.7
    batch_size: int = 256
    heldout: str = str(DEFAULT_LIST)
    memory_min_count: int = 2

    def __post_init__(self) -> None:
        if not 0 <= self.dev_fraction < 1:
            raise ConfigError(f"dev_fraction must be in [0, 1), got {self.dev_fraction}")
        if not isinstance(self.window, int) or isinstance(self.window, bool) or self.window < 0:
            raise ConfigError(f"window must be a whole number of neighbours >= 0, got {self.window!r}")
        if not isinstance(self.encoder_layers, int) or isinstance(self.encoder_layers, bool) or self.encoder_layers < 0:
            raise ConfigError(f"encoder_layers must be a whole number >= 0 (0: all), got {self.encoder_layers!r}")
        from pinhan.data.corpora import CORPORA

        if not isinstance(self.corpus_sources, list) or any(name not in CORPORA for name in self.corpus_sources):
            raise ConfigError(f"corpus_sources must be a list of corpus names ({', '.join(CORPORA)}), "
                              f"got {self.corpus_sources!r}")
        if self.teacher not in (None, "g2pm"):
            raise ConfigError(f"teacher must be g2pm or none, got {self.teacher!r}")
        if not isinstance(self.memory_min_count, int) or isinstance(self.memory_min_count, bool) or self.memory_min_count < 0:
            raise ConfigError(f"memory_min_count must be a whole number >= 0, got {self.memory_min_count!r}")
        for name in ("epochs", "batch_size", "dim", "pair_dim", "members"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")


@dataclass
class Examples:
    """Encoder states (N, d) with their character, gold syllable and loss weight."""

    states: list[np.ndarray] = field(default_factory=list)
    chars: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)

    def extend(self, other: Examples) -> None:
        for name in ("states", "chars", "labels", "weights"):
            getattr(self, name).extend(getattr(other, name))


def read_labelled(paths: list[str]) -> list[dict]:
    items = []
    for path in paths:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise DataError(f"cannot read labelled polyphones {path}: {exc}") from None
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            item = json.loads(line)
            if not isinstance(item, dict) or item.get("sentence", "")[item.get("index", 0):][:1] != item.get("char"):
                raise DataError(f"{path}:{n}: not a CPP item (sentence[index] must be char)")
            items.append(item)
    return items


def labelled_fold(config: PolyphoneTrainConfig, rule: HeldoutRule) -> tuple[dict, list[dict], list[dict]]:
    """``config``'s labelled items less those the held-out rule drops, cut into its train and
    dev fold; with the counts ``labelled`` and ``labelled_dropped_heldout``."""
    items = read_labelled(config.labelled)
    kept = [it for it in items if not rule.hits(it["sentence"])]
    train_items, dev_items = split_fold(kept, config.dev_fraction, config.seed)
    return {"labelled": len(items), "labelled_dropped_heldout": len(items) - len(kept)}, train_items, dev_items


def split_fold(items: list[dict], fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """(train, dev): a fixed-seed share ``fraction`` of the items is dev."""
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    dev = set(order[: int(len(items) * fraction)])
    return [it for i, it in enumerate(items) if i not in dev], [it for i, it in enumerate(items) if i in dev]


SENTENCE_END = re.compile(r"(?<=[。！？；!?;])")


def sentences(text: str) -> list[str]:
    """``text`` cut after each sentence-final mark, keeping the pieces of 6-80 characters."""
    return [s for s in SENTENCE_END.split(text) if 6 <= len(s) <= 80]


def corpus_sentences(limit: int, seed: int) -> list[str]:
    """Sentences (6-80 characters) of the bundled corpus's train lines, shuffled by ``seed``."""
    from pinhan.data.sources import bundled_files, read

    found = [s for f in bundled_files() for line in read(f) if line.split == "train" and line.text
             for s in sentences(line.text)]
    random.Random(seed).shuffle(found)
    return found[:limit]


def mine_sentences(sources: list[str], cache: str, rule: HeldoutRule, wanted, have: Counter, cap: int,
                   seed: int) -> tuple[list[str], dict]:
    """Sentences (6-80 characters) of the named corpora's train lines that hold a character
    ``wanted(ch)`` accepts whose count in ``have`` is still under ``cap``; ``have`` counts the
    chosen sentences' wanted characters as they are taken. The sources fill in the order given
    (``[inews, poetry]``: the poems only for what the news leaves short), each shuffled by ``seed``
    first, so the cap fills from across a corpus, not from its first files. A line is cleaned,
    split and held out exactly as ``pinhan prepare`` does. Returns the sentences and, per source,
    lines read / held out / distinct sentences / sentences taken."""
    from pinhan.data.clean import Cleaner
    from pinhan.data.config import PrepareConfig
    from pinhan.data.corpora import corpus_lines
    from pinhan.data.prepare import hash_split

    split = PrepareConfig()
    clean, report, seen, taken = Cleaner(), {}, set(), []
    for name in sources:
        counts = report.setdefault(name, {"lines": 0, "dropped_heldout": 0, "sentences": 0, "taken": 0})
        pool = []
        for line in corpus_lines(name, cache):
            text = clean(line)
            if not text or hash_split(text, split.dev_ratio, split.test_ratio) != "train":
                continue
            counts["lines"] += 1
            if rule.hits(text):
                counts["dropped_heldout"] += 1
                continue
            found = [s for s in sentences(text) if s not in seen]
            seen.update(found)  # a stock sentence (a dateline, a boilerplate notice) once
            pool.extend(found)
        counts["sentences"] = len(pool)
        random.Random(seed).shuffle(pool)
        for sentence in pool:
            chars = [ch for ch in sentence if wanted(ch)]
            if any(have[ch] < cap for ch in chars):
                have.update(chars)
                taken.append(sentence)
                counts["taken"] += 1
    return taken, report


def teacher_labels(name: str | None):
    """sentence -> one label per character (None: no teacher)."""
    if name is None:
        return None
    from g2pM import G2pM  # the `bench` extra

    model = G2pM()
    return lambda s: [x.replace("u:", "v") for x in model(s, char_split=True, tone=True)]


def collect(g2p, texts: list[str], gold: list[tuple[int, str] | None], teacher, config: PolyphoneTrainConfig,
            per_char: Counter, batch: int = 256) -> Examples:
    """Gold examples at each text's labelled offset, teacher examples at its other polyphones."""
    out = Examples()
    for start in range(0, len(texts), batch):
        chunk, labels = texts[start : start + batch], []
        for text, g in zip(chunk, gold[start : start + batch]):
            taught = teacher(text) if teacher is not None else [None] * len(text)
            fixed = g2p.fixed_readings(text) if config.skip_fixed else [None] * len(text)
            found = {}
            for at, ch in enumerate(text):
                options = [g2p.vocab.syllables[s] for s in g2p.readings(ch)[:MAX_CANDIDATES]]
                if len(options) < 2 or fixed[at] in options:
                    continue
                if g is not None and at == g[0]:
                    found[at] = (g[1], 1.0)
                elif at < len(taught) and taught[at] in options and per_char[ch] < config.teacher_cap:
                    per_char[ch] += 1
                    found[at] = (taught[at], config.teacher_weight)
            labels.append(found)
        states = g2p.encoder_states(chunk, [sorted(f) for f in labels], config.window, config.encoder_layers or None)
        for text, found, h in zip(chunk, labels, states):
            for row, at in enumerate(sorted(found)):
                out.states.append(h[row].astype(np.float16))
                out.chars.append(text[at])
                out.labels.append(found[at][0])
                out.weights.append(found[at][1])
    return out


def tensors(examples: Examples, g2p, pairs: dict[tuple[int, int], int]):
    """(states (N, d), candidate syllables (N, K), pair rows (N, K), targets (N,)); a gold
    reading outside the candidates has target -100 (counts as wrong, never trained on)."""
    n = len(examples.chars)
    syl = np.full((n, MAX_CANDIDATES), -1, dtype=np.int64)
    rows = np.full((n, MAX_CANDIDATES), len(pairs), dtype=np.int64)
    target = np.full(n, -100, dtype=np.int64)
    for i, (ch, label) in enumerate(zip(examples.chars, examples.labels)):
        options = g2p.readings(ch)[:MAX_CANDIDATES]
        cid = g2p.vocab.char_id(ch)
        syl[i, : len(options)] = options
        rows[i, : len(options)] = [pairs.get((cid, int(s)), len(pairs)) for s in options]
        sid = g2p.vocab.syllable_to_id.get(label, -1)
        if (options == sid).any():
            target[i] = int(np.nonzero(options == sid)[0][0])
    states = torch.tensor(np.stack(examples.states).astype(np.float32)) if n else torch.zeros(0)
    return states, torch.tensor(syl), torch.tensor(rows), torch.tensor(target)


def fit(train: Examples, dev: Examples, g2p, config: PolyphoneTrainConfig, log=print) -> tuple[PolyphoneHead, dict]:
    """Train ``config.members`` heads and merge them; figures: each member's dev-fold accuracy over
    the head's own positions after each epoch (``epochs``: the first member's), and the merged
    head's (``dev_accuracy``)."""
    pairs: dict[tuple[int, int], int] = {}
    for ch in train.chars:
        cid = g2p.vocab.char_id(ch)
        for s in g2p.readings(ch)[:MAX_CANDIDATES]:
            pairs.setdefault((cid, int(s)), len(pairs))
    d_model = train.states[0].shape[-1] // (2 * config.window + 1)
    head_config = PolyphoneConfig(d_model, len(g2p.vocab.chars), len(g2p.vocab.syllables), len(pairs),
                                  config.dim, config.pair_dim, config.window, config.encoder_layers)
    pair_array = np.array(list(pairs), dtype=np.int64).reshape(-1, 2)
    X, S, R, Y = tensors(train, g2p, pairs)
    W = torch.tensor(train.weights, dtype=torch.float32)
    keep = Y >= 0
    X, S, R, Y, W = X[keep], S[keep], R[keep], Y[keep], W[keep]
    dev_t = tensors(dev, g2p, pairs) if dev.chars else None
    figures: dict = {"train_examples": int(len(Y)), "gold_examples": int((W == 1).sum()), "pairs": len(pairs)}
    heads, curves = [], []
    for member in range(config.members):
        if config.members > 1:
            log(f"member {member + 1} of {config.members} (seed {config.seed + member})")
        head, curve = _fit_one(head_config, pair_array, (X, S, R, Y, W), dev_t, config, config.seed + member, log)
        heads.append(head)
        curves.append(curve)
    head = merge_heads(heads) if len(heads) > 1 else heads[0]
    figures["epochs"] = curves[0]
    if len(heads) > 1:
        figures["member_epochs"] = curves
    if dev_t is not None:
        figures["dev_accuracy"] = round(accuracy(head, dev_t), 5)
        if len(heads) > 1:
            log(f"merged {len(heads)} heads: dev-fold accuracy at the head's positions {100 * figures['dev_accuracy']:.2f} %")
    return head.eval(), figures


def _fit_one(head_config: PolyphoneConfig, pairs: np.ndarray, data, dev_t, config: PolyphoneTrainConfig, seed: int,
             log) -> tuple[PolyphoneHead, list[float]]:
    """One head from ``seed`` (its initial weights and the order of the examples each epoch)."""
    X, S, R, Y, W = data
    torch.manual_seed(seed)
    head = PolyphoneHead(head_config, pairs)
    opt = torch.optim.AdamW(head.parameters(), lr=config.lr, weight_decay=1e-4)
    curve = []
    for epoch in range(config.epochs):
        head.train()
        order = torch.randperm(len(Y), generator=torch.Generator().manual_seed(seed + epoch))
        for start in range(0, len(Y), config.batch_size):
            ix = order[start : start + config.batch_size]
            loss = nn.functional.cross_entropy(head(X[ix], S[ix], R[ix]), Y[ix], reduction="none")  # (B,)
            loss = (loss * W[ix]).sum() / W[ix].sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        for group in opt.param_groups:
            group["lr"] *= config.lr_decay
        if dev_t is not None:
            acc = accuracy(head, dev_t)
            curve.append(round(acc, 5))
            log(f"epoch {epoch + 1}: dev-fold accuracy at the head's positions {100 * acc:.2f} % (n={len(dev_t[3])})")
    return head.eval(), curve


def reading_memory(g2p, items: list[dict], min_count: int) -> ReadingMemory | None:
    """The :class:`ReadingMemory` of labelled items (None for ``min_count`` 0): a neighbour makes
    a key where it and the labelled character make a word of either phrase dictionary (pypinyin's,
    CC-CEDICT's; on three cpp-dev folds any hanzi neighbour changed 23 readings, 22 right; any
    character at all, the comma and 的 too, 28, 24 right; dictionary words 21, all right). Where
    the character makes a word on both sides, a side whose word a dictionary reads with another
    reading is not the label's word and makes no key (相似的 labelled si4 says nothing of 似的)."""
    if not min_count:
        return None
    def word(w: str) -> bool:
        return len(w) == 2 and g2p.in_phrases(w)

    examples = []
    for it in items:
        syllable = g2p.vocab.syllable_to_id.get(it["pinyin"])
        s, at = it["sentence"], it["index"]
        if syllable is None:
            continue
        left_word = s[at - 1 : at + 1] if at > 0 and word(s[at - 1 : at + 1]) else None
        right_word = s[at : at + 2] if word(s[at : at + 2]) else None
        if left_word and right_word:
            # 相似的 makes 相似 and 似的: the label (si4) is 相似's, and says nothing of 似的 (shi4).
            # A side whose word a dictionary reads otherwise is not the word the label belongs to.
            left_word = left_word if not _reads_otherwise(g2p, left_word, 1, it["pinyin"]) else None
            right_word = right_word if not _reads_otherwise(g2p, right_word, 0, it["pinyin"]) else None
        left = g2p.vocab.char_id(s[at - 1]) if left_word else None
        right = g2p.vocab.char_id(s[at + 1]) if right_word else None
        examples.append((g2p.vocab.char_id(s[at]), syllable, left, right))
    return ReadingMemory.build(examples, min_count)


@torch.no_grad()
def accuracy(head: PolyphoneHead, data) -> float:
    X, S, R, Y = data
    return float((head.eval()(X, S, R).argmax(-1) == Y).float().mean()) if len(Y) else 0.0


def refresh_memory(model_dir: str | None, config: PolyphoneTrainConfig, head_path: str, log=print) -> dict:
    """Build the reading memory of ``config``'s labelled items (its fold's train part) and put it
    in the head file at ``head_path`` in place of the one it has, the head's weights untouched:
    seconds, where training the head again takes half an hour. The figures."""
    import pinhan
    from pinhan.infer.config import InferenceConfig
    from pinhan.model.polyphone import rewrite_memory

    if not Path(head_path).is_file():
        raise DataError(f"{head_path}: no polyphone head to give a memory (train one: pinhan polyphone --model DIR)")
    g2p = pinhan.load(model_dir, config=InferenceConfig(g2p_head=False)).g2p_engine
    report, train_items, _ = labelled_fold(config, HeldoutRule(config.heldout))
    memory = reading_memory(g2p, train_items, config.memory_min_count)
    report.update(memory_items=len(train_items), memory_min_count=config.memory_min_count,
                  memory_entries=len(memory) if memory is not None else 0)
    rewrite_memory(head_path, memory, report)
    log(f"{report['memory_entries']} memory entries from {len(train_items)} labelled items; wrote {head_path}")
    return report


def train_polyphone(model_dir: str | None, config: PolyphoneTrainConfig, out: str | None, log=print) -> dict:
    """Collect the examples, train the head, write it to ``out`` (None: measure only); the figures."""
    import pinhan
    from pinhan.infer.config import InferenceConfig

    t0 = time.perf_counter()
    if config.teacher is not None:  # an unfetched source fails now, not after minutes of labelling
        from pinhan.data.corpora.fetch import source_root

        for name in config.corpus_sources:
            source_root(name, config.sources_cache)
    g2p = pinhan.load(model_dir, config=InferenceConfig(g2p_head=False)).g2p_engine
    if config.encoder_layers > g2p.runner.n_encoder_layers:
        raise ConfigError(f"encoder_layers is {config.encoder_layers}; the model has {g2p.runner.n_encoder_layers} encoder layers")
    rule = HeldoutRule(config.heldout)
    counts, train_items, dev_items = labelled_fold(config, rule)
    report: dict = {"config": asdict(config), **counts, "train_items": len(train_items), "dev_items": len(dev_items)}
    teacher = teacher_labels(config.teacher)
    per_char: Counter = Counter()
    train = collect(g2p, [it["sentence"] for it in train_items], [(it["index"], it["pinyin"]) for it in train_items],
                    teacher, config, per_char)
    dev = collect(g2p, [it["sentence"] for it in dev_items], [(it["index"], it["pinyin"]) for it in dev_items], None, config, per_char)
    if teacher is not None and config.corpus_sentences:
        found = corpus_sentences(config.corpus_sentences, config.seed)
        texts = [s for s in found if not rule.hits(s)]
        report.update(corpus_sentences=len(found), corpus_dropped_heldout=len(found) - len(texts))
        train.extend(collect(g2p, texts, [None] * len(texts), teacher, config, per_char))
    if teacher is not None and config.corpus_sources:
        # what the head will be asked: polyphones not settled by frequency alone
        wanted = lambda ch: len(g2p.readings(ch)) > 1 and g2p.vocab.char_id(ch) not in g2p.settled  # noqa: E731
        have = Counter(per_char)
        mined, report["corpus_sources"] = mine_sentences(config.corpus_sources, config.sources_cache, rule, wanted,
                                                         have, config.teacher_cap, config.seed)
        log(f"{len(mined)} sentences of {', '.join(config.corpus_sources)} hold polyphones short of the cap")
        train.extend(collect(g2p, mined, [None] * len(mined), teacher, config, per_char))
    log(f"{len(train.chars)} training examples ({sum(w == 1 for w in train.weights)} gold), {len(dev.chars)} dev-fold "
        f"examples, {time.perf_counter() - t0:.0f} s")
    if not train.chars:
        raise DataError("no training examples: the labelled items hold no polyphonic character of this model")
    head, figures = fit(train, dev, g2p, config, log)
    memory = reading_memory(g2p, train_items, config.memory_min_count)
    report.update(figures, memory_entries=len(memory) if memory is not None else 0, seconds=round(time.perf_counter() - t0, 1))
    if out is not None:
        head.save(out, recipe={k: v for k, v in report.items() if k != "epochs"}, memory=memory)
        log(f"wrote {out}")
    return report


def _reads_otherwise(g2p, word: str, at: int, reading: str) -> bool:
    """Whether a phrase dictionary (pypinyin's or CC-CEDICT's) reads ``word``'s character ``at``
    as something other than ``reading``."""
    for phrases in (g2p.bundle.phrases, g2p.bundle.second_phrases):
        readings = phrases.readings(word)
        if readings is not None and readings[at] is not None and readings[at] != reading:
            return True
    return False
