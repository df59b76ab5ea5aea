import json
import subprocess
import sys

from pinhan.cli import COMMANDS, main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "pinhan.cli", *args], capture_output=True, text=True, timeout=300)


def test_help_lists_every_command():
    result = run_cli("--help")
    assert result.returncode == 0
    for name in COMMANDS:
        assert name in result.stdout
        sub = run_cli(name, "-h")
        assert sub.returncode == 0 and "usage: pinhan " + name in sub.stdout


def test_prepare_cli_end_to_end(tmp_path, tiny_corpus, capsys):
    out = tmp_path / "out"
    code = main(["prepare", str(tiny_corpus), "--out", str(out), "--quiet", "--workers", "1", "extra_charset=none", "dev_ratio=0.1"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "lines: 47 read, 44 kept" in printed and "prepare_report.json" in printed
    report = json.loads((out / "prepare_report.json").read_text(encoding="utf-8"))
    assert report["config"]["dev_ratio"] == 0.1 and report["config"]["extra_charset"] == "none"


def test_cli_errors_are_one_line_without_traceback(tmp_path, tiny_corpus):
    cases = [
        (["prepare", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "o")], "source not found"),
        (["prepare", str(tiny_corpus), "--out", str(tmp_path / "o"), "vocab_sise=10"], "unknown key(s) in prepare config: vocab_sise"),
        (["prepare", str(tiny_corpus), "--out", str(tmp_path / "o"), "vocab_size=big"], "vocab_size must be an integer"),
        (["prepare", str(tiny_corpus), "--out", str(tmp_path / "o"), "--config", str(tmp_path / "none.yaml")], "config file not found"),
    ]
    for args, message in cases:
        result = run_cli(*args)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()
