"""Metric definitions every report uses (see shared/DESIGN.md, "Evaluation").

- char accuracy = 1 - sum Levenshtein(pred, gold) / sum len(gold) over a set;
- sentence accuracy = share of exact matches.
"""

from __future__ import annotations

from typing import Sequence

from rapidfuzz.distance import Levenshtein


def char_accuracy(preds: Sequence[str], golds: Sequence[str]) -> float:
    """1 - total edit distance / total gold length (can be negative for wild predictions)."""
    if len(preds) != len(golds):
        raise ValueError(f"{len(preds)} predictions for {len(golds)} references")
    total = sum(len(g) for g in golds)
    if total == 0:
        return 0.0
    return 1.0 - sum(Levenshtein.distance(p, g) for p, g in zip(preds, golds)) / total


def sentence_accuracy(preds: Sequence[str], golds: Sequence[str]) -> float:
    if len(preds) != len(golds):
        raise ValueError(f"{len(preds)} predictions for {len(golds)} references")
    return sum(p == g for p, g in zip(preds, golds)) / len(golds) if golds else 0.0
