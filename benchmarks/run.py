"""Everything side by side, in one run on this machine: pinhan and every installed peer.

Run: ``.venv/bin/python -m benchmarks.run [--model DIR] [--limit N] [--skip pinhan peers trigram h2p]
[--reuse peers trigram h2p] [--pinhan-from EVAL.json]``, parts: pinhan peers trigram h2p abbreviations keystrokes (``--reuse``: those parts from the last run's
``out/run.json``, labelled so; ``--pinhan-from``: pinhan's row from a ``pinhan eval --json`` output)
(``make bench`` runs the same). Writes the table (system x set x metric, latency, memory) into
``benchmarks/RESULTS.md`` between the ``benchmarks.run`` markers, and the raw figures into
``benchmarks/out/run.json``.

- pinhan: ``pinhan.eval`` on pd1998-test, reviews-test, hsk-test (p2h: toneless, unsegmented,
  with context, accurate mode) and cpp-test (polyphones), one item at a time on one thread;
- p2h peers: the Debian engines and Pinyin2Hanzi (``benchmarks/engines``; not installed -> a note);
- the same-data word trigram (``benchmarks/baselines/word_trigram.py``, built from data/bundled);
- h2p peers: pypinyin and g2pM (``benchmarks/baselines/h2p_peers.py``) on cpp-test;
- short abbreviations (``benchmarks.abbreviations``) and latency per clause and per keystroke
  (``benchmarks.keystrokes``), pinhan beside libime on the same inputs.
Latency is per item (pinhan: wall clock at batch 1, one thread; engines: CPU time of the
conversion call); memory is the peak resident set of the process that converted.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BENCH = REPO.parent / "shared" / "bench"
RESULTS = HERE / "RESULTS.md"
START, END = "<!-- benchmarks.run:start -->", "<!-- benchmarks.run:end -->"
P2H_SETS = ("pd1998-test", "reviews-test", "hsk-test")
PARTS = ("pinhan", "peers", "trigram", "h2p", "abbreviations", "keystrokes")
# the input-method benchmarks, each its own script (pinhan and libime on the same inputs in one
# process); their Markdown tables are taken into this report as they print them
TABLES = {
    "abbreviations": ("Short abbreviations (first 2-4 syllables as initials; top-1 / top-5 of the gold prefix)",
                      [["benchmarks.abbreviations", "--limit", "{limit:500}"]]),
    "keystrokes": ("Latency per clause and per keystroke beside libime",
                   [["benchmarks.keystrokes", "--whole", "--limit", "{limit:300}"],
                    ["benchmarks.keystrokes", "--limit", "{limit:100}"]]),
}


def _load(name: str, limit: int | None) -> list[dict]:
    lines = (BENCH / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines[:limit] if line.strip()]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_pinhan(model_dir: str | None, limit: int | None, backend: str) -> dict:
    import torch

    from pinhan.eval.run import EvalOptions, evaluate
    from pinhan.eval.sets import read_set
    from pinhan.infer.config import InferenceConfig
    from pinhan.loader import default_model_dir

    torch.set_num_threads(1)
    sys.path.insert(0, str(REPO))
    from benchmarks.latency import load_backend

    directory = Path(model_dir) if model_dir else default_model_dir()
    model = load_backend(directory, backend, InferenceConfig())
    out = {"label": f"pinhan ({directory.name}, {backend})", "sets": {}}
    for name in (*P2H_SETS, "cpp-test"):
        bench = read_set(BENCH / f"{name}.jsonl", limit)
        task = "cpp" if name == "cpp-test" else "p2h"
        result = evaluate(model, bench, EvalOptions(task=task))
        out["sets"][name] = {k: v for k, v in result.figures.items() if k != "by_length"}
        print(f"pinhan {name}: {result.figures.get('char_acc', result.figures.get('polyphone_acc')):.4f}", flush=True)
    out["peak_rss_mb"] = _rss_mb()
    return out


def pinhan_from_eval(path: Path, limit: int | None) -> dict:
    """pinhan's figures from a ``pinhan eval --json`` file (the same evaluation run_pinhan does)."""
    rows = {row["set"]: row for row in json.loads(path.read_text(encoding="utf-8"))}
    wanted = {name: ("cpp" if name == "cpp-test" else "p2h") for name in (*P2H_SETS, "cpp-test")}
    out = {"label": f"pinhan (figures of {path})", "sets": {}}
    for name, task in wanted.items():
        row = rows.get(name)
        if row is None or row.get("task") != task:
            raise SystemExit(f"{path} has no {task} figures for {name}")
        expected = len(_load(name, limit))
        if row["n"] != expected:
            raise SystemExit(f"{path}: {name} was evaluated on {row['n']} items, this run covers {expected}")
        out["sets"][name] = {k: v for k, v in row.items() if k not in ("by_length", "set", "task")}
    return out


def run_peers(limit: int | None) -> tuple[dict, dict]:
    sys.path.insert(0, str(REPO))
    from benchmarks.engines import peers

    results, notes = {}, peers.engine_notes()
    for engine in peers.available_engines():
        entry = {"label": peers.LABELS[engine], "sets": {}, "peak_rss_mb": 0.0}
        for name in P2H_SETS:
            items = _load(name, limit)
            run = peers.run_engine(engine, [peers.bench_input(it) for it in items])
            figures = peers.score(run.outputs, [it["hanzi"] for it in items], run.cpu_ms)
            entry["sets"][name] = {"char_acc": figures["char_acc"], "sentence_acc": figures["sentence_acc"],
                                   "latency_ms": {"p50": figures["cpu_ms_median"], "p95": figures["cpu_ms_p95"]}}
            entry["peak_rss_mb"] = max(entry["peak_rss_mb"], run.peak_rss_mb or 0.0)
        results[engine] = entry
        print(f"{engine}: done", flush=True)
    return results, notes


def run_trigram(limit: int | None) -> dict:
    sys.path.insert(0, str(REPO))
    from benchmarks.baselines import word_trigram

    conv = word_trigram.get_converter((REPO / "data" / "bundled").resolve(), HERE / "out" / "word_trigram_model.pkl",
                                      rebuild=False, erhua=True)
    entry = {"label": "word trigram, same train split", "sets": {}}
    for name in P2H_SETS:
        figures = word_trigram.evaluate(conv, _load(name, limit))
        entry["sets"][name] = {"char_acc": figures["char_accuracy"], "sentence_acc": figures["sentence_accuracy"],
                               "latency_ms": {"p50": figures["latency_ms_median"], "p95": figures["latency_ms_p95"]}}
    entry["peak_rss_mb"] = _rss_mb()
    return entry


def run_h2p(limit: int | None) -> dict:
    sys.path.insert(0, str(REPO))
    from benchmarks.baselines import h2p_peers

    out = {}
    items = _load("cpp-test", limit)
    for name, make in h2p_peers.SYSTEMS.items():
        try:
            predict = make()
        except ImportError as err:
            out[name] = {"note": f"not installed ({err})"}
            continue
        figures = h2p_peers.score_cpp(predict, items, warmup=20)
        out[name] = {"label": name, "polyphone_acc": figures["polyphone_accuracy"],
                     "latency_ms": {"p50": figures["latency_ms_median"], "p95": figures["latency_ms_p95"]}}
    return out


def run_tables(part: str, model_dir: str | None, limit: int | None) -> str:
    """Run one of :data:`TABLES`' scripts (``--limit`` caps theirs) and keep their Markdown."""
    import subprocess

    title, commands = TABLES[part]
    out = [f"{title}:"]
    for command in commands:
        argv = [a if not a.startswith("{limit:") else str(min(limit, int(a[7:-1])) if limit else int(a[7:-1]))
                for a in command]
        argv += ["--model", model_dir] if model_dir else []
        done = subprocess.run([sys.executable, "-m", *argv], cwd=REPO, capture_output=True, text=True)
        if done.returncode != 0:
            out += ["", f"`{' '.join(argv)}` failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}"]
            continue
        table = [line for line in done.stdout.splitlines() if line.startswith("|")]
        out += ["", f"`python -m {' '.join(argv)}`:", "", *table]
    return "\n".join(out)


def markdown(report: dict) -> str:
    def pct(x):
        return "–" if x is None else f"{100 * x:.1f}"

    def ms(f):
        lat = f.get("latency_ms") or {}
        return "–" if lat.get("p50") is None else f"{lat['p50']:.1f} / {lat['p95']:.1f}"

    lines = [START, "", f"Command: `{report['command']}`; {report['machine']}; {report['date']}"
             + (f"; first {report['limit']} items of each set" if report["limit"] else "; full sets") + ".", "",
             "p2h, toneless unsegmented input (char / sentence accuracy %, latency median / p95 ms):", "",
             "| system | " + " | ".join(P2H_SETS) + " | latency pd1998 | peak RSS MB |", "|---|" + "---|" * (len(P2H_SETS) + 2)]
    rows = report.get("p2h", {})
    for entry in rows.values():
        cells = [f"{pct(entry['sets'][s]['char_acc'])} / {pct(entry['sets'][s]['sentence_acc'])}" if s in entry["sets"] else "–"
                 for s in P2H_SETS]
        lines.append(f"| {entry['label']} | " + " | ".join(cells) + f" | {ms(entry['sets'].get('pd1998-test', {}))} | "
                     + (f"{entry['peak_rss_mb']:.0f} |" if entry.get("peak_rss_mb") else "– |"))
    lines += ["", "h2p on cpp-test (polyphone accuracy %, latency median / p95 ms):", "", "| system | accuracy | latency |", "|---|---:|---:|"]
    for entry in report.get("h2p", {}).values():
        if "note" in entry:
            continue
        lines.append(f"| {entry['label']} | {pct(entry['polyphone_acc'])} | {ms(entry)} |")
    for part in TABLES:
        if part in report.get("tables", {}):
            lines += ["", report["tables"][part]]
    if report.get("notes"):
        lines += ["", "Skipped: " + "; ".join(f"{k}: {v}" for k, v in report["notes"].items())]
    lines += ["", END]
    return "\n".join(lines)


def write_results(block: str) -> None:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.is_file() else "# Benchmark results\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n## Side by side (`python -m benchmarks.run`)\n\n" + block + "\n"
    tmp = RESULTS.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(RESULTS)


_REUSED = re.compile(r" \(measured [^()]*, reused\)")


def _reused(label: str, date: str | None) -> str:
    """A reused row's label: says when it was measured, once (a row reused from a run that had
    itself reused it keeps its first date instead of gaining a second note)."""
    first = _REUSED.search(label)
    if first:
        return label[: first.start()] + first.group()
    return f"{label} (measured {date}, reused)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="pinhan model directory (default: the default model)")
    parser.add_argument("--limit", type=int, help="first N items of each set (default: all)")
    parser.add_argument("--backend", choices=("torch", "onnx", "onnx-int8"), default="onnx",
                        help="pinhan's backend (default: onnx fp32, the same top-1 as torch at a third of the time)")
    parser.add_argument("--skip", nargs="*", default=[], choices=PARTS, help="parts to leave out")
    parser.add_argument("--reuse", nargs="*", default=[], choices=[p for p in PARTS if p not in ("pinhan", *TABLES)],
                        help="take these parts from the last run (benchmarks/out/run.json) instead of measuring "
                             "them again; the table says from which run")
    parser.add_argument("--pinhan-from", type=Path, help="pinhan's row from this `pinhan eval --json` output (which "
                        "must hold every p2h set and cpp-test, with as many items as --limit) instead of running it")
    parser.add_argument("--no-write", action="store_true", help="print the table, do not touch RESULTS.md")
    args = parser.parse_args(argv)
    previous = {}
    if args.reuse:
        path = HERE / "out" / "run.json"
        if not path.is_file():
            parser.error(f"--reuse needs a previous run in {path}")
        previous = json.loads(path.read_text(encoding="utf-8"))
        if previous.get("limit") != args.limit:
            parser.error(f"--reuse: the last run used --limit {previous.get('limit')}, this one {args.limit}")
    report = {"command": "python -m benchmarks.run " + " ".join(argv if argv is not None else sys.argv[1:]),
              "machine": f"{platform.machine()}, {platform.python_version()}, {platform.processor() or 'CPU'}",
              "date": time.strftime("%Y-%m-%d"), "limit": args.limit, "p2h": {}, "h2p": {}, "notes": {}}
    if args.pinhan_from:
        pin = pinhan_from_eval(args.pinhan_from, args.limit)
    elif "pinhan" not in args.skip:
        pin = run_pinhan(args.model, args.limit, args.backend)
    if args.pinhan_from or "pinhan" not in args.skip:
        report["p2h"]["pinhan"] = {**pin, "sets": {k: v for k, v in pin["sets"].items() if k != "cpp-test"}}
        if "cpp-test" in pin["sets"]:
            report["h2p"]["pinhan"] = {"label": pin["label"], **pin["sets"]["cpp-test"]}
    if "peers" in args.reuse:
        for key, entry in previous.get("p2h", {}).items():
            if key not in ("pinhan", "trigram"):
                report["p2h"][key] = {**entry, "label": _reused(entry["label"], previous.get("date"))}
        report["notes"].update(previous.get("notes", {}))
    elif "peers" not in args.skip:
        found, notes = run_peers(args.limit)
        report["p2h"].update(found)
        report["notes"].update(notes)
    if "trigram" in args.reuse and "trigram" in previous.get("p2h", {}):
        trigram = previous["p2h"]["trigram"]
        report["p2h"]["trigram"] = {**trigram, "label": _reused(trigram["label"], previous.get("date"))}
    elif "trigram" not in args.skip:
        report["p2h"]["trigram"] = run_trigram(args.limit)
    if "h2p" in args.reuse:
        for key, entry in previous.get("h2p", {}).items():
            if key != "pinhan" and "note" not in entry:
                report["h2p"][key] = {**entry, "label": _reused(entry["label"], previous.get("date"))}
    elif "h2p" not in args.skip:
        report["h2p"].update(run_h2p(args.limit))
    report["tables"] = {part: run_tables(part, args.model, args.limit) for part in TABLES if part not in args.skip}
    block = markdown(report)
    print(block)
    out = HERE / "out" / "run.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    if not args.no_write:
        write_results(block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
