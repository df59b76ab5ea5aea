"""Train the homophone chooser (:mod:`pinhan.lm.homophones`) on a prepared data directory's train split.

Run: ``pinhan lm --model DIR --data DIR --kind homophones [key=value ...]``

Every hanzi of every train line whose toneless syllable (the corpus's annotation) is written with
more than one common hanzi is an example: its features read the line around it (the context
before it, the clause after it up to the next non-hanzi), its label is which hanzi of the set it
is. A set holds the ``max_set`` hanzi written most often for the syllable, each seen at least
``min_count`` times; rarer hanzi are not examples and count the model's ``floor`` at inference.
Sparse Adam over shuffled examples, then the feature table is stored as int8 rows with a float
scale each.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pinhan.data.shards import ShardedSplit
from pinhan.errors import ConfigError, DataError
from pinhan.lm.homophones import HomophoneFeatures, HomophoneModel, features, is_hanzi, line_layout


@dataclass
class HomophoneTrainConfig:
    """How the homophone chooser is trained.

    Args:
        buckets: rows of the hashed feature table; dim: their width. On reviews / People's Daily /
            news / manual pages dev clauses (RESULTS.md, "A homophone chooser"): 2**18 x 16 is what
            the model directory has room for.
        window, far: the feature layout (:class:`~pinhan.lm.homophones.HomophoneFeatures`).
        min_count: a hanzi joins its syllable's set when the train split writes it so this often.
        max_set: the most hanzi a set holds (most frequent first).
        max_examples: examples drawn (without repeats, ``seed``) from all there are; 0: all.
        epochs: passes over them (a fraction is part of a pass).
        lr, batch_size: sparse Adam's step size and batch.
        seed: the draw, the order and the initial weights.
        threads: torch threads.
    """

    buckets: int = 225_000
    dim: int = 32
    window: int = 8
    far: int = 16
    min_count: int = 3
    max_set: int = 24
    max_examples: int = 9_000_000
    epochs: float = 1.5
    lr: float = 0.01
    batch_size: int = 512
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        for name in ("dim", "min_count", "batch_size", "threads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"homophones.{name} must be at least 1, got {getattr(self, name)}")
        if self.max_set < 2:
            raise ConfigError(f"homophones.max_set must be at least 2, got {self.max_set}")
        if self.max_examples < 0 or self.epochs <= 0 or self.lr <= 0:
            raise ConfigError("homophones: max_examples >= 0, epochs > 0 and lr > 0 are required")
        if not 2 <= self.buckets <= 1 << 24:
            raise ConfigError(f"homophones.buckets must be 2 .. 2**24, got {self.buckets}")
        self.layout()  # checks window and far

    def layout(self) -> HomophoneFeatures:
        try:
            return HomophoneFeatures(self.buckets, self.window, self.far)
        except DataError as exc:
            raise ConfigError(str(exc)) from None


@dataclass
class Corpus:
    """A split's lines concatenated: codepoints (0 between lines) and each position's toneless syllable id."""

    codepoints: np.ndarray  # (T,) int64
    syllables: np.ndarray  # (T,) int64, 0 where none
    names: list[str]  # toneless syllable of each id (index 0: none)


def read_corpus(data_dir: Path, split: str = "train") -> Corpus:
    """The split's lines as one array, read straight from the shards."""
    try:
        vocab = json.loads((data_dir / "vocab.json").read_text(encoding="utf-8"))
        chars, syllables = vocab["chars"], vocab["syllables"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{data_dir}/vocab.json: cannot read the vocabulary ({exc})") from None
    codepoint_of = np.array([ord(c) if isinstance(c, str) and len(c) == 1 else 0 for c in chars], dtype=np.int64)
    names, toneless = [""], np.zeros(len(syllables), dtype=np.int64)
    index: dict[str, int] = {}
    for i, s in enumerate(syllables):
        if isinstance(s, str) and s[:1].isalpha() and s[-1:].isdigit():
            base = s.rstrip("012345")
            if base not in index:
                index[base] = len(names)
                names.append(base)
            toneless[i] = index[base]
    shards = ShardedSplit(data_dir / "shards", split)
    cps, sylls = [], []
    gap = np.zeros(1, dtype=np.int64)
    for i in range(len(shards)):
        char_ids, syllable_ids = shards.doc(i)
        cps += [codepoint_of[char_ids], gap]
        sylls += [toneless[syllable_ids], gap]
    if not cps:
        raise DataError(f"{data_dir}: the {split} split has no lines")
    return Corpus(np.concatenate(cps), np.concatenate(sylls), names)


_CODEPOINT_BITS = 21  # every Unicode codepoint fits


def _pair_key(syllable, codepoint):
    """One integer for a (syllable id, codepoint) pair (ints or int64 arrays alike)."""
    return syllable * (1 << _CODEPOINT_BITS) + codepoint


def homophone_sets(corpus: Corpus, config: HomophoneTrainConfig) -> dict[int, list[int]]:
    """Syllable id -> the codepoints of its set, most frequent first (syllables with one hanzi left out)."""
    hanzi = is_hanzi(corpus.codepoints) & (corpus.syllables > 0)
    unique, counts = np.unique(_pair_key(corpus.syllables[hanzi], corpus.codepoints[hanzi]), return_counts=True)
    by_syllable: dict[int, list[tuple[int, int]]] = {}
    for key, count in zip(unique.tolist(), counts.tolist()):
        if count >= config.min_count:
            by_syllable.setdefault(key >> _CODEPOINT_BITS, []).append((count, key & ((1 << _CODEPOINT_BITS) - 1)))
    sets = {}
    for syllable, members in by_syllable.items():
        members.sort(key=lambda m: (-m[0], m[1]))
        if len(members) >= 2:
            sets[syllable] = [c for _, c in members[: config.max_set]]
    return sets


class _Trainer(nn.Module):
    """The chooser as torch parameters: a sparse feature table and one output row per pair."""

    def __init__(self, buckets: int, dim: int, pairs: int) -> None:
        super().__init__()
        self.embeddings = nn.Embedding(buckets, dim, padding_idx=0, sparse=True)
        self.output = nn.Embedding(pairs, dim + 1, sparse=True)
        nn.init.normal_(self.embeddings.weight, std=0.02)
        with torch.no_grad():
            self.embeddings.weight[0].zero_()
        nn.init.zeros_(self.output.weight)

    def forward(self, feats: torch.Tensor, members: torch.Tensor) -> torch.Tensor:
        """(B, F) feature rows, (B, K) pair rows (-1 padded) -> (B, K) scores."""
        present = (feats > 0).sum(1, keepdim=True).clamp(min=1)  # (B, 1)
        hidden = self.embeddings(feats).sum(1) / present  # (B, d); row 0 is zeros
        hidden = torch.cat([hidden, torch.ones_like(hidden[:, :1])], 1)  # (B, d + 1)
        scores = torch.einsum("bd,bkd->bk", hidden, self.output(members.clamp(min=0)))
        return scores.masked_fill(members < 0, float("-inf"))


def train_homophones(data_dir: str | Path, config: HomophoneTrainConfig | None = None,
                     say: Callable[[str], None] = print) -> tuple[HomophoneModel, dict]:
    """Train on ``data_dir``'s train split; returns the model (weight 0 until one is chosen) and a report."""
    config = config or HomophoneTrainConfig()
    data_dir = Path(data_dir)
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    corpus = read_corpus(data_dir)
    sets = homophone_sets(corpus, config)
    if not sets:
        raise DataError(f"{data_dir}: no syllable is written with two hanzi {config.min_count} times or more; nothing to train")
    order = sorted(sets)
    offsets = np.cumsum([0] + [len(sets[s]) for s in order])
    members = np.full((len(corpus.names), config.max_set), -1, dtype=np.int64)  # syllable id -> (K,) pair rows
    for s, start in zip(order, offsets):
        members[s, : len(sets[s])] = np.arange(start, start + len(sets[s]))
    # (syllable, hanzi) key -> the hanzi's place in its set, as sorted arrays for a vectorized lookup
    table = sorted((_pair_key(s, c), j) for s in order for j, c in enumerate(sets[s]))
    table_keys = np.array([key for key, _ in table], dtype=np.int64)
    table_labels = np.array([j for _, j in table], dtype=np.int64)
    positions = np.nonzero(members[corpus.syllables, 0] >= 0)[0]
    keys = _pair_key(corpus.syllables[positions], corpus.codepoints[positions])
    at = np.minimum(np.searchsorted(table_keys, keys), len(table_keys) - 1)
    known = table_keys[at] == keys
    positions, labels = positions[known], table_labels[at[known]]
    rng = np.random.default_rng(config.seed)
    draw = rng.permutation(len(positions))
    if config.max_examples:
        draw = draw[: config.max_examples]
    positions, labels = positions[draw], labels[draw]
    layout = config.layout()
    line_start, run_end = line_layout(corpus.codepoints)
    feats = torch.from_numpy(features(corpus.codepoints, line_start, run_end, positions, layout))
    rows = torch.from_numpy(members[corpus.syllables[positions]])
    targets = torch.from_numpy(labels)
    say(f"homophones: {len(positions):,} examples from {data_dir}/train ({int(known.sum()):,} there), "
        f"{len(order):,} syllables, {int(offsets[-1]):,} hanzi in their sets; features {time.perf_counter() - started:.0f} s")
    model = _Trainer(layout.buckets, config.dim, int(offsets[-1]))
    optimizer = torch.optim.SparseAdam(list(model.parameters()), lr=config.lr)
    steps = max(1, int(config.epochs * len(positions) / config.batch_size))
    total_loss, seen, right = 0.0, 0, 0
    for step in range(steps):
        at = (step * config.batch_size) % len(positions)
        batch = slice(at, at + config.batch_size)
        scores = model(feats[batch], rows[batch])
        loss = nn.functional.cross_entropy(scores, targets[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(scores)
        seen += len(scores)
        right += int((scores.argmax(1) == targets[batch]).sum())
        if (step + 1) % 5000 == 0 or step + 1 == steps:
            say(f"  step {step + 1:,} / {steps:,}: loss {total_loss / seen:.3f}, accuracy {100 * right / seen:.1f} % "
                f"({time.perf_counter() - started:.0f} s)")
            total_loss, seen, right = 0.0, 0, 0
    weights = model.embeddings.weight.detach().numpy()
    scales = np.maximum(np.abs(weights).max(axis=1), 1e-8) / 127.0  # (buckets,)
    quantized = np.clip(np.round(weights / scales[:, None]), -127, 127).astype(np.int8)
    report = {"examples": len(positions), "examples_available": int(known.sum()), "syllables": len(order),
              "pairs": int(offsets[-1]), "steps": steps, "seconds": round(time.perf_counter() - started, 1),
              "data": str(data_dir), "recipe": asdict(config)}
    set_chars = np.concatenate([np.array(sets[s], dtype=np.int64) for s in order])
    homophones = HomophoneModel(layout, quantized, scales.astype(np.float16), model.output.weight.detach().numpy(),
                                [corpus.names[s] for s in order], offsets, set_chars,
                                {"weight": 0.0, "floor": -7.0, "train": report})
    return homophones, report


def build_homophones(model_dir: Path, data_dir: Path, config: HomophoneTrainConfig, *, weights: list[float], n_dev: int,
                     threads: int | None, say: Callable[[str], None], dev: Path | None = None) -> Path:
    """What ``pinhan lm --kind homophones`` does: train the chooser on ``data_dir``'s train split,
    write it into ``model_dir`` with weight 0, then choose its weight in accurate conversion on
    dev clauses (``dev``, or the data directory's ``dev.jsonl``; never a benchmark set) and store it."""
    from pinhan.data.model_dir import ModelDir
    from pinhan.eval.lm_setup import dev_clauses
    from pinhan.eval.tuning import HOMOPHONE_SETTINGS, format_table, tune_conversion
    from pinhan.loader import load

    directory = ModelDir(model_dir)
    directory.check()
    if not directory.has_words():
        raise DataError(f"{model_dir} has no word model; the homophone chooser rescores its lattice "
                        "(build it first: pinhan lm --kind words)")
    model, report = train_homophones(data_dir, config, say)
    path = model.save(directory.homophones)
    if len(weights) > 1:
        items = dev_clauses(data_dir, n_dev, dev)
        loaded = load(model_dir, threads=threads)
        for mode, weight, table in tune_conversion(loaded, HOMOPHONE_SETTINGS, items, weights):
            say("\n" + format_table(mode, table, f"{len(items)} clauses of {dev or data_dir / 'dev.jsonl'}", "homophone weight"))
            model.info.update({"weight": weight, "dev_table": table})
    else:
        model.info["weight"] = weights[0]
    model.save(path)
    say(f"\nwrote {path} ({path.stat().st_size / 1e6:.1f} MB; weight {model.weight:g})")
    return path
