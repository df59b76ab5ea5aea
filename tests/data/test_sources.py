import gzip
import json
import random
import re
import zlib

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


def jsonl_source(tmp_path, *lines: str, name="x.jsonl"):
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return resolve(str(path))[0]


def test_deeply_nested_json_is_counted_not_a_traceback(tmp_path):
    source = jsonl_source(tmp_path, "[" * 100_000 + "]" * 100_000, '{"text": ' + "[" * 5000 + "]" * 5000 + "}",
                          json.dumps({"text": "好"}))
    assert [(l.text, l.reject) for l in read(source)] == [(None, "json_too_deep"), (None, "json_too_deep"), ("好", None)]


def test_huge_json_numbers_do_not_stop_the_line(tmp_path):
    """A 5,000-digit integer is valid JSON (Python only refuses to convert it): the text is kept;
    where the number should be a character index, the item is a bad label."""
    digits = "7" * 5000
    source = jsonl_source(tmp_path, f'{{"text": "好", "id": {digits}}}', f'{{"text": {digits}}}',
                          f'{{"sentence": "长城", "index": {digits}, "char": "长", "pinyin": "chang2"}}',
                          f'{{"text": "坏", "x": -{digits}e5}}')
    assert [(l.text, l.reject) for l in read(source)] == [("好", None), (None, "missing_field"), (None, "bad_label"),
                                                         ("坏", None)]


def gzip_bytes(lines: list[str]) -> bytes:
    return gzip.compress("".join(line + "\n" for line in lines).encode("utf-8"), mtime=0)


def corrupted(data: bytes, kind: str) -> bytes:
    """``data`` (a gzip file) damaged the way a disk or a download damages files."""
    if kind == "crc":  # one flipped bit in the stored checksum: the data decode, the check fails
        return data[:-8] + bytes([data[-8] ^ 1]) + data[-7:]
    if kind == "garbage":  # a second member that is not gzip
        return data + b"not gzip at all"
    # One changed byte in the middle of the deflate stream that zlib itself rejects (most changed
    # bytes only fail the final CRC check: search from the middle for one that zlib rejects).
    for at in range(len(data) // 2, len(data) - 8):
        broken = data[:at] + bytes([data[at] ^ 0x5A]) + data[at + 1:]
        try:
            zlib.decompressobj(wbits=-15).decompress(broken[10:])  # raw deflate: no checksum
        except zlib.error:
            return broken
    raise AssertionError("no byte found whose change zlib rejects")


@pytest.mark.parametrize("kind", ["zlib", "crc", "garbage"])
def test_corrupt_gzip_is_a_data_error_naming_file_and_place(tmp_path, kind):
    rng = random.Random(0)
    lines = ["".join(chr(rng.randrange(0x4E00, 0x5A00)) for _ in range(rng.randrange(5, 40))) for _ in range(2000)]
    (tmp_path / "c.txt.gz").write_bytes(corrupted(gzip_bytes(lines), kind))
    with pytest.raises(DataError) as info:
        list(read(resolve(str(tmp_path / "c.txt.gz"))[0]))
    message = str(info.value)
    assert "c.txt.gz" in message and "\n" not in message
    assert re.search(r"after line [\d,]+", message), message


def test_truncated_gzip_is_a_data_error(tmp_path):
    data = gzip_bytes(["你好"] * 1000)
    (tmp_path / "t.jsonl.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"t\.jsonl\.gz.*after line [\d,]+"):
        list(read(resolve(str(tmp_path / "t.jsonl.gz"))[0]))


def test_over_long_lines_are_rejected_without_being_read_whole(tmp_path):
    """A line past ``max_line_bytes`` comes out as ``too_long``; the reader never holds more than
    the bound plus one read chunk of it, whatever the line's length (here 8 MB)."""
    import tracemalloc

    path = tmp_path / "long.txt"
    with open(path, "wb") as fh:
        fh.write("短句一\n".encode())
        fh.write(("长" * 1_000_000).encode() * 3 + b"\r\n")  # 9 MB
        fh.write("短句二\n".encode() + "好".encode() * 300 + b"\n")
    source = resolve(str(path))[0]
    tracemalloc.start()
    try:
        lines = list(read(source, max_line_bytes=900))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [(l.index, l.text, l.reject) for l in lines] == [(0, "短句一", None), (1, None, "too_long"), (2, "短句二", None),
                                                             (3, "好" * 300, None)]
    assert peak < 1_000_000, peak
    # exactly at the bound is kept (the bound counts the line's bytes without its newline)
    path.write_bytes(b"a" * 900 + b"\n" + b"b" * 901 + b"\nc")
    assert [(l.text, l.reject) for l in read(source, max_line_bytes=900)] == [("a" * 900, None), (None, "too_long"),
                                                                               ("c", None)]


def test_over_long_gzip_lines_are_bounded_too(tmp_path):
    import tracemalloc

    path = tmp_path / "long.txt.gz"
    path.write_bytes(gzip.compress(b"x" * 6_000_000 + b"\nok\n"))
    tracemalloc.start()
    try:
        lines = list(read(resolve(str(path))[0], max_line_bytes=1000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [(l.text, l.reject) for l in lines] == [(None, "too_long"), ("ok", None)]
    assert peak < 1_000_000, peak
