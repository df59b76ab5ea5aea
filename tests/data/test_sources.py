import gzip
import json
import re

import pytest

from pinhan.data.sources import bundled_files, bundled_split, read, resolve, resolve_all, strip_pos_tags
from pinhan.errors import DataError


def test_bundled_split_rule():
    assert [bundled_split(i) for i in range(10)] == ["train"] * 8 + ["dev", "test"]
    assert bundled_split(10009) == "test" and bundled_split(10018) == "dev"


def test_strip_pos_tags():
    assert strip_pos_tags("迈向/v  充满/v  希望/n  的/u  新/a  世纪/n  ——/w") == "迈向充满希望的新世纪——"
    assert strip_pos_tags("１２月/t  ３１日/t") == "１２月３１日"


def test_text_jsonl_gzip_and_rejects(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"\xe4\xbd\xa0\xe5\xa5\xbd\n\xff\xfe bad\n\xe5\x86\x8d\xe8\xa7\x81\r\n")
    rows = [{"text": "一"}, {"body": "二"}, "not json {", {"text": 3}]
    with gzip.open(tmp_path / "b.jsonl.gz", "wt", encoding="utf-8") as fh:
        for row in rows:
            fh.write((json.dumps(row, ensure_ascii=False) if not isinstance(row, str) else row) + "\n")
    files = resolve(str(tmp_path))
    assert [f.kind for f in files] == ["text", "jsonl"]
    text_lines = list(read(files[0]))
    assert [(l.index, l.text, l.reject) for l in text_lines] == [(0, "你好", None), (1, None, "invalid_utf8"), (2, "再见", None)]
    json_lines = list(read(files[1]))
    assert [(l.text, l.reject) for l in json_lines] == [("一", None), (None, "missing_field"), (None, "invalid_json"), (None, "missing_field")]
    assert [l.text for l in read(files[1], text_field="body")][:2] == [None, "二"]


def test_glob_and_missing(tmp_path):
    (tmp_path / "x1.txt").write_text("一\n", encoding="utf-8")
    (tmp_path / "x2.txt").write_text("二\n", encoding="utf-8")
    assert [f.path.name for f in resolve(str(tmp_path / "x*.txt"))] == ["x1.txt", "x2.txt"]
    # the same file named twice is read once
    assert len(resolve_all([str(tmp_path / "x1.txt"), str(tmp_path / "x*.txt")])) == 2
    with pytest.raises(DataError, match="source not found"):
        resolve(str(tmp_path / "nope.txt"))
    with pytest.raises(DataError, match="matches no files"):
        resolve(str(tmp_path / "*.jsonl"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no"):
        resolve(str(tmp_path / "empty"))


def test_bundled_line_indices_match_the_benchmark(shared_bench):
    """Our line indexing of the bundled files is the one that produced shared/bench: every
    benchmark clause sits in a test line of the index its id names."""
    files = {f.name: f for f in bundled_files()}
    by_prefix = {"pd-": "pd1998", "rv-pos": "reviews-pos", "rv-neg": "reviews-neg"}
    lines = {name: {l.index: l for l in read(f)} for name, f in files.items()}
    checked = 0
    for prefix_file in ("pd1998-test.jsonl", "reviews-test.jsonl"):
        for row in (shared_bench / prefix_file).read_text(encoding="utf-8").splitlines()[:300]:
            item = json.loads(row)
            match = re.fullmatch(r"(pd-|rv-pos|rv-neg)(\d+)-(\d+)", item["id"])
            source, index = by_prefix[match.group(1)], match.group(2)
            line = lines[source][int(index)]
            assert line.split == "test"
            assert item["hanzi"] in line.text
            checked += 1
    assert checked == 600
