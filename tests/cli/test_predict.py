"""``pinhan predict``: next words per context, human-readable or JSON, errors per line."""

import io
import json

from pinhan.cli import COMMANDS, main


def _json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_predict_json(word_model_dir, capsys):
    assert "predict" in COMMANDS
    assert main(["predict", "--model", str(word_model_dir), "--json", "--k", "3", "我们明天去", ""]) == 0
    out = _json_lines(capsys.readouterr().out)
    assert [o["context"] for o in out] == ["我们明天去", ""]
    assert out[0]["candidates"][0]["text"] == "北京"
    for o in out:
        assert len(o["candidates"]) == 3 and all(set(c) == {"text", "score"} for c in o["candidates"])


def test_predict_human_output_stdin_and_errors(word_model_dir, model_dir, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("我们明天去\n"))
    assert main(["predict", "--model", str(word_model_dir), "--k", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "我们明天去" and lines[1].startswith("  1. 我们明天去|北京") and len(lines) == 3
    assert main(["predict", "--model", str(word_model_dir), "--k", "0", "中国"]) == 1
    assert "error: k must be an integer in 1..100" in capsys.readouterr().err
    assert main(["predict", "--model", str(model_dir), "中国"]) == 1  # no word model: one line, no traceback
    err = capsys.readouterr().err
    assert "no word model" in err and "Traceback" not in err
