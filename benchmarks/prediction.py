"""Next-word prediction (联想, issue 17): after text cut at a word boundary, is the next word among
the first 1 / 5 / 10 predictions? pinhan, the same-data word trigram alone and its bigram view,
and libime's prediction (fcitx5), on the same contexts, in one run; latency per prediction at
batch 1.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.prediction [--model DIR] [--limit N]``
(test sets, the final measurement) or ``... --dev [--weights 0 0.25 0.5 1]`` (data/bundled/dev.jsonl:
the model weight's tuning table; never tune on the test sets). libime needs its harness
(``make -C benchmarks/engines build/libime_predict_harness``); without it its rows are left out
with a note. Prints Markdown; ``--out`` writes the figures as JSON.

Contexts: per item, its hanzi is cut into words by jieba (dictionary only, no HMM, so gold words
are dictionary words), one cut after word i (1 <= i < words, drawn per item id, seeded); the
context is the item's ``context`` + the words before the cut, the gold the next word. "word"
counts the gold word among the first k; "text" counts any prediction that the item's text after
the cut starts with (what a user could pick: a peer whose words are cut differently is not
penalised for it). libime gets the context's last clause (its hanzi run), segmented into its own
words (what its own commits would be); its LM state starts at the sentence start.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO.parent / "shared" / "bench"
SETS = ("pd1998-test", "hsk-test")
DEV = REPO / "data" / "bundled" / "dev.jsonl"
HARNESS = REPO / "benchmarks" / "engines" / "build" / "libime_predict_harness"
SAMPLES = ("中国", "我们", "今天天气", "经济", "学生")
KS = (1, 5, 10)
MAX_CONTEXT = 256  # characters of context kept (the default max_chars; the model reads its last 64)


def load_items(path: Path, limit: int | None) -> list[dict]:
    items = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                items.append(json.loads(line))
            if limit and len(items) >= limit:
                break
    return items


def contexts(items: list[dict]) -> list[dict]:
    """One case per item with at least two words: {context, clause, gold, rest}."""
    import jieba

    jieba.setLogLevel(60)
    out = []
    for item in items:
        words = jieba.lcut(item["hanzi"], HMM=False)
        if len(words) < 2:
            continue
        cut = random.Random(item["id"]).randrange(1, len(words))
        before = "".join(words[:cut])
        context = (item.get("context", "") + before)[-MAX_CONTEXT:]
        out.append({"context": context, "clause": before, "gold": words[cut],
                    "rest": "".join(words[cut:])})
    return out


def score(cases: list[dict], lists: list[list[str]]) -> dict:
    """top-k (in %) of the gold word and of any prediction the following text starts with."""
    out = {}
    for k in KS:
        word = sum(c["gold"] in got[:k] for c, got in zip(cases, lists))
        text = sum(any(p and c["rest"].startswith(p) for p in got[:k]) for c, got in zip(cases, lists))
        out[f"word@{k}"], out[f"text@{k}"] = 100 * word / len(cases), 100 * text / len(cases)
    return out


def latency(ms: list[float]) -> dict:
    ordered = sorted(ms)
    return {"ms_p50": statistics.median(ordered), "ms_p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]}


def run_pinhan(predictor, cases: list[dict]) -> tuple[list[list[str]], list[float]]:
    for context in SAMPLES:  # warm-up: lazily read tables, torch's first calls
        predictor.predict_batch([context], 10)
    lists, ms = [], []
    for case in cases:
        started = time.perf_counter()
        got = predictor.predict_batch([case["context"]], 10)[0]
        ms.append(1e3 * (time.perf_counter() - started))
        lists.append([p.text for p in got])
    return lists, ms


def run_libime(cases: list[dict], size: int) -> tuple[list[list[str]], list[float]] | str:
    """libime's predictions (``size``: what fcitx5 asks for; 0: the whole table entry), or why not."""
    if not os.access(HARNESS, os.X_OK):
        return f"libime: {HARNESS} not built (make -C benchmarks/engines build/libime_predict_harness)"
    import re

    from pinhan.data.annotate import HANZI_RUN

    lines = []
    for case in cases:
        runs = list(HANZI_RUN.finditer(case["context"]))
        lines.append(runs[-1].group() if runs and runs[-1].end() == len(case["context"]) else "")
    env = {**os.environ, "LIBIME_PREDICT_K": "10", "LIBIME_PREDICT_SIZE": str(size)}
    with tempfile.TemporaryFile() as src:
        src.write("".join(line + "\n" for line in lines).encode("utf-8"))
        src.seek(0)
        done = subprocess.run([str(HARNESS), "--timing"], stdin=src, capture_output=True, env=env, timeout=3600)
    if done.returncode != 0:
        return f"libime: harness exited {done.returncode}: {done.stderr.decode(errors='replace')[-300:]}"
    rows = [line.rpartition("\t") for line in done.stdout.decode("utf-8").splitlines()]
    if len(rows) != len(cases) or not all(re.fullmatch(r"[0-9.]+", ms) for _, _, ms in rows):
        return f"libime: {len(rows)} output lines for {len(cases)} contexts"
    return [text.split("|") if text else [] for text, _, _ in rows], [float(ms) for _, _, ms in rows]


def bigram_view(lm):
    """The word n-gram cut to its first two orders (its unigram and bigram tables, as stored)."""
    cut = 2
    return type(lm)(cut, lm.vocab_size, lm.keys[:cut], lm.logp[:cut], lm.ctx_keys[:cut], lm.ctx_log_gamma[:cut],
                    lm.default_log_gamma[:cut], lm.info)


def systems(model, model_weights: list[float] | None = None) -> dict:
    """name -> Predictor: pinhan as configured, the trigram alone, the bigram view alone."""
    from pinhan.infer.tasks.predict import Predictor

    lexicon, lm = model.predictor.lexicon, model.predictor.lm
    out = {}
    for w in model_weights if model_weights is not None else [model.config.predict_model_weight]:
        out[f"pinhan (model weight {w:g})"] = model.with_config(predict_model_weight=w).predictor
    trigram = model.with_config(predict_model_weight=0.0)
    out["word trigram (words.safetensors)"] = trigram.predictor
    out["word bigram (its bigram view)"] = Predictor(trigram.bundle, trigram.config, words=(lexicon, bigram_view(lm)))
    return out


def measure(model, sets: dict[str, list[dict]], weights, libime: bool) -> dict:
    results = {}
    for name, predictor in systems(model, weights).items():
        for set_name, cases in sets.items():
            lists, ms = run_pinhan(predictor, cases)
            results.setdefault(name, {})[set_name] = {**score(cases, lists), **latency(ms), "n": len(cases)}
            print(f"# {name} {set_name}: {results[name][set_name]}", file=sys.stderr, flush=True)
    for size, label in ((10, "libime (fcitx5: PredictionSize 10)"), (0, "libime (whole prediction table)")):
        for set_name, cases in sets.items() if libime else ():
            got = run_libime(cases, size)
            if isinstance(got, str):
                results.setdefault("notes", []).append(got)
                break
            results.setdefault(label, {})[set_name] = {**score(cases, got[0]), **latency(got[1]), "n": len(cases)}
    return results


def markdown(results: dict, sets: list[str]) -> str:
    head = "| system | " + " | ".join(f"{s}: word top-1 / 5 / 10 | text top-1 / 5 / 10" for s in sets) + " | ms p50 / p95 |"
    lines = [head, "|---" * (2 * len(sets) + 2) + "|"]
    for name, per_set in results.items():
        if name == "notes":
            continue
        cells = []
        for s in sets:
            r = per_set[s]
            cells += [" / ".join(f"{r[f'word@{k}']:.1f}" for k in KS), " / ".join(f"{r[f'text@{k}']:.1f}" for k in KS)]
        lat = " ; ".join(f"{per_set[s]['ms_p50']:.2f} / {per_set[s]['ms_p95']:.2f}" for s in sets)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {lat} |")
    return "\n".join(lines + [f"\n{note}" for note in results.get("notes", [])])


def samples(model) -> str:
    lines = ["| context | predict (top 10) | generate (10 beams, 4 characters) |", "|---|---|---|"]
    for context in SAMPLES:
        predicted = " ".join(p.text for p in model.predict(context, k=10))
        generated = " ".join(c.text for c in model.generate(context, max_new_tokens=4, num_beams=10))
        lines.append(f"| {context} | {predicted} | {generated} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model directory (default: the default model)")
    parser.add_argument("--limit", type=int, help="first N items of each set")
    parser.add_argument("--dev", action="store_true", help="dev contexts (data/bundled/dev.jsonl), for tuning")
    parser.add_argument("--weights", type=float, nargs="*", help="model weights to compare (default: the configured one)")
    parser.add_argument("--set", dest="settings", nargs="*", default=[], metavar="KEY=VALUE",
                        help="InferenceConfig settings, e.g. predict_rescore=16")
    parser.add_argument("--no-libime", action="store_true")
    parser.add_argument("--no-samples", action="store_true")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)

    import pinhan

    model = pinhan.load(args.model, threads=1)
    if args.settings:
        model = model.with_config(**{k: type(getattr(model.config, k))(v) if getattr(model.config, k) is not None else float(v)
                                     for k, v in (s.split("=", 1) for s in args.settings)})
    if args.dev:
        sets = {"dev": contexts(load_items(DEV, args.limit))}
    else:
        sets = {name: contexts(load_items(BENCH / f"{name}.jsonl", args.limit)) for name in SETS}
    started = time.time()
    results = measure(model, sets, args.weights, libime=not args.no_libime)
    print(f"contexts: " + ", ".join(f"{k} {len(v)}" for k, v in sets.items()) + f"; {time.time() - started:.0f} s\n")
    print(markdown(results, list(sets)))
    if not args.no_samples and not args.dev:
        print("\n" + samples(model))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
