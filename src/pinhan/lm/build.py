"""Build a model directory's character n-gram from a prepared data directory, and draw the dev
clauses its fusion weights are chosen on (never a benchmark set; the choosing is
:mod:`pinhan.eval.tuning`'s)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from pinhan.data.model_dir import ModelDir
from pinhan.data.shards import ShardedSplit
from pinhan.data.vocab import Vocab
from pinhan.errors import DataError
from pinhan.lm.ngram import CharNgram


def train_ids(data_dir: Path, vocab: Vocab) -> Iterator[np.ndarray]:
    """The train split's lines as ids of ``vocab`` (the model's, which may extend the data's)."""
    data_vocab = Vocab.load(data_dir / "vocab.json")
    to_model = np.array([vocab.char_id(ch) for ch in data_vocab.chars], dtype=np.int64)
    split = ShardedSplit(data_dir / "shards", "train")
    for i in range(len(split)):
        yield to_model[split.doc(i)[0]]


def build_ngram(data_dir: Path, vocab: Vocab, order: int, min_count: int | Sequence[int]) -> CharNgram:
    """Count the train split of ``data_dir`` (as ids of the model's ``vocab``) into a pruned
    ``order``-gram (see :meth:`CharNgram.build` for ``min_count``)."""
    return CharNgram.build(train_ids(data_dir, vocab), len(vocab.chars), order, min_count)


def save_ngram(lm: CharNgram, model_dir: Path, weights: dict[str, float], data_dir: Path, tables: dict) -> Path:
    """Write ``lm`` into ``model_dir`` with the fusion weights chosen for it (``accurate``,
    ``fast``, ``gen``), which ``pinhan.load`` then uses, and the dev tables they were chosen on."""
    lm.info.update({"fusion_weight": weights["accurate"], "fast_fusion_weight": weights["fast"],
                    "gen_fusion_weight": weights["gen"], "data": str(data_dir), "dev_tables": tables})
    path = ModelDir(model_dir).ngram
    lm.save(path)
    return path


def dev_items(data_dir: Path, limit: int, seed: int = 0) -> list[dict]:
    """``limit`` dev clauses of the data directory's ``dev.jsonl`` (see :func:`draw`)."""
    path = data_dir / "dev.jsonl"
    if not path.is_file():
        raise DataError(f"{data_dir} has no dev.jsonl: prepare it with pinhan prepare")
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not items:
        raise DataError(f"{path} holds no dev clauses to choose a fusion weight on")
    return draw(items, limit, seed)


def draw(items: Sequence[dict], limit: int, seed: int = 0) -> list[dict]:
    """``limit`` of ``items`` drawn with a fixed seed (same items for every weight tried), in
    their order."""
    pick = np.random.default_rng(seed).permutation(len(items))[:limit]
    return [items[i] for i in sorted(pick)]


def continuation_cases(items: Sequence[dict], context_chars: int = 40) -> list[tuple[str, str]]:
    """(prefix, gold continuation) pairs from dev clauses: the context's tail and the clause's
    first half, then the clause's second half (mid-clause, where the next character is a word's)."""
    cases = []
    for it in items:
        half = len(it["hanzi"]) // 2
        cases.append((it.get("context", "")[-context_chars:] + it["hanzi"][:half], it["hanzi"][half:]))
    return cases
