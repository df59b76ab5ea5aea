"""benchmarks/run.py: the side-by-side table and its place in RESULTS.md (hermetic)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

# Loaded by path, as in test_peers.py (the name ``benchmarks`` means this test package here).
_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"
_spec = importlib.util.spec_from_file_location("_pinhan_bench_run", _PATH)
run = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = run
_spec.loader.exec_module(run)


def _report():
    sets = {s: {"char_acc": 0.9, "sentence_acc": 0.5, "latency_ms": {"p50": 1.0, "p95": 2.0}} for s in run.P2H_SETS}
    return {"command": "python -m benchmarks.run", "machine": "test", "date": "2026-11-30", "limit": None,
            "p2h": {"a": {"label": "engine A", "sets": sets, "peak_rss_mb": 12}},
            "h2p": {"b": {"label": "g2p B", "polyphone_acc": 0.97, "latency_ms": {"p50": 2.0, "p95": 4.0}},
                    "c": {"note": "not installed"}},
            "notes": {"rime": "not built"}}


def test_markdown_table():
    text = run.markdown(_report())
    assert text.startswith(run.START) and text.endswith(run.END)
    assert "| engine A | 90.0 / 50.0 | 90.0 / 50.0 | 90.0 / 50.0 | 1.0 / 2.0 | 12 |" in text
    assert "| g2p B | 97.0 | 2.0 / 4.0 |" in text and "not installed" not in text
    assert "Skipped: rime: not built" in text


def test_results_block_is_replaced_in_place(tmp_path, monkeypatch):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\nintro\n", encoding="utf-8")
    monkeypatch.setattr(run, "RESULTS", results)
    run.write_results(run.markdown(_report()))
    first = results.read_text(encoding="utf-8")
    assert first.count(run.START) == 1 and "intro" in first
    results.write_text(first + "\n## Later section\n", encoding="utf-8")
    run.write_results(run.START + "\nnew table\n" + run.END)
    second = results.read_text(encoding="utf-8")
    assert second.count(run.START) == 1 and "new table" in second and "engine A" not in second
    assert second.index("new table") < second.index("## Later section")  # replaced where it stood


def test_reused_parts_come_from_the_last_run_and_say_so(tmp_path, monkeypatch, capsys):
    import json

    import pytest

    monkeypatch.setattr(run, "HERE", tmp_path)
    with pytest.raises(SystemExit):  # nothing to reuse yet
        run.main(["--skip", "pinhan", "abbreviations", "keystrokes", "--reuse", "peers", "--no-write"])
    (tmp_path / "out").mkdir()
    last = {**_report(), "p2h": {**_report()["p2h"], "trigram": {"label": "trigram", "sets": {}}}}
    (tmp_path / "out" / "run.json").write_text(json.dumps(last), encoding="utf-8")
    assert run.main(["--skip", "pinhan", "abbreviations", "keystrokes", "--reuse", "peers", "trigram", "h2p", "--no-write"]) == 0
    table = capsys.readouterr().out
    assert "| engine A (measured 2026-11-30, reused) | 90.0 / 50.0" in table
    assert "| g2p B (measured 2026-11-30, reused) | 97.0 |" in table and "trigram (measured" in table
    with pytest.raises(SystemExit):  # a run over other items is not reused
        run.main(["--skip", "pinhan", "abbreviations", "keystrokes", "--reuse", "peers", "--limit", "5", "--no-write"])
    again = {**last, "date": "2026-12-01"}  # a run that had reused its rows: they keep their first date, once
    again["p2h"] = {k: {**v, "label": v["label"] + " (measured 2026-11-30, reused)"} for k, v in last["p2h"].items()}
    (tmp_path / "out" / "run.json").write_text(json.dumps(again), encoding="utf-8")
    assert run.main(["--skip", "pinhan", "abbreviations", "keystrokes", "--reuse", "peers", "trigram", "h2p", "--no-write"]) == 0
    table = capsys.readouterr().out
    assert "| engine A (measured 2026-11-30, reused) | 90.0 / 50.0" in table and "reused) (measured" not in table


def test_pinhan_row_from_an_eval_file(tmp_path, monkeypatch, capsys):
    import json

    import pytest

    monkeypatch.setattr(run, "HERE", tmp_path)
    monkeypatch.setattr(run, "_load", lambda name, limit: [{}] * 3)
    rows = [{"set": s, "task": "p2h", "n": 3, "char_acc": 0.8, "sentence_acc": 0.4, "by_length": {}} for s in run.P2H_SETS]
    rows.append({"set": "cpp-test", "task": "cpp", "n": 3, "polyphone_acc": 0.95})
    (tmp_path / "eval.json").write_text(json.dumps(rows), encoding="utf-8")
    args = ["--pinhan-from", str(tmp_path / "eval.json"), "--skip", "peers", "trigram", "h2p", "abbreviations", "keystrokes", "--no-write"]
    assert run.main(args) == 0
    table = capsys.readouterr().out
    assert f"| pinhan (figures of {tmp_path / 'eval.json'}) | 80.0 / 40.0 | 80.0 / 40.0 | 80.0 / 40.0 | – | – |" in table
    assert f"| pinhan (figures of {tmp_path / 'eval.json'}) | 95.0 |" in table
    (tmp_path / "eval.json").write_text(json.dumps(rows[:-1]), encoding="utf-8")
    with pytest.raises(SystemExit, match="no cpp figures for cpp-test"):
        run.main(args)


def test_input_method_tables_are_run_with_capped_limits_and_kept(monkeypatch):
    """Each table script runs as its own process with --limit capped by the run's; its Markdown
    table lines are kept, a failure is said in one line instead of a table."""
    import subprocess

    calls = []

    def fake_run(argv, **kwargs):
        calls.append(argv)
        if "--whole" in argv:
            return subprocess.CompletedProcess(argv, 1, "", "Traceback...\nEngineUnavailable: libime missing")
        return subprocess.CompletedProcess(argv, 0, "300 inputs\n\n| system | p50 |\n|---|---:|\n| pinhan fast | 3.1 |\n", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    text = run.run_tables("keystrokes", None, 50)
    assert [c[c.index("--limit") + 1] for c in calls] == ["50", "50"]
    assert "| pinhan fast | 3.1 |" in text and "300 inputs" not in text
    assert "failed" in text and "libime missing" in text
    calls.clear()
    run.run_tables("abbreviations", "some/model", None)
    assert calls[0][-4:] == ["--limit", "500", "--model", "some/model"]
