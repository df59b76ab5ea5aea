"""benchmarks/engines/peers.py: inputs, scoring, skip-with-note, the harness protocol.

Hermetic except the last tests, which run a real engine only where install.sh built it.
"""

from __future__ import annotations

import importlib.util
import json
import stat
import sys
from pathlib import Path

import pytest

from pinhan.eval.metrics import char_accuracy, sentence_accuracy

# Loaded by path: with tests/benchmarks/__init__.py, pytest's default import mode makes the name
# ``benchmarks`` mean this test package, not the repository's benchmarks/ folder.
_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "engines" / "peers.py"
_spec = importlib.util.spec_from_file_location("_pinhan_bench_peers", _PATH)
peers = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = peers
_spec.loader.exec_module(peers)

FAKE_HARNESS = """\
#!{python}
# Test double that speaks the harness protocol: "<upper-cased input>\\t<ms>" per line.
import sys
mode = {mode!r}
n = 0
for line in sys.stdin:
    n += 1
    text = line.strip()
    if mode == "short" and n > 1:
        break
    sys.stdout.write(text.upper() + "\\t" + str(0.25 * n) + "\\n")
if mode == "fail":
    sys.stderr.write("engine data missing\\n")
    sys.exit(3)
sys.stderr.write("# fake n=%d cpu_ms_median=0 cpu_ms_p95=0 peak_rss_kb=2048\\n" % n)
"""


def fake_build(tmp_path: Path, engine: str = "libime", mode: str = "ok") -> Path:
    build = tmp_path / "build"
    build.mkdir(parents=True, exist_ok=True)
    exe = build / f"{engine}_harness"
    exe.write_text(FAKE_HARNESS.format(python=sys.executable, mode=mode), encoding="utf-8")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return build


# -- inputs and scoring --------------------------------------------------------------------


def test_bench_input_strips_tones_and_joins():
    item = {"id": "x", "hanzi": "中国文化", "pinyin": ["zhong1", "guo2", "wen2", "hua4"], "context": ""}
    assert peers.bench_input(item) == "zhongguowenhua"
    assert peers.bench_input(["le5", "nv3", "lve4"]) == "lenvlve"
    assert peers.bench_input(["Lü4", "nu:3"]) == "lvnv"
    assert peers.bench_input([]) == ""


def test_bench_input_erhua():
    item = {"pinyin": ["wan2", "r5", "ba5"]}
    assert peers.bench_input(item) == "wanrba"
    assert peers.bench_input(item, erhua_as_er=True) == "wanerba"
    assert peers.bench_input(["er4", "ran2"], erhua_as_er=True) == "erran"


def test_load_set_limit(tmp_path):
    path = tmp_path / "s.jsonl"
    rows = [{"id": str(i), "hanzi": "你好", "pinyin": ["ni3", "hao3"]} for i in range(5)]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows) + "\n", encoding="utf-8")
    assert len(peers.load_set(path)) == 5
    assert [r["id"] for r in peers.load_set(path, limit=2)] == ["0", "1"]


def test_score_uses_project_metrics():
    preds, golds = ["中国文化", "你号", ""], ["中国文化", "你好", "再见"]
    got = peers.score(preds, golds, [1.0, 2.0, 30.0])
    assert got["char_acc"] == pytest.approx(char_accuracy(preds, golds))
    assert got["char_acc"] == pytest.approx(1 - 3 / 8)
    assert got["sentence_acc"] == pytest.approx(sentence_accuracy(preds, golds)) == pytest.approx(1 / 3)
    assert got["empty_outputs"] == 1
    assert got["cpu_ms_median"] == 2.0
    assert got["cpu_ms_p95"] == pytest.approx(2.0 + 0.9 * 28.0)  # linear interpolation


def test_percentile():
    assert peers.percentile([5.0], 0.95) == 5.0
    assert peers.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.5) == 3.0
    assert peers.percentile([0.0, 10.0], 0.95) == pytest.approx(9.5)
    assert peers.percentile([], 0.5) != peers.percentile([], 0.5)  # NaN


# -- availability --------------------------------------------------------------------------


def test_missing_engines_are_skipped_with_a_note(tmp_path):
    empty = tmp_path / "nothing-built"
    avail = peers.available_engines(empty)
    notes = peers.engine_notes(empty)
    for name in ("libime", "sunpinyin", "libpinyin", "rime", "googlepinyin"):
        assert name not in avail
        assert "install.sh" in notes[name] and "not built" in notes[name]
    assert set(avail) | set(notes) == set(peers.ENGINES)
    with pytest.raises(peers.EngineUnavailable, match="install.sh"):
        peers.run_engine("rime", ["nihao"], build_dir=empty)


def test_pinyin2hanzi_note_when_package_missing(monkeypatch):
    monkeypatch.setattr(peers, "find_spec", lambda name: None)
    note = peers.engine_note("pinyin2hanzi")
    assert note and "Pinyin2Hanzi" in note
    assert "pinyin2hanzi" not in peers.available_engines()


def test_build_dir_from_environment(tmp_path, monkeypatch):
    build = fake_build(tmp_path, "sunpinyin")
    monkeypatch.setenv("PEERS_BUILD_DIR", str(build))
    assert "sunpinyin" in peers.available_engines()
    assert "libime" not in peers.available_engines()


def test_unknown_engine():
    with pytest.raises(ValueError):
        peers.engine_command("nope")
    assert peers.engine_note("nope")


# -- the harness protocol, through a fake harness -----------------------------------------


def test_run_engine_reads_outputs_times_and_rss(tmp_path):
    build = fake_build(tmp_path)
    run = peers.run_engine("libime", ["nihao", "", "zhongguo"], build_dir=build)
    assert run.outputs == ["NIHAO", "", "ZHONGGUO"]
    assert run.cpu_ms == [0.25, 0.5, 0.75]
    assert run.peak_rss_mb == pytest.approx(2.0)
    assert run.summary.startswith("# fake n=3")


def test_run_engine_errors(tmp_path):
    with pytest.raises(peers.EngineError, match="engine data missing"):
        peers.run_engine("libime", ["nihao"], build_dir=fake_build(tmp_path / "a", mode="fail"))
    with pytest.raises(peers.EngineError, match="1 output lines for 2 inputs"):
        peers.run_engine("libime", ["a", "b"], build_dir=fake_build(tmp_path / "b", mode="short"))
    with pytest.raises(ValueError):
        peers.run_engine("libime", ["a\nb"], build_dir=fake_build(tmp_path / "c"))


def test_main_writes_report(tmp_path, capsys):
    bench = tmp_path / "bench"
    bench.mkdir()
    items = [
        {"id": "1", "hanzi": "NIHAO", "pinyin": ["ni3", "hao3"]},  # the fake upper-cases
        {"id": "2", "hanzi": "ZHONGGUO", "pinyin": ["zhong1", "guo2"]},
        {"id": "3", "hanzi": "XX", "pinyin": ["ni3", "hao3"]},
    ]
    (bench / "tiny.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    build = fake_build(tmp_path)
    out, md = tmp_path / "out" / "peers.json", tmp_path / "out" / "peers.md"
    rc = peers.main(
        ["--bench-dir", str(bench), "--sets", "tiny", "--engines", "libime", "rime", "--build-dir", str(build),
         "--out", str(out), "--md", str(md), "--limit", "3"]
    )
    assert rc == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    (row,) = report["results"]
    assert row["engine"] == "libime" and row["set"] == "tiny" and row["n"] == 3
    assert row["sentence_acc"] == pytest.approx(2 / 3)
    assert row["cpu_ms_median"] == pytest.approx(0.5)
    assert "rime" in report["skipped"] and "install.sh" in report["skipped"]["rime"]
    assert report["meta"]["sets"] == ["tiny"]
    text = md.read_text(encoding="utf-8")
    assert "libime (fcitx5)" in text and "Skipped" in text
    assert "libime (fcitx5)" in capsys.readouterr().out


# -- real engines, only where built ----------------------------------------------------------


@pytest.mark.parametrize("engine", peers.ENGINES)
def test_real_engine_if_built(engine):
    note = peers.engine_note(engine)
    if note:
        pytest.skip(note)
    run = peers.run_engine(engine, ["zhongguowenhua", "", "nihao"], timeout=60)
    assert run.outputs[0] == "中国文化"
    assert run.outputs[1] == ""
    assert run.outputs[2] == "你好"
    assert len(run.cpu_ms) == 3 and all(ms >= 0 for ms in run.cpu_ms)
    assert run.peak_rss_mb is None or run.peak_rss_mb > 0
