"""Character n-gram language model with interpolated Kneser-Ney smoothing.

Built from the train split of a prepared data directory; used for shallow fusion: during
decoding, a candidate hanzi's score is ``log p_model + weight * log p_ngram``. It brings the
classical model's strength — exact memory of frequent character sequences — to a small neural
model that has seen the corpus only once or twice.

Lower orders use continuation counts (how many distinct characters precede an n-gram), the
Kneser-Ney idea that a character seen after many contexts is a better guess for a new one.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Iterable

DISCOUNT = 0.75


class CharNgram:
    """``logprob(history, char)`` for an order-``order`` interpolated Kneser-Ney model."""

    def __init__(self, order: int = 4) -> None:
        if order < 1:
            raise ValueError("order must be at least 1")
        self.order = order
        # counts[k][gram] for grams of length k+1: raw counts at the top order, continuation
        # counts below it. totals[k][ctx] = sum over c of counts[k][ctx + c]; types[k][ctx] = how
        # many distinct c follow ctx.
        self.counts: list[Counter] = [Counter() for _ in range(order)]
        self.totals: list[Counter] = [Counter() for _ in range(order)]
        self.types: list[Counter] = [Counter() for _ in range(order)]
        self.vocab_size = 1

    @classmethod
    def build(cls, lines: Iterable[str], order: int = 4) -> "CharNgram":
        lm = cls(order)
        top = lm.counts[order - 1]
        for line in lines:
            padded = "\x02" * (order - 1) + line  # \x02 = start of line
            for i in range(order - 1, len(padded)):
                top[padded[i - order + 1 : i + 1]] += 1
        # continuation counts: each distinct (k+1)-gram "x + g" adds one to g
        for k in range(order - 2, -1, -1):
            lower = lm.counts[k]
            for gram in lm.counts[k + 1]:
                lower[gram[1:]] += 1
        for k in range(order):
            for gram, n in lm.counts[k].items():
                lm.totals[k][gram[:-1]] += n
                lm.types[k][gram[:-1]] += 1
        lm.vocab_size = max(len(lm.counts[0]), 1)
        return lm

    def logprob(self, history: str, char: str) -> float:
        """Natural log of p(char | last order-1 characters of history)."""
        history = ("\x02" * (self.order - 1) + history)[-(self.order - 1):] if self.order > 1 else ""
        p = 1.0 / self.vocab_size  # uniform floor below the unigram
        for k in range(self.order):  # from unigram (k=0) up to the full order
            ctx = history[len(history) - k:] if k else ""
            total = self.totals[k].get(ctx, 0)
            if total == 0:
                continue
            count = self.counts[k].get(ctx + char, 0)
            p = max(count - DISCOUNT, 0.0) / total + DISCOUNT * self.types[k][ctx] / total * p
        return math.log(p)
