"""h2p side by side: a majority baseline, pypinyin, g2pM and pinhan on the CPP polyphone test set
and on HSK and pd1998 clauses, in one run (issue 16).

- **majority**: each character's most frequent reading among cpp-dev's labels.
- **pinhan**: the shipped default model's ``g2p`` (phrases, polyphone head, frequency backoff),
  torch on one thread (``pinhan-onnx``: the onnxruntime backend).

- **pypinyin**: phrase context (its own phrase dictionary and segmentation), TONE3, neutral tone 5
  — exactly the project's annotator, ``pinhan.data.annotate.annotate``.
- **g2pM** (PyPI ``g2pM``, Park & Lee 2020): a bi-LSTM for the polyphones of its CC-CEDICT digest,
  the dictionary reading elsewhere; its weights ship in the wheel, so it runs offline. Its labels
  (``lu:4``) are compared after ``u:`` -> ``v``.

Scoring (``pinhan.eval.metrics``): on ``cpp-test`` only the character at ``index`` counts (label in
tone3, neutral 5, ü as v; CPP labels the polyphone's reading with its lexical tone, 知识 ``shi2``,
so pinhan is scored on its ``readings``, the other sets on its written ``pinyin``) — accuracy with the tone and without it; on ``hsk-test`` every hanzi of
the clause (``hanzi`` / ``pinyin`` lists; the item's context is not used): syllable accuracy with
and without tone, and clause exact match. HSK writes erhua 儿 as ``r5``; of the systems here only
pinhan writes ``r5`` (the others' ``er`` counts as an error; the report gives how many there are).

Latency: one sentence per call, after ``--warmup`` calls, median and p95 ms over the timed set.

cpp-test also gets a per-character table for its 20 most frequent labelled characters.

Run: ``.venv/bin/python -m benchmarks.baselines.h2p_peers [--sets cpp-test hsk-test pd1998-test]
[--systems majority pypinyin g2pM pinhan] [--limit N]``
-> ``benchmarks/out/h2p_peers.md`` and ``.json``.
"""

from __future__ import annotations

import os

# One thread for g2pM's numpy (BLAS) work, as every latency figure here is single-threaded.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO.parent / "shared" / "bench"
OUT = REPO / "benchmarks" / "out" / "h2p_peers"

Predictor = Callable[[str], Any]  # sentence -> one label (or None / a non-syllable) per character, or a G2PResult


def pypinyin_predictor() -> Predictor:
    from pinhan.data.annotate import annotate

    return lambda sentence: annotate(sentence)


def g2pm_predictor() -> Predictor:
    from g2pM import G2pM

    model = G2pM()
    return lambda sentence: model(sentence, char_split=True, tone=True)


def pinhan_predictor(backend: str = "torch", quantize: bool = False) -> Predictor:
    """The shipped default model's g2p, one sentence per call, one thread."""
    import torch

    import pinhan

    torch.set_num_threads(1)
    model = pinhan.load(backend=backend, threads=1, quantize=quantize)
    return model.g2p  # a G2PResult: written pinyin and lexical readings (see labels())


def majority_predictor() -> Predictor:
    """Each character's most frequent reading among cpp-dev's labels (the CPP train split g2pM's
    README takes its 92.08 % from is not available here); pypinyin's first reading elsewhere."""
    from collections import Counter, defaultdict

    from pinhan.data.annotate import char_readings

    counts: dict[str, Counter] = defaultdict(Counter)
    for item in load_jsonl(BENCH / "cpp-dev.jsonl"):
        counts[item["char"]][item["pinyin"]] += 1
    first = {ch: c.most_common(1)[0][0] for ch, c in counts.items()}

    def predict(sentence: str) -> list:
        return [first.get(ch) or next(iter(char_readings(ch)), ch) for ch in sentence]

    return predict


# The peers (benchmarks/run.py runs these beside its own pinhan evaluation) and pinhan itself.
SYSTEMS: dict[str, Callable[[], Predictor]] = {"majority": majority_predictor, "pypinyin": pypinyin_predictor,
                                               "g2pM": g2pm_predictor}
PINHAN: dict[str, Callable[[], Predictor]] = {"pinhan": pinhan_predictor, "pinhan-onnx": lambda: pinhan_predictor("onnx"),
                                              "pinhan-onnx-int8": lambda: pinhan_predictor("onnx", quantize=True)}


def system_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version({"g2pM": "g2pM", "pinhan": "pinhan", "pinhan-onnx": "pinhan"}.get(name.replace("-int8", ""), "pypinyin"))  # majority: pypinyin's readings outside cpp-dev
    except PackageNotFoundError:
        return "?"


def load_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def timed(predict: Predictor, sentences: list[str], warmup: int) -> tuple[list[list], list[float]]:
    for s in sentences[:warmup]:
        predict(s)
    outputs, ms = [], []
    for s in sentences:
        t0 = time.perf_counter()
        out = predict(s)
        ms.append((time.perf_counter() - t0) * 1000)
        if len(labels(out)) != len(s):
            raise RuntimeError(f"{len(out)} labels for {len(s)} characters: {s!r}")
        outputs.append(out)
    return outputs, ms


def latency(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {"latency_ms_median": statistics.median(ms), "latency_ms_p95": ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)]}


def labels(out, lexical: bool = False) -> list:
    """A predictor's labels per character: a G2PResult's written ``pinyin``, or its lexical
    ``readings`` where a set labels polyphones by reading (cpp); a plain list as it is."""
    if hasattr(out, "pinyin"):
        return list((out.readings or out.pinyin) if lexical else out.pinyin)
    return out


def _label(x) -> str:
    return x if isinstance(x, str) else ""


def score_cpp(predict: Predictor, items: list[dict], warmup: int) -> dict:
    from pinhan.eval.metrics import syllable_accuracy

    outputs, ms = timed(predict, [it["sentence"] for it in items], warmup)
    preds = [[_label(labels(out, lexical=True)[it["index"]])] for out, it in zip(outputs, items)]
    golds = [[it["pinyin"]] for it in items]
    return {
        "by_char": by_char(items, [p[0] for p in preds]),
        "items": len(items),
        "polyphone_accuracy": syllable_accuracy(preds, golds, tones=True),
        "polyphone_accuracy_toneless": syllable_accuracy(preds, golds, tones=False),
        **latency(ms),
        "errors_sample": [{"id": it["id"], "char": it["char"], "gold": it["pinyin"], "pred": p[0]}
                          for it, p, g in zip(items, preds, golds) if p[0] != g[0]][:15],
    }


def score_hsk(predict: Predictor, items: list[dict], warmup: int) -> dict:
    from pinhan.eval.metrics import clause_exact_match, syllable_accuracy

    for it in items:
        if len(it["hanzi"]) != len(it["pinyin"]):
            raise ValueError(f"{it['id']}: {len(it['hanzi'])} hanzi, {len(it['pinyin'])} syllables")
    outputs, ms = timed(predict, [it["hanzi"] for it in items], warmup)
    preds = [[_label(x) for x in labels(out)] for out in outputs]
    golds = [it["pinyin"] for it in items]
    return {
        "items": len(items),
        "syllables": sum(len(g) for g in golds),
        "erhua_r_syllables": sum(s.rstrip("12345") == "r" for g in golds for s in g),
        "syllable_accuracy": syllable_accuracy(preds, golds, tones=True),
        "syllable_accuracy_toneless": syllable_accuracy(preds, golds, tones=False),
        "clause_exact_match": clause_exact_match(preds, golds, tones=True),
        "clause_exact_match_toneless": clause_exact_match(preds, golds, tones=False),
        **latency(ms),
    }


def by_char(items: list[dict], preds: list[str], top: int = 20) -> dict:
    """Per character, for the ``top`` most frequent labelled characters: items, right, and the
    (gold -> predicted) confusions."""
    from collections import Counter

    from pinhan.eval.metrics import normalize_syllable_label

    frequent = [ch for ch, _ in Counter(it["char"] for it in items).most_common(top)]
    out = {ch: {"items": 0, "right": 0, "confusions": Counter()} for ch in frequent}
    for it, pred in zip(items, preds):
        row = out.get(it["char"])
        if row is None:
            continue
        row["items"] += 1
        if normalize_syllable_label(pred) == normalize_syllable_label(it["pinyin"]):
            row["right"] += 1
        else:
            row["confusions"][f"{it['pinyin']}->{pred or '?'}"] += 1
    return {ch: {**row, "confusions": dict(row["confusions"].most_common(3))} for ch, row in out.items()}


SCORERS = {"cpp": score_cpp, "hsk": score_hsk}


def scorer_for(set_name: str):
    kind = "cpp" if set_name.startswith("cpp") else "hsk"
    return kind, SCORERS[kind]


def write_report(report: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    lines = ["# h2p side by side: majority, pypinyin, g2pM, pinhan", "", f"`{report['command']}` — {report['machine']}; latency = one sentence per call "
             f"after {report['warmup']} warm-up calls.", ""]
    cpp = [r for r in report["results"] if r["kind"] == "cpp"]
    hsk = [r for r in report["results"] if r["kind"] == "hsk"]
    if cpp:
        lines += ["Polyphone accuracy (CPP, only the labelled character):", "",
                  "| system | set | items | accuracy % | toneless % | median ms | p95 ms |", "|---|---|---:|---:|---:|---:|---:|"]
        for r in cpp:
            lines.append(f"| {r['system']} | {r['set']} | {r['items']} | {100 * r['polyphone_accuracy']:.2f} | "
                         f"{100 * r['polyphone_accuracy_toneless']:.2f} | {r['latency_ms_median']:.2f} | {r['latency_ms_p95']:.2f} |")
        lines.append("")
        lines += ["Per character, the 20 most frequent labelled characters (accuracy %; the commonest confusions, gold->predicted):", "",
                  "| char | items | " + " | ".join(r["system"] for r in cpp) + " | confusions (" + cpp[-1]["system"] + ") |",
                  "|---|---:|" + "---:|" * len(cpp) + "---|"]
        for ch, row in cpp[-1]["by_char"].items():
            cells = [f"{100 * r['by_char'][ch]['right'] / max(r['by_char'][ch]['items'], 1):.1f}" for r in cpp if ch in r["by_char"]]
            confusions = ", ".join(f"{k} {v}" for k, v in row["confusions"].items())
            lines.append(f"| {ch} | {row['items']} | " + " | ".join(cells) + f" | {confusions} |")
        lines.append("")
    if hsk:
        lines += ["Syllable accuracy over every hanzi (HSK / pd1998 clauses, context not used):", "",
                  "| system | set | clauses | syllables | with tone % | toneless % | clause exact % | clause exact toneless % | median ms | p95 ms |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in hsk:
            lines.append(f"| {r['system']} | {r['set']} | {r['items']} | {r['syllables']} | {100 * r['syllable_accuracy']:.2f} | "
                         f"{100 * r['syllable_accuracy_toneless']:.2f} | {100 * r['clause_exact_match']:.2f} | "
                         f"{100 * r['clause_exact_match_toneless']:.2f} | {r['latency_ms_median']:.2f} | {r['latency_ms_p95']:.2f} |")
        r0 = hsk[0]
        lines += ["", f"{r0['erhua_r_syllables']} gold syllables are erhua `r5` (儿) "
                  f"(= {100 * r0['erhua_r_syllables'] / r0['syllables']:.2f} % of the syllables); only pinhan writes erhua as "
                  "`r5` (inside a CC-CEDICT word), so for the others they count as errors.", ""]
    for name, why in report.get("unavailable", {}).items():
        lines += [f"**{name} not run**: {why}", ""]
    lines += ["Versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()) + ". Load average (1/5/15 min) at "
              f"the end: {' / '.join(map(str, report['load_average_at_end']))} on {os.cpu_count()} cores.", ""]
    out.with_suffix(".md").write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=["cpp-test", "hsk-test", "pd1998-test"])
    parser.add_argument("--systems", nargs="+", default=["majority", "pypinyin", "g2pM", "pinhan"], choices=[*SYSTEMS, *PINHAN])
    parser.add_argument("--limit", type=int, help="first N items of each set")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--bench-dir", type=Path, default=BENCH)
    parser.add_argument("--out", type=Path, default=OUT, help="writes OUT.md and OUT.json")
    args = parser.parse_args(argv)

    data = {name: load_jsonl(args.bench_dir / f"{name}.jsonl")[: args.limit] for name in args.sets}
    report: dict = {
        "command": ("python -m benchmarks.baselines.h2p_peers " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip(),
        "machine": f"{platform.machine()}, Python {platform.python_version()}, one thread",
        "warmup": args.warmup, "results": [], "unavailable": {}, "versions": {},
    }
    for system in args.systems:
        try:
            t0 = time.perf_counter()
            predict = {**SYSTEMS, **PINHAN}[system]()
            predict("预热一下。")
            load_s = time.perf_counter() - t0
        except Exception as exc:  # report precisely why a peer could not run
            report["unavailable"][system] = f"{type(exc).__name__}: {exc}"
            print(f"{system}: not available: {type(exc).__name__}: {exc}\n{traceback.format_exc()}", file=sys.stderr)
            continue
        report["versions"][system] = system_version(system)
        for name, items in data.items():
            kind, scorer = scorer_for(name)
            r = {"system": system, "set": name, "kind": kind, "load_seconds": round(load_s, 2), **scorer(predict, items, args.warmup)}
            report["results"].append(r)
            main_key = "polyphone_accuracy" if kind == "cpp" else "syllable_accuracy"
            toneless = r[main_key + "_toneless"]
            print(f"{system:9s} {name:10s} n={r['items']:6d}  {main_key} {100 * r[main_key]:.2f} %  toneless {100 * toneless:.2f} %"
                  f"  median {r['latency_ms_median']:.2f} ms  p95 {r['latency_ms_p95']:.2f} ms", flush=True)
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    write_report(report, args.out)
    print(f"wrote {args.out.with_suffix('.md')} and .json", file=sys.stderr)


if __name__ == "__main__":
    main()
