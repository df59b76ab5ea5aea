"""pinhan eval: set validation, every task on a tiny model, JSON and the report."""

import json

import pytest

from pinhan.cli import main
from pinhan.errors import ConfigError, DataError
from pinhan.eval.run import EvalOptions, evaluate, typed_input
from pinhan.eval.sets import read_set

CLAUSES = [
    {"id": "a", "hanzi": "银行行长", "pinyin": ["yin2", "hang2", "hang2", "zhang3"], "context": "我们的"},
    {"id": "b", "hanzi": "明天去北京", "pinyin": ["ming2", "tian1", "qu4", "bei3", "jing1"], "context": ""},
    {"id": "c", "hanzi": "中国文化", "pinyin": ["zhong1", "guo2", "wen2", "hua4"], "context": "他在"},
]
POLYPHONES = [
    {"id": "p", "sentence": "银行行长说了", "index": 2, "char": "行", "pinyin": "hang2"},
    {"id": "q", "sentence": "长城很长", "index": 0, "char": "长", "pinyin": "chang2"},
]


def _write(path, items):
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    return path


@pytest.fixture
def sets(tmp_path):
    return _write(tmp_path / "clauses.jsonl", CLAUSES), _write(tmp_path / "cpp.jsonl", POLYPHONES)


def test_typed_input():
    syllables = ["zhong1", "guo2", "an4"]
    assert typed_input(syllables) == "zhongguoan"
    assert typed_input(syllables, segmented=True) == "zhong'guo'an"
    assert typed_input(syllables, abbreviate=True) == "zga"  # first letters, as in zgwh


def test_malformed_lines_name_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(CLAUSES[0], ensure_ascii=False) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.jsonl:2: not valid JSON"):
        read_set(bad)
    bad.write_text(json.dumps({"hanzi": "中国", "pinyin": ["zhong1"]}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.jsonl:1: 1 syllables for 2 hanzi"):
        read_set(bad)
    bad.write_text(json.dumps(CLAUSES[0]) + "\n" + json.dumps(POLYPHONES[0]) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.jsonl:2: a polyphones item in a set of clauses items"):
        read_set(bad)
    bad.write_text(json.dumps(dict(POLYPHONES[0], index=0)) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"sentence\[0\] is not '行'"):
        read_set(bad)
    with pytest.raises(DataError, match="does not exist"):
        read_set(tmp_path / "missing.jsonl")


def test_every_task_runs_and_reports_its_figures(api, sets):
    clauses, cpp = (read_set(p) for p in sets)
    p2h = evaluate(api, clauses, EvalOptions(task="p2h"))
    assert p2h.n == 3 and len(p2h.rows) == 3
    for key in ("char_acc", "sentence_acc", "top1_acc", "top5_acc", "top10_acc", "bleu", "rouge_1", "rouge_2", "rouge_l"):
        assert key in p2h.figures
    assert p2h.figures["top1_acc"] == p2h.figures["sentence_acc"] <= p2h.figures["top5_acc"] <= p2h.figures["top10_acc"]
    assert p2h.figures["latency_ms"]["p50"] > 0
    h2p = evaluate(api, clauses, EvalOptions(task="h2p"))
    assert h2p.figures["syllable_acc"] <= h2p.figures["syllable_acc_toneless"]
    assert all(len(r["pred"].split()) == len(r["gold"].split()) for r in h2p.rows)
    polyphones = evaluate(api, cpp, EvalOptions(task="cpp"))
    assert 0 <= polyphones.figures["polyphone_acc"] <= 1 and [r["char"] for r in polyphones.rows] == ["行", "长"]
    gen = evaluate(api, clauses, EvalOptions(task="gen", samples=2))
    assert gen.figures["perplexity"] > 1 and gen.figures["next_char_top1"] <= gen.figures["next_char_top5"]
    assert len(gen.figures["samples"]) == 2
    with pytest.raises(DataError, match="task cpp reads polyphones sets"):
        evaluate(api, clauses, EvalOptions(task="cpp"))


def test_cli_json_and_report(model_dir, sets, tmp_path, capsys):
    clauses, cpp = sets
    out, report = tmp_path / "out.json", tmp_path / "report"
    assert main(["eval", "--model", str(model_dir), "--set", str(clauses), "--set", str(cpp),
                 "--json", str(out), "--report", str(report)]) == 0
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert [(f["set"], f["task"], f["n"]) for f in figures] == [("clauses", "p2h", 3), ("cpp", "cpp", 2)]
    assert {"char_acc", "sentence_acc", "top5_acc", "bleu", "rouge_l", "latency_ms"} <= set(figures[0])
    text = (report / "report.md").read_text(encoding="utf-8")
    assert "## clauses (p2h, 3 items)" in text and "## cpp (cpp, 2 items)" in text
    assert (report / "clauses-p2h-by-length.png").stat().st_size > 1000
    assert main(["eval", "--model", str(model_dir), "--set", str(cpp), "--task", "p2h"]) == 2
    assert "task p2h reads clauses sets" in capsys.readouterr().err


def test_cli_decoding_settings_reach_the_model_and_the_json(model_dir, sets, tmp_path, capsys):
    clauses, _ = sets
    out = tmp_path / "out.json"
    assert main(["eval", "--model", str(model_dir), "--set", str(clauses), "--json", str(out), "max_context=0", "beam_size=2"]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))[0]["settings"] == {"max_context": 0, "beam_size": 2}
    # a limit the model enforces: item b (5 syllables) is refused, named by its line
    assert main(["eval", "--model", str(model_dir), "--set", str(clauses), "max_syllables=4"]) == 2
    assert "clauses.jsonl:2" in capsys.readouterr().err
    # settings are checked before the model loads
    assert main(["eval", "--model", str(tmp_path / "no-model"), "--set", str(clauses), "beam_width=2"]) == 2
    assert "beam_width" in capsys.readouterr().err
    assert main(["eval", "--model", str(model_dir), "--set", str(clauses), "--json", str(out)]) == 0
    assert "settings" not in json.loads(out.read_text(encoding="utf-8"))[0]


def test_context_cut_to_its_last_characters(model_dir, sets, tmp_path, capsys):
    item = CLAUSES[0]  # context 我们的
    assert EvalOptions().context(item) == "我们的"
    assert [EvalOptions(context_chars=n).context(item) for n in (0, 2, 3, 9)] == ["", "们的", "我们的", "我们的"]
    assert EvalOptions(use_context=False, context_chars=2).context(item) == ""
    with pytest.raises(ConfigError, match="context_chars must be at least 0"):
        EvalOptions(context_chars=-1)
    clauses, _ = sets
    assert main(["eval", "--model", str(model_dir), "--set", str(clauses), "--context-chars", "2"]) == 0
    assert main(["eval", "--model", str(tmp_path / "no-model"), "--set", str(clauses), "--context-chars", "-1"]) == 2
    assert "context_chars must be at least 0, got -1" in capsys.readouterr().err
