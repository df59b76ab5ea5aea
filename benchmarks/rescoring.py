"""Experiment: does the autoregressive decoder add anything to fast mode's n-gram search?

Fast mode (the encoder head searched with the 4-gram, 16 beams) gives an N-best list of
whole-input candidates; each is then scored by the decoder, teacher-forced (summed full-softmax
log-probabilities, :meth:`Pinhan.rescore`), plus ``W`` times its 4-gram log-probability, and the
best wins. Top-1 on 300 dev clauses (``data/bundled/dev.jsonl``, seed 0), toneless unsegmented
input with context. Only the public model API is used.

Run: ``.venv/bin/python benchmarks/rescoring.py MODEL_DIR [W]`` (MODEL_DIR must hold lm.safetensors).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pinhan
from pinhan.errors import InputError
from pinhan.eval.metrics import char_accuracy, sentence_accuracy
from pinhan.lm.build import dev_items

N_BEST = 16


def rescored_top1(model, pinyin: str, context: str, weight: float) -> str:
    nbest = [c.text for c in model.convert(pinyin, context=context, k=N_BEST, mode="fast", abbreviations=False,
                                           prefixes=False)]
    if len(nbest) < 2 or any(len(text) != len(nbest[0]) for text in nbest):
        return nbest[0] if nbest else ""  # pass-through text or nothing to choose between: keep fast mode's best
    scored = model.rescore(pinyin, nbest, context=context)
    return max(scored, key=lambda s: s.model + weight * s.ngram).text  # max keeps the first on ties


def main(argv: list[str]) -> None:
    model = pinhan.load(argv[0], threads=1)
    weight = float(argv[1]) if len(argv) > 1 else 1.5
    items = dev_items(Path("data/bundled"), 300)
    inputs = [("".join(s.rstrip("12345") for s in it["pinyin"]), it.get("context", "")) for it in items]
    golds = [it["hanzi"] for it in items]
    started = time.perf_counter()
    base = [c[0].text if c else "" for c in model.convert_batch(inputs, k=1, mode="fast", abbreviations=False, prefixes=False)]
    middle = time.perf_counter()
    rescored = []
    for pinyin, context in inputs:
        try:
            rescored.append(rescored_top1(model, pinyin, context, weight))
        except InputError:  # a reading the decoder cannot be teacher-forced on
            rescored.append(model.convert(pinyin, context=context, k=1, mode="fast", prefixes=False)[0].text)
    ended = time.perf_counter()
    ms = lambda seconds: round(seconds / len(items) * 1e3, 1)  # noqa: E731
    print("fast+lm", round(100 * char_accuracy(base, golds), 1), round(100 * sentence_accuracy(base, golds), 1),
          ms(middle - started), "ms/item, batched")
    print("rescored W", weight, round(100 * char_accuracy(rescored, golds), 1),
          round(100 * sentence_accuracy(rescored, golds), 1), ms(ended - middle), "ms/item")


if __name__ == "__main__":
    main(sys.argv[1:])
