"""Evaluation runs: one model, one set, one task -> the figures DESIGN.md defines, plus what a
report needs (per-item predictions, latency).

Every item is run alone (batch 1), as an input method would send it, so the run's latency is the
per-request latency; figures follow ``pinhan.eval.metrics``.

- p2h: the item's pinyin without tones, typed without separators (``--segmented``: with
  apostrophes; ``--abbreviate``: initials only, ``zgwh``), with its context unless ``no_context``;
  k = 10 whole-input candidates (no prefix candidates) give top-1/5/10.
- h2p: the item's hanzi (after its context) -> one syllable per hanzi, compared with tones,
  without, and whole clauses.
- cpp: g2p of the sentence, scored at the labelled character only.
- gen: the item's hanzi as a continuation of its context: per-character perplexity and the rank of
  each gold character under the model (teacher forcing), plus a few greedy samples.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from pinhan.errors import ConfigError, DataError, InputError
from pinhan.eval import metrics
from pinhan.eval.sets import BenchSet, check_task, default_task
from pinhan.pinyin import PinyinError

TASKS = ("p2h", "h2p", "cpp", "gen")


@dataclass
class EvalOptions:
    """How a set is evaluated.

    Args:
        task: ``p2h``, ``h2p``, ``cpp`` or ``gen``.
        mode: p2h decoding, ``accurate`` or ``fast``.
        abbreviate: p2h input as initials only (``zgwh``).
        segmented: p2h syllables joined with apostrophes (``zhong'guo``).
        use_context: give the model the item's context.
        context_chars: give only the context's last this many characters (None: all of it), as
            the benchmark sets cut theirs, so that a dev file with whole lines measures alike.
        k: whole-input candidates kept for top-k (p2h).
        samples: gen samples to show.
    """

    task: str = "p2h"
    mode: str = "accurate"
    abbreviate: bool = False
    segmented: bool = False
    use_context: bool = True
    context_chars: int | None = None
    k: int = 10
    samples: int = 5

    def __post_init__(self) -> None:
        if self.context_chars is not None and self.context_chars < 0:
            raise ConfigError(f"context_chars must be at least 0, got {self.context_chars}")

    def context(self, item: dict) -> str:
        """The context the model is given for ``item``."""
        context = item.get("context", "") if self.use_context else ""
        return context[max(0, len(context) - self.context_chars):] if self.context_chars is not None else context


@dataclass
class EvalResult:
    set: str
    task: str
    n: int
    figures: dict  # the metrics (also the JSON summary)
    rows: list[dict] = field(default_factory=list)  # per item: input, gold, pred (for reports)

    def summary(self) -> dict:
        return {"set": self.set, "task": self.task, "n": self.n, **self.figures}


def typed_input(syllables: list[str], abbreviate: bool = False, segmented: bool = False) -> str:
    """What a user types for toned syllables: toneless, unsegmented by default."""
    plain = [s.rstrip("12345") for s in syllables]
    if abbreviate:  # first letters, as users type initials-only input (zgwh for 中国文化)
        plain = [s[0] for s in plain]
    return ("'" if segmented else "").join(plain)


def evaluate(model, bench: BenchSet, options: EvalOptions) -> EvalResult:
    """Run ``options.task`` of ``model`` (a :class:`pinhan.infer.api.Pinhan`) on ``bench``."""
    if options.task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}")
    check_task(bench, options.task)
    run = {"p2h": _p2h, "h2p": _h2p, "cpp": _cpp, "gen": _gen}[options.task]
    figures, rows, latencies = run(model, bench, options)
    if latencies:
        figures["latency_ms"] = {"p50": float(np.median(latencies)), "p95": float(np.percentile(latencies, 95))}
    return EvalResult(bench.name, options.task, len(bench.items), figures, rows)


def evaluate_sets(model, sets: Sequence[BenchSet], *, task: str | None = None, **options) -> Iterator[EvalResult]:
    """:func:`evaluate` on each set in turn, yielded as it finishes (a long run shows its progress);
    without ``task`` a set gets its format's task (p2h for clauses, cpp for polyphones).
    ``options`` are the other :class:`EvalOptions` fields."""
    for bench in sets:
        yield evaluate(model, bench, EvalOptions(task=task or default_task(bench), **options))


def _timed(call, where: str):
    """``call()`` and its milliseconds; an item the model refuses (over a limit, unreadable pinyin)
    is an error naming the item's line, not a traceback from deep inside the run."""
    started = time.perf_counter()
    try:
        result = call()
    except (InputError, PinyinError) as exc:
        raise DataError(f"{where}: {exc}") from None
    return result, 1e3 * (time.perf_counter() - started)


def _p2h(model, bench, options):
    candidate_lists, latencies, rows = [], [], []
    for i, item in enumerate(bench.items):
        typed = typed_input(item["pinyin"], options.abbreviate, options.segmented)
        context = options.context(item)
        candidates, ms = _timed(lambda: model.convert(
            typed, context=context, k=options.k, mode=options.mode, abbreviations=options.abbreviate, prefixes=False), bench.where(i))
        texts = [c.text for c in candidates]
        candidate_lists.append(texts)
        latencies.append(ms)
        rows.append({"id": item.get("id"), "input": typed, "gold": item["hanzi"], "pred": texts[0] if texts else ""})
    preds, golds = [r["pred"] for r in rows], [r["gold"] for r in rows]
    figures = {
        "char_acc": metrics.char_accuracy(preds, golds),
        "sentence_acc": metrics.sentence_accuracy(preds, golds),
        **{f"top{k}_acc": metrics.topk_accuracy(candidate_lists, golds, k) for k in (1, 5, 10) if k <= options.k},
        "bleu": metrics.bleu(preds, golds),
        "rouge_1": metrics.rouge_n(preds, golds, 1),
        "rouge_2": metrics.rouge_n(preds, golds, 2),
        "rouge_l": metrics.rouge_l(preds, golds),
        "by_length": metrics.by_length(preds, golds),
    }
    return figures, rows, latencies


def _h2p(model, bench, options):
    preds, golds, rows, latencies = [], [], [], []
    for i, item in enumerate(bench.items):
        context = options.context(item)
        text = context + item["hanzi"]
        result, ms = _timed(lambda: model.g2p(text), bench.where(i))
        pinyin = list(result.pinyin[len(context):])  # aligned: one entry per character
        preds.append(pinyin)
        golds.append(item["pinyin"])
        latencies.append(ms)
        rows.append({"id": item.get("id"), "input": item["hanzi"], "gold": " ".join(item["pinyin"]), "pred": " ".join(pinyin)})
    figures = {
        "syllable_acc": metrics.syllable_accuracy(preds, golds, tones=True),
        "syllable_acc_toneless": metrics.syllable_accuracy(preds, golds, tones=False),
        "clause_exact": metrics.clause_exact_match(preds, golds, tones=True),
    }
    return figures, rows, latencies


def _cpp(model, bench, options):
    hits, rows, latencies = 0, [], []
    for i, item in enumerate(bench.items):
        result, ms = _timed(lambda: model.g2p(item["sentence"]), bench.where(i))
        pred = (result.readings or result.pinyin)[item["index"]]  # CPP labels the polyphone's reading, lexical tone
        gold = item["pinyin"]
        ok = metrics.normalize_syllable_label(pred) == metrics.normalize_syllable_label(gold)
        hits += ok
        latencies.append(ms)
        rows.append({"id": item.get("id"), "input": item["sentence"], "char": item["char"], "gold": gold, "pred": pred})
    return {"polyphone_acc": hits / len(bench.items)}, rows, latencies


def _gen(model, bench, options):
    total_logp, total_n, oov, top1, top5 = 0.0, 0, 0, 0, 0
    rows, latencies, places = [], [], []
    for i, item in enumerate(bench.items):
        context = options.context(item)
        prefix, target = (context, item["hanzi"]) if context else (item["hanzi"][:1], item["hanzi"][1:])
        if not target:
            continue
        scored, ms = _timed(lambda: model.score(prefix, target), bench.where(i))
        places.append(bench.where(i))
        latencies.append(ms)
        known = np.array(scored.known, dtype=bool)  # characters outside the vocabulary cannot be scored
        logp, rank = np.array(scored.logprobs), np.array(scored.ranks)
        oov += int((~known).sum())
        total_logp += float(logp[known].sum())
        total_n += int(known.sum())
        top1 += int((rank[known] == 0).sum())
        top5 += int((rank[known] < 5).sum())
        rows.append({"id": item.get("id"), "input": prefix, "gold": target})
    samples = []
    for row, where in zip(rows[: options.samples], places):
        cont, _ = _timed(lambda: model.generate(row["input"], max_new_tokens=min(16, max(1, len(row["gold"])))), where)
        samples.append({"prefix": row["input"], "gold": row["gold"], "sample": cont[0].text if cont else ""})
        row["pred"] = samples[-1]["sample"]
    figures = {
        "perplexity": math.exp(-total_logp / total_n) if total_n else float("nan"),
        "next_char_top1": top1 / total_n if total_n else 0.0,
        "next_char_top5": top5 / total_n if total_n else 0.0,
        "scored_chars": total_n,
        "oov_chars": oov,
        "samples": samples,
    }
    return figures, rows, latencies
