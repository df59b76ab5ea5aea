"""Benchmark set files: every malformed line is a DataError naming file:line, never a traceback."""

import json

import pytest

from pinhan.errors import DataError, InputError
from pinhan.eval.run import EvalOptions, evaluate
from pinhan.eval.sets import read_set

GOOD = {"id": "a", "hanzi": "中国", "pinyin": ["zhong1", "guo2"], "context": ""}


def _lines(path, *lines: bytes):
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def _good() -> bytes:
    return json.dumps(GOOD, ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize("line, message", [
    (b'{"id": "x", "hanzi": "\xff\xfe", "pinyin": ["a1", "a1"]}', "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"id": 1' + b"9" * 5000 + b', "hanzi": "a", "pinyin": ["a1"]}', "not valid JSON"),
])
def test_unreadable_lines_name_the_file_and_line(tmp_path, line, message):
    bad = _lines(tmp_path / "bad.jsonl", _good(), line)
    with pytest.raises(DataError, match=rf"bad.jsonl:2: .*{message}"):
        read_set(bad)


def test_an_over_long_line_is_refused_without_reading_it_whole(tmp_path):
    bad = _lines(tmp_path / "bad.jsonl", _good(), b'{"hanzi": "' + b"a" * 3_000_000 + b'"}')
    with pytest.raises(DataError, match=r"bad.jsonl:2: longer than"):
        read_set(bad)


@pytest.mark.parametrize("gold, message", [
    ("xx9", "'xx9' is not a pinyin syllable"),
    ("zhong", "'zhong' has no tone"),
    ("zhong0", "write it as zhong5"),
    ("zhōng", "write it as zhong1"),
])
def test_gold_syllables_are_checked_against_the_inventory(tmp_path, gold, message):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(dict(GOOD, pinyin=["guo2", gold]), ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"bad.jsonl:1: .*{message}"):
        read_set(bad)
    bad.write_text(json.dumps({"sentence": "中国", "index": 0, "char": "中", "pinyin": gold}, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    with pytest.raises(DataError, match=rf"bad.jsonl:1: .*{message}"):
        read_set(bad)


def test_accepted_spellings(tmp_path):
    ok = tmp_path / "ok.jsonl"
    items = [dict(GOOD, hanzi="女儿", pinyin=["nv3", "er2"]), dict(GOOD, hanzi="玩儿", pinyin=["wan2", "r5"]),
             dict(GOOD, hanzi="绿了", pinyin=["Lü4", "le5"])]  # r5: the HSK set's erhua
    ok.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    assert [i["pinyin"] for i in read_set(ok).items] == [["nv3", "er2"], ["wan2", "r5"], ["Lü4", "le5"]]


def test_an_item_over_the_models_limit_names_its_line(api, tmp_path):
    path = tmp_path / "long.jsonl"
    too_long = [("p2h", "你", "ni3", 70, r"the limit is 64 \(max_syllables\)"),  # 70 syllables
                ("p2h", "中", "zhong1", 60, "longer than the limit of 256"),  # 300 letters for the parser
                ("h2p", "中", "zhong1", 300, r"the limit is 256 \(max_chars\)"),
                ("gen", "中", "zhong1", 300, r"the limit is 256 \(max_chars\)"),  # the context
                ("gen", "中", "zhong1", 200, r"text has 199 characters; the limit is \d+ \(max_positions\)")]
    for task, char, syllable, n, message in too_long:
        items = [GOOD, dict(GOOD, hanzi=char * n, pinyin=[syllable] * n, context="中" * n if task == "gen" and n == 300 else "")]
        path.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n", encoding="utf-8")
        with pytest.raises(DataError, match=rf"long.jsonl:2: .*{message}") as info:
            evaluate(api, read_set(path), EvalOptions(task=task))
        assert not isinstance(info.value, InputError)


def test_cli_reports_a_bad_set_in_one_line(tmp_path, capsys):
    from pinhan.cli import main

    bad = _lines(tmp_path / "bad.jsonl", _good(), b'{"hanzi": "\xff"}')
    assert main(["eval", "--model", str(tmp_path / "unused"), "--set", str(bad)]) == 2  # sets are read first
    assert capsys.readouterr().err == f"pinhan eval: error: {bad}:2: not UTF-8 text (bad byte at column 12)\n"
