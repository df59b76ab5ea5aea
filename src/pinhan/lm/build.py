"""Build a model directory's character n-gram from a prepared data directory and choose its
fusion weight on that directory's dev clauses (never on a benchmark set)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

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


def dev_items(data_dir: Path, limit: int, seed: int = 0) -> list[dict]:
    """``limit`` dev clauses drawn with a fixed seed (same items for every weight tried)."""
    path = data_dir / "dev.jsonl"
    if not path.is_file():
        raise DataError(f"{data_dir} has no dev.jsonl: prepare it with pinhan prepare")
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not items:
        raise DataError(f"{path} holds no dev clauses to choose a fusion weight on")
    pick = np.random.default_rng(seed).permutation(len(items))[:limit]
    return [items[i] for i in sorted(pick)]


def choose_weight(convert_top1, items: Sequence[dict], weights: Sequence[float]) -> tuple[float, list[dict]]:
    """Score every weight on ``items`` (toneless unsegmented pinyin with context); the best
    character accuracy wins (the smaller weight on ties). ``convert_top1(inputs, weight)`` -> texts."""
    from pinhan.eval.metrics import char_accuracy, sentence_accuracy

    inputs = [("".join(s.rstrip("12345") for s in it["pinyin"]), it.get("context", "")) for it in items]
    golds = [it["hanzi"] for it in items]
    table = []
    for weight in weights:
        preds = convert_top1(inputs, weight)
        table.append({"weight": weight, "char": char_accuracy(preds, golds), "sentence": sentence_accuracy(preds, golds)})
    best = max(table, key=lambda row: (row["char"], -row["weight"]))
    return best["weight"], table


def continuation_cases(items: Sequence[dict], context_chars: int = 40) -> list[tuple[str, str]]:
    """(prefix, gold continuation) pairs from dev clauses: the context's tail and the clause's
    first half, then the clause's second half (mid-clause, where the next character is a word's)."""
    cases = []
    for it in items:
        half = len(it["hanzi"]) // 2
        cases.append((it.get("context", "")[-context_chars:] + it["hanzi"][:half], it["hanzi"][half:]))
    return cases


def choose_gen_weight(generate_first, cases: Sequence[tuple[str, str]], weights: Sequence[float]) -> tuple[float, list[dict]]:
    """Greedy continuation with each weight: the share of prefixes whose first generated character
    is the gold one wins (the smaller weight on ties). ``generate_first(prefixes, weight)`` -> texts."""
    table = []
    for weight in weights:
        texts = generate_first([p for p, _ in cases], weight)
        hits = sum(t[:1] == gold[:1] for t, (_, gold) in zip(texts, cases))
        table.append({"weight": weight, "next_char": hits / max(len(cases), 1)})
    best = max(table, key=lambda row: (row["next_char"], -row["weight"]))
    return best["weight"], table
