"""Metric definitions every report uses (see shared/DESIGN.md, "Evaluation").

p2h (hanzi output, strings):

- ``char_accuracy`` = 1 - sum Levenshtein(pred, gold) / sum len(gold) over a set;
- ``sentence_accuracy`` = share of exact matches;
- ``topk_accuracy`` = share of items whose gold is among the first k candidates;
- ``bleu`` = sacrebleu corpus BLEU with ``tokenize="zh"`` (0..100);
- ``rouge_n`` / ``rouge_l`` on characters, F1, **macro-averaged**: the mean over items of each
  item's F1 (not F1 of pooled counts), in 0..1;
- ``by_length`` = char / sentence accuracy per gold-length bucket.

h2p (syllable output, one syllable per hanzi):

- ``syllable_accuracy`` = correct syllables / gold syllables, position by position, with or
  without the tone;
- ``clause_exact_match`` = share of items whose every syllable is right.

Every function taking two parallel lists raises ``ValueError`` when their lengths differ.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

from rapidfuzz.distance import Levenshtein

DEFAULT_BUCKETS: tuple[tuple[int, int], ...] = ((4, 7), (8, 15), (16, 32))


def _check_parallel(preds: Sequence, golds: Sequence, what: str = "predictions") -> None:
    if len(preds) != len(golds):
        raise ValueError(f"{len(preds)} {what} for {len(golds)} references")


def char_accuracy(preds: Sequence[str], golds: Sequence[str]) -> float:
    """1 - total edit distance / total gold length (can be negative for wild predictions)."""
    _check_parallel(preds, golds)
    total = sum(len(g) for g in golds)
    if total == 0:
        return 0.0
    return 1.0 - sum(Levenshtein.distance(p, g) for p, g in zip(preds, golds)) / total


def sentence_accuracy(preds: Sequence[str], golds: Sequence[str]) -> float:
    _check_parallel(preds, golds)
    return sum(p == g for p, g in zip(preds, golds)) / len(golds) if golds else 0.0


def topk_accuracy(candidate_lists: Sequence[Sequence[str]], golds: Sequence[str], k: int) -> float:
    """Share of items whose gold equals one of its first ``k`` whole-input candidates."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    _check_parallel(candidate_lists, golds, "candidate lists")
    if not golds:
        return 0.0
    return sum(g in list(c)[:k] for c, g in zip(candidate_lists, golds)) / len(golds)


def bleu(preds: Sequence[str], golds: Sequence[str]) -> float:
    """Corpus BLEU (sacrebleu, ``tokenize="zh"``: each CJK character is a token), 0..100."""
    _check_parallel(preds, golds)
    if not golds:
        return 0.0
    from sacrebleu.metrics import BLEU  # optional dependency, imported on use

    return float(BLEU(tokenize="zh").corpus_score(list(preds), [list(golds)]).score)


# --- ROUGE on characters -------------------------------------------------------------------

def _chars(text: str) -> list[str]:
    """ROUGE tokens: every non-whitespace character."""
    return [ch for ch in text if not ch.isspace()]


def _f1(overlap: int, n_pred: int, n_gold: int) -> float:
    # rouge-score's convention: an item with no n-grams on either side scores 0.
    if overlap == 0 or n_pred == 0 or n_gold == 0:
        return 0.0
    p, r = overlap / n_pred, overlap / n_gold
    return 2 * p * r / (p + r)


def _ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def rouge_n_item(pred: str, gold: str, n: int) -> float:
    """ROUGE-n F1 of one item on characters (clipped n-gram overlap)."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    p, g = _ngrams(_chars(pred), n), _ngrams(_chars(gold), n)
    return _f1(sum((p & g).values()), sum(p.values()), sum(g.values()))


def _lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    if len(a) < len(b):
        a, b = b, a
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l_item(pred: str, gold: str) -> float:
    """ROUGE-L F1 (beta = 1) of one item on characters, from the longest common subsequence."""
    p, g = _chars(pred), _chars(gold)
    return _f1(_lcs_length(p, g), len(p), len(g))


def rouge_n(preds: Sequence[str], golds: Sequence[str], n: int) -> float:
    """ROUGE-n F1 on characters, averaged over items (macro), 0..1."""
    _check_parallel(preds, golds)
    return sum(rouge_n_item(p, g, n) for p, g in zip(preds, golds)) / len(golds) if golds else 0.0


def rouge_l(preds: Sequence[str], golds: Sequence[str]) -> float:
    """ROUGE-L F1 on characters, averaged over items (macro), 0..1."""
    _check_parallel(preds, golds)
    return sum(rouge_l_item(p, g) for p, g in zip(preds, golds)) / len(golds) if golds else 0.0


# --- h2p -----------------------------------------------------------------------------------

def normalize_syllable_label(syllable: str, tones: bool = True) -> str:
    """Comparable form of a tone-number syllable: lower case, ``ü``/``u:`` -> ``v``; without
    ``tones`` the trailing tone digit is dropped. Labels are expected in TONE3 with neutral 5."""
    s = syllable.strip().lower().replace("u:", "v").replace("ü", "v")
    return s.rstrip("012345") if not tones else s


def _syllable_pairs(pred_lists: Sequence[Sequence[str]], gold_lists: Sequence[Sequence[str]]) -> Iterable[tuple[int, Sequence[str], Sequence[str]]]:
    _check_parallel(pred_lists, gold_lists, "prediction lists")
    for i, (p, g) in enumerate(zip(pred_lists, gold_lists)):
        if len(p) != len(g):
            raise ValueError(f"item {i}: {len(p)} predicted syllables for {len(g)} gold syllables (h2p output must be aligned, one syllable per position)")
        yield i, p, g


def syllable_accuracy(pred_syllable_lists: Sequence[Sequence[str]], gold_syllable_lists: Sequence[Sequence[str]], tones: bool = True) -> float:
    """Correct syllables / gold syllables over a set, compared position by position (see
    ``normalize_syllable_label``). Each item's two lists must have the same length."""
    correct = total = 0
    for _, p, g in _syllable_pairs(pred_syllable_lists, gold_syllable_lists):
        total += len(g)
        correct += sum(normalize_syllable_label(a, tones) == normalize_syllable_label(b, tones) for a, b in zip(p, g))
    return correct / total if total else 0.0


def clause_exact_match(pred_syllable_lists: Sequence[Sequence[str]], gold_syllable_lists: Sequence[Sequence[str]], tones: bool = True) -> float:
    """Share of items whose syllables are all right."""
    hits = n = 0
    for _, p, g in _syllable_pairs(pred_syllable_lists, gold_syllable_lists):
        n += 1
        hits += all(normalize_syllable_label(a, tones) == normalize_syllable_label(b, tones) for a, b in zip(p, g))
    return hits / n if n else 0.0


# --- breakdowns ----------------------------------------------------------------------------

def by_length(preds: Sequence[str], golds: Sequence[str], buckets: Sequence[tuple[int, int]] = DEFAULT_BUCKETS) -> dict[str, dict[str, float]]:
    """Char and sentence accuracy per bucket of gold length (inclusive bounds).

    Returns ``{"4-7": {"n": items, "char_accuracy": ..., "sentence_accuracy": ...}, ...}`` in
    bucket order; an empty bucket has ``n`` 0 and accuracies 0.0; items in no bucket are left out
    (an item in overlapping buckets counts in each).
    """
    _check_parallel(preds, golds)
    result: dict[str, dict[str, float]] = {}
    for lo, hi in buckets:
        if lo > hi:
            raise ValueError(f"bucket ({lo}, {hi}): lower bound above upper bound")
        picked = [(p, g) for p, g in zip(preds, golds) if lo <= len(g) <= hi]
        ps, gs = [p for p, _ in picked], [g for _, g in picked]
        result[f"{lo}-{hi}"] = {"n": len(picked), "char_accuracy": char_accuracy(ps, gs), "sentence_accuracy": sentence_accuracy(ps, gs)}
    return result
