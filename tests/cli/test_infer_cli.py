import io
import json

from pinhan.cli import main


def _json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_convert_json(model_dir, capsys):
    assert main(["convert", "--model", str(model_dir), "--json", "-k", "3", "nihao", "zhongguo"]) == 0
    out = _json_lines(capsys.readouterr().out)
    assert [o["input"] for o in out] == ["nihao", "zhongguo"]
    for o in out:
        assert 1 <= len(o["candidates"]) <= 3
        assert set(o["candidates"][0]) == {"text", "score", "pinyin", "consumed", "kind"}


def test_convert_reads_stdin_and_reports_a_bad_line_without_losing_the_others(model_dir, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("nihao\nnǚiii\nzhongguo\n"))
    assert main(["convert", "--model", str(model_dir), "--json"]) == 1
    out = _json_lines(capsys.readouterr().out)
    assert [o["input"] for o in out] == ["nihao", "nǚiii", "zhongguo"]
    assert "cannot read 'iii'" in out[1]["error"] and out[2]["candidates"]


def test_human_output_and_errors(model_dir, capsys):
    assert main(["convert", "--model", str(model_dir), "-k", "2", "nihao"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "nihao" and lines[1].startswith("  1. ")
    assert main(["convert", "--model", str(model_dir), "nǚiii"]) == 1
    assert "error: cannot read 'iii'" in capsys.readouterr().err
    assert main(["convert", "--model", str(model_dir / "missing"), "nihao"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pinhan convert: error:") and "does not exist" in err


def test_g2p_json(model_dir, capsys):
    assert main(["g2p", "--model", str(model_dir), "--json", "银行行长"]) == 0
    out = _json_lines(capsys.readouterr().out)[0]
    assert out["text"] == "银行行长" and len(out["pinyin"]) == 4 and out["pinyin"][0] == "yin2"
    assert main(["g2p", "--model", str(model_dir), "--tones", "mark", "银行"]) == 0
    assert capsys.readouterr().out.split()[0] == "yín"


def test_generate_json(model_dir, capsys):
    assert main(["generate", "--model", str(model_dir), "--json", "--num-beams", "2", "--max-new-tokens", "3", "我们"]) == 0
    out = _json_lines(capsys.readouterr().out)[0]
    assert out["prefix"] == "我们" and len(out["continuations"]) == 2
    assert all(len(c["text"]) == 3 for c in out["continuations"])
    assert main(["generate", "--model", str(model_dir), "--top-p", "0", "我们"]) == 1
    assert "top_p" in capsys.readouterr().err
