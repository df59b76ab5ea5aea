"""Run other pinyin->hanzi engines on the benchmark sets and score them like the project.

Run: ``.venv/bin/python -m benchmarks.engines.peers [--sets pd1998-test reviews-test hsk-test]
[--engines libime rime ...] [--limit N] [--out benchmarks/out/peers.json] [--md PATH]``

Engines (each a harness in ``benchmarks/engines/src``, built by ``install.sh``): libime
(fcitx5), SunPinyin, libpinyin, RIME luna_pinyin_simp, Google Pinyin, Pinyin2Hanzi (DAG).
Every harness reads one toneless, unsegmented pinyin string per line and writes its top-1
whole-input conversion plus the CPU milliseconds of that conversion; learning is off and no
preceding context is given. Engines that are not installed or built are skipped with a note.

Input of a bench item: its pinyin with tone digits removed, joined without separators
(``["zhong1", "guo2"]`` -> ``zhongguo``). Metrics: ``pinhan.eval.metrics.char_accuracy`` and
``sentence_accuracy``; latency: median and 95th percentile of per-item CPU time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Iterable, Sequence

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_BUILD = HERE / "build"
DEFAULT_BENCH = REPO.parent / "shared" / "bench"
DEFAULT_SETS = ("pd1998-test", "reviews-test", "hsk-test")
INSTALL_HINT = "run `bash benchmarks/engines/install.sh`"

#: Engine names, in report order.
ENGINES: tuple[str, ...] = ("libime", "sunpinyin", "libpinyin", "rime", "googlepinyin", "pinyin2hanzi")

LABELS = {
    "libime": "libime (fcitx5)",
    "sunpinyin": "SunPinyin",
    "libpinyin": "libpinyin",
    "rime": "RIME luna_pinyin_simp",
    "googlepinyin": "Google Pinyin",
    "pinyin2hanzi": "Pinyin2Hanzi DAG",
}

#: Debian packages (versions go into the report) or, for Pinyin2Hanzi, the PyPI project.
PACKAGES = {
    "libime": ("libimepinyin0", "libime-data", "libime-data-language-model"),
    "sunpinyin": ("libsunpinyin3v5", "sunpinyin-data"),
    "libpinyin": ("libpinyin15", "libpinyin-data"),
    "rime": ("librime1", "rime-data-luna-pinyin", "rime-essay"),
    "googlepinyin": ("libgooglepinyin0",),
    "pinyin2hanzi": ("pypi:Pinyin2Hanzi",),
}

#: Figures measured earlier (toneless, unsegmented; char / sentence accuracy in %), which
#: this harness is expected to reproduce within about a point.
REFERENCE = {
    "libime": {"pd1998-test": (90.6, 54.2), "reviews-test": (92.0, 61.2), "hsk-test": (95.3, 80.6)},
    "sunpinyin": {"pd1998-test": (88.3, 46.7), "reviews-test": (91.3, 58.8), "hsk-test": (93.9, 74.4)},
    "libpinyin": {"pd1998-test": (90.2, 52.1), "reviews-test": (87.1, 44.9), "hsk-test": (90.0, 61.5)},
    "rime": {"pd1998-test": (84.0, 39.8), "reviews-test": (85.1, 45.1), "hsk-test": (89.1, 62.2)},
    "googlepinyin": {"pd1998-test": (82.8, 33.4), "reviews-test": (86.7, 44.3), "hsk-test": (90.6, 63.8)},
    "pinyin2hanzi": {"pd1998-test": (79.5, 30.7), "reviews-test": (79.1, 32.4), "hsk-test": (83.7, 48.4)},
}
#: CPU-time latency on pd1998-test measured earlier (median, p95 in ms).
REFERENCE_LATENCY = {"libime": (3.6, 9.0), "sunpinyin": (4.6, 12.7), "rime": (0.4, 0.7)}


class EngineUnavailable(RuntimeError):
    """The engine is not installed or its harness is not built; ``str()`` says which."""


class EngineError(RuntimeError):
    """The harness ran but failed or broke the line protocol."""


@dataclass
class EngineRun:
    outputs: list[str]
    cpu_ms: list[float]
    peak_rss_mb: float | None
    wall_s: float = 0.0
    summary: str = ""  # the harness's own stderr summary line


# -- inputs and scoring ------------------------------------------------------------------

_TONE = re.compile(r"[0-9]")


def bench_input(item: dict | Sequence[str], *, erhua_as_er: bool = False) -> str:
    """Toneless, unsegmented input of a bench item (or of its pinyin list).

    ``erhua_as_er`` types the erhua syllable ``r`` (hsk-test labels 儿 of 玩儿 ``r5``) as
    ``er``, which is how the reference figures were measured; the default keeps the label.

    >>> bench_input({"pinyin": ["zhong1", "guo2", "wen2", "hua4"]})
    'zhongguowenhua'
    >>> bench_input(["nv3", "lve4", "le5"])
    'nvlvele'
    >>> bench_input(["wan2", "r5"]), bench_input(["wan2", "r5"], erhua_as_er=True)
    ('wanr', 'waner')
    """
    syllables = item["pinyin"] if isinstance(item, dict) else item
    out = []
    for s in syllables:
        s = _TONE.sub("", s).lower().replace("ü", "v").replace("u:", "v")
        out.append("er" if erhua_as_er and s == "r" else s)
    return "".join(out)


def load_set(path: Path, limit: int | None = None) -> list[dict]:
    items = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                items.append(json.loads(line))
                if limit is not None and len(items) >= limit:
                    break
    return items


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); NaN when empty."""
    if not values:
        return float("nan")
    v = sorted(values)
    pos = q * (len(v) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def score(preds: Sequence[str], golds: Sequence[str], cpu_ms: Sequence[float] = ()) -> dict:
    """char / sentence accuracy (0..1) via pinhan.eval.metrics, plus latency figures."""
    from pinhan.eval.metrics import char_accuracy, sentence_accuracy

    return {
        "n": len(golds),
        "char_acc": char_accuracy(preds, golds),
        "sentence_acc": sentence_accuracy(preds, golds),
        "empty_outputs": sum(1 for p in preds if not p),
        "cpu_ms_median": statistics.median(cpu_ms) if cpu_ms else None,
        "cpu_ms_p95": percentile(cpu_ms, 0.95) if cpu_ms else None,
    }


# -- engines -------------------------------------------------------------------------------


def _build_dir(build_dir: Path | str | None) -> Path:
    if build_dir is not None:
        return Path(build_dir)
    return Path(os.environ.get("PEERS_BUILD_DIR", DEFAULT_BUILD))


def engine_command(name: str, build_dir: Path | str | None = None) -> list[str]:
    """The harness command line (``--timing`` included) for engine ``name``."""
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; known: {', '.join(ENGINES)}")
    if name == "pinyin2hanzi":
        return [sys.executable, str(HERE / "src" / "pinyin2hanzi_harness.py"), "--timing"]
    return [str(_build_dir(build_dir) / f"{name}_harness"), "--timing"]


def engine_note(name: str, build_dir: Path | str | None = None) -> str | None:
    """None when ``name`` can run here, else why not (a sentence with the fix)."""
    if name not in ENGINES:
        return f"unknown engine {name!r}"
    if name == "pinyin2hanzi":
        if find_spec("Pinyin2Hanzi") is None:
            return f"Pinyin2Hanzi is not installed in {sys.executable} ({INSTALL_HINT} or pip install Pinyin2Hanzi)"
        return None
    exe = Path(engine_command(name, build_dir)[0])
    if not (exe.is_file() and os.access(exe, os.X_OK)):
        return f"{LABELS[name]}: harness {exe} not built ({INSTALL_HINT})"
    return None


def engine_notes(build_dir: Path | str | None = None) -> dict[str, str]:
    """Engines that cannot run here, each with the reason."""
    notes = {n: engine_note(n, build_dir) for n in ENGINES}
    return {n: note for n, note in notes.items() if note}


def available_engines(build_dir: Path | str | None = None) -> list[str]:
    """Engines whose harness is built (or, for Pinyin2Hanzi, whose package is importable)."""
    return [n for n in ENGINES if engine_note(n, build_dir) is None]


def _parse_line(line: str) -> tuple[str, float]:
    text, sep, ms = line.rstrip("\n").rpartition("\t")
    if not sep:
        raise EngineError(f"harness line without a timing column: {line!r}")
    return text, float(ms)


def run_engine(
    name: str,
    inputs: Sequence[str],
    *,
    build_dir: Path | str | None = None,
    timeout: float | None = None,
) -> EngineRun:
    """Convert ``inputs`` (toneless unsegmented pinyin) with engine ``name`` in one process.

    Raises :class:`EngineUnavailable` (with the note) when the engine cannot run here, and
    :class:`EngineError` when the harness fails, times out or returns the wrong line count.
    """
    note = engine_note(name, build_dir)
    if note:
        raise EngineUnavailable(note)
    for s in inputs:
        if "\n" in s or "\r" in s:
            raise ValueError(f"input contains a line break: {s!r}")
    cmd = engine_command(name, build_dir)
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix=f"peers-{name}-") as tmp:
        src, dst, err = (Path(tmp) / n for n in ("in.txt", "out.txt", "err.txt"))
        src.write_text("".join(s + "\n" for s in inputs), encoding="utf-8")
        with open(src, "rb") as fin, open(dst, "wb") as fout, open(err, "wb") as ferr:
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, stdin=fin, stdout=fout, stderr=ferr, env=env)
            # os.wait4 gives the child's own rusage (peak RSS) where Popen.wait would not.
            deadline = None if timeout is None else t0 + timeout
            delay = 0.001
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if deadline is not None and time.perf_counter() > deadline:
                    proc.kill()
                    pid, status, usage = os.wait4(proc.pid, 0)
                    proc.returncode = os.waitstatus_to_exitcode(status)
                    raise EngineError(f"{name}: timed out after {timeout} s")
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
            proc.returncode = os.waitstatus_to_exitcode(status)
            wall = time.perf_counter() - t0
        stderr = err.read_text(encoding="utf-8", errors="replace")
        if proc.returncode != 0:
            tail = "\n".join(stderr.strip().splitlines()[-5:])
            raise EngineError(f"{name}: {shlex.join(cmd)} exited {proc.returncode}: {tail}")
        lines = dst.read_text(encoding="utf-8").splitlines()
    if len(lines) != len(inputs):
        raise EngineError(f"{name}: {len(lines)} output lines for {len(inputs)} inputs")
    parsed = [_parse_line(line) for line in lines]
    # The summary is the last "# <engine> n=..." of stderr; a library may have printed a message
    # without a newline before it (libpinyin: "open .../user.conf failed."), so search, not match.
    found = re.findall(r"# \w+ n=\d+[^\n]*", stderr)
    summary = found[-1] if found else ""
    # The harness's own VmHWM; the child's ru_maxrss also counts this (parent) process's
    # memory when subprocess starts it through vfork, so it is only the fallback.
    m = re.search(r"peak_rss_kb=(\d+)", summary)
    peak_kb = int(m.group(1)) if m else usage.ru_maxrss
    return EngineRun(
        outputs=[t for t, _ in parsed],
        cpu_ms=[ms for _, ms in parsed],
        peak_rss_mb=peak_kb / 1024.0 if peak_kb else None,
        wall_s=wall,
        summary=summary,
    )


# -- report --------------------------------------------------------------------------------


def package_versions(name: str) -> dict[str, str]:
    out = {}
    for pkg in PACKAGES.get(name, ()):
        if pkg.startswith("pypi:"):
            try:
                from importlib.metadata import version

                out[pkg] = version(pkg[5:])
            except Exception:  # noqa: BLE001 - not installed
                out[pkg] = "not installed"
            continue
        try:
            res = subprocess.run(
                ["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True, timeout=10
            )
            out[pkg] = res.stdout.strip() if res.returncode == 0 else "not installed"
        except (OSError, subprocess.SubprocessError):
            out[pkg] = "unknown"
    return out


def machine_info() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    os_name = ""
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return {
        "os": os_name or platform.platform(),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }


def _set_path(bench_dir: Path, name: str) -> Path:
    return bench_dir / (name if name.endswith(".jsonl") else f"{name}.jsonl")


def run_benchmark(
    engines: Iterable[str],
    sets: Sequence[str],
    *,
    bench_dir: Path = DEFAULT_BENCH,
    limit: int | None = None,
    build_dir: Path | str | None = None,
    erhua_as_er: bool = False,
    log=print,
) -> dict:
    """Runs each engine once over all sets (concatenated) and scores each set."""
    data = {s: load_set(_set_path(bench_dir, s), limit) for s in sets}
    inputs = [bench_input(it, erhua_as_er=erhua_as_er) for s in sets for it in data[s]]
    report: dict = {"engines": {}, "results": [], "skipped": {}, "predictions": {}}
    for name in engines:
        note = engine_note(name, build_dir)
        if note:
            report["skipped"][name] = note
            log(f"skip {name}: {note}")
            continue
        log(f"run  {name} on {len(inputs)} inputs ...")
        try:
            run = run_engine(name, inputs, build_dir=build_dir)
        except EngineError as e:
            report["skipped"][name] = f"failed: {e}"
            log(f"FAIL {name}: {e}")
            continue
        report["engines"][name] = {
            "label": LABELS[name],
            "packages": package_versions(name),
            "peak_rss_mb": run.peak_rss_mb,
            "wall_s": run.wall_s,
            "harness_summary": run.summary,
        }
        i = 0
        for s in sets:
            items = data[s]
            preds = run.outputs[i : i + len(items)]
            cpu = run.cpu_ms[i : i + len(items)]
            i += len(items)
            row = {"engine": name, "set": s, **score(preds, [it["hanzi"] for it in items], cpu)}
            ref = REFERENCE.get(name, {}).get(s)
            if ref:
                row["reference_char_acc"], row["reference_sentence_acc"] = ref[0] / 100, ref[1] / 100
            report["results"].append(row)
            report["predictions"].setdefault(name, {})[s] = [
                {"id": it.get("id"), "pred": p, "cpu_ms": round(c, 4)} for it, p, c in zip(items, preds, cpu)
            ]
            log(
                f"     {s:14s} char {100 * row['char_acc']:5.1f}  sent {100 * row['sentence_acc']:5.1f}  "
                f"cpu ms median {row['cpu_ms_median']:.3f} p95 {row['cpu_ms_p95']:.3f}"
            )
    return report


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def markdown(report: dict) -> str:
    """Tables of a :func:`run_benchmark` report (plus its ``meta``), with the reference."""
    meta = report.get("meta", {})
    sets = meta.get("sets", [])
    rows = {(r["engine"], r["set"]): r for r in report["results"]}
    out = ["## Peer engines (toneless, unsegmented pinyin; top-1 whole-input conversion)", ""]
    if meta:
        m = meta.get("machine", {})
        out += [
            f"Command: `{meta.get('command', '')}`  ",
            f"Machine: {m.get('cpus')} × {m.get('cpu')}, {m.get('os')}, Python {m.get('python')}  ",
            f"Sets: {', '.join(sets)} ({meta.get('limit') or 'all'} items each) from `{meta.get('bench_dir')}`  ",
            f"Input: {meta.get('input', '')}",
            "",
        ]
    head = "| engine | " + " | ".join(f"{s} char / sent %" for s in sets) + " |"
    out += ["Char / sentence accuracy (%), measured (reference in brackets):", "", head]
    out.append("|" + "---|" * (len(sets) + 1))
    for name in ENGINES:
        if name not in report["engines"]:
            continue
        cells = []
        for s in sets:
            r = rows.get((name, s))
            if r is None:
                cells.append("–")
                continue
            cell = f"{_pct(r['char_acc'])} / {_pct(r['sentence_acc'])}"
            ref = REFERENCE.get(name, {}).get(s)
            if ref:
                cell += f" ({ref[0]:.1f} / {ref[1]:.1f})"
            cells.append(cell)
        out.append(f"| {LABELS[name]} | " + " | ".join(cells) + " |")
    out += ["", "CPU time per conversion (ms, median / p95) and peak RSS of the harness process:", ""]
    out.append("| engine | " + " | ".join(sets) + " | peak RSS MB |")
    out.append("|" + "---|" * (len(sets) + 2))
    for name in ENGINES:
        info = report["engines"].get(name)
        if info is None:
            continue
        cells = []
        for s in sets:
            r = rows.get((name, s))
            cell = "–" if r is None else f"{r['cpu_ms_median']:.2f} / {r['cpu_ms_p95']:.2f}"
            ref = REFERENCE_LATENCY.get(name)
            if r is not None and ref and s == "pd1998-test":
                cell += f" ({ref[0]} / {ref[1]})"
            cells.append(cell)
        rss = info.get("peak_rss_mb")
        rss_cell = f"{rss:.0f}" if rss else "–"
        out.append(f"| {LABELS[name]} | " + " | ".join(cells) + f" | {rss_cell} |")
    if report.get("skipped"):
        out += ["", "Skipped:", ""] + [f"- {n}: {note}" for n, note in report["skipped"].items()]
    out += ["", "Package versions:", ""]
    for name, info in report["engines"].items():
        pk = ", ".join(f"{k} {v}" for k, v in info.get("packages", {}).items())
        out.append(f"- {LABELS[name]}: {pk}")
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.engines.peers", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--sets", nargs="+", default=list(DEFAULT_SETS), help="bench set names (default: %(default)s)")
    ap.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES, metavar="ENGINE",
                    help=f"engines to run (default: all available of {', '.join(ENGINES)})")
    ap.add_argument("--limit", type=int, default=None, help="first N items of each set")
    ap.add_argument("--bench-dir", type=Path, default=DEFAULT_BENCH, help="default: %(default)s")
    ap.add_argument("--build-dir", type=Path, default=None, help=f"harness binaries (default: {DEFAULT_BUILD})")
    ap.add_argument("--erhua-as-er", action="store_true",
                    help="type the erhua syllable r (hsk-test) as er, as the reference figures were measured")
    ap.add_argument("--out", type=Path, default=None, help="write the JSON report here")
    ap.add_argument("--md", type=Path, default=None, help="write the Markdown tables here")
    ap.add_argument("--preds", type=Path, default=None,
                    help="write per-item predictions (JSON) here; they are left out of --out")
    args = ap.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        ap.error("--limit must be >= 1")
    for s in args.sets:
        if not _set_path(args.bench_dir, s).is_file():
            ap.error(f"bench set not found: {_set_path(args.bench_dir, s)}")

    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    report = run_benchmark(
        args.engines, args.sets, bench_dir=args.bench_dir, limit=args.limit, build_dir=args.build_dir,
        erhua_as_er=args.erhua_as_er, log=log,
    )
    preds = report.pop("predictions")
    report["meta"] = {
        "command": "python -m benchmarks.engines.peers " + shlex.join(list(argv if argv is not None else sys.argv[1:])),
        "machine": machine_info(),
        "bench_dir": str(args.bench_dir),
        "sets": list(args.sets),
        "limit": args.limit,
        "input": "pinyin with tone digits removed, joined without separators"
        + (" (erhua r typed as er)" if args.erhua_as_er else ""),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }
    text = markdown(report)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        log(f"wrote {args.out}")
    if args.md:
        args.md.parent.mkdir(parents=True, exist_ok=True)
        args.md.write_text(text, encoding="utf-8")
        log(f"wrote {args.md}")
    if args.preds:
        args.preds.parent.mkdir(parents=True, exist_ok=True)
        args.preds.write_text(json.dumps(preds, ensure_ascii=False) + "\n", encoding="utf-8")
        log(f"wrote {args.preds}")
    return 0 if report["engines"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
