"""Property tests for the corpus readers (hypothesis): whatever a source file holds (deep nesting,
numbers past Python's digit limit, invalid UTF-8, over-long lines, a damaged or truncated gzip
stream), reading it gives one counted RawLine per physical line or a one-line DataError; never
another exception, never a silently lost line."""

from __future__ import annotations

import gzip
import json
import tempfile
import zlib
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pinhan.data.config import PrepareConfig
from pinhan.data.prepare import SKIP_REASONS, LineProcessor
from pinhan.data.sources import SourceFile, read
from pinhan.data.vocab import SPECIALS, Vocab
from pinhan.errors import DataError

SETTINGS = settings(max_examples=120, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
MAX_LINE_BYTES = 300_000
PROCESS = LineProcessor(PrepareConfig(extra_charset="none"), frozenset(Vocab(chars=list(SPECIALS)).syllables[len(SPECIALS):]))

texts = st.text(alphabet="中国人民银行长我们你好的了，。abc1 \t\u3000\u200b\ud800", max_size=40)
huge_numbers = st.builds(lambda sign, digits, tail: sign + "7" * digits + tail, st.sampled_from(["", "-"]),
                         st.integers(min_value=1, max_value=12_000), st.sampled_from(["", ".5", "e9", "E-99999", ".0e+400"]))
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), texts)
any_json = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
                        max_leaves=8)


def nest(depth: int, inner: str, kind: str) -> str:
    return {"[": "[" * depth + inner + "]" * depth, "{": '{"a":' * depth + inner + "}" * depth}[kind]


# One JSONL line, as text: mostly documents, some hostile.
documents = st.builds(lambda text, extra: json.dumps({"text": text, **extra}), texts, st.dictionaries(texts, any_json, max_size=2))
nested = st.builds(nest, st.integers(min_value=1, max_value=100_000), st.sampled_from(["", "1", '"好"', "[]"]),
                   st.sampled_from(["[", "{"]))
with_huge_number = st.builds(lambda text, number, key: f'{{"text": {json.dumps(text)}, "{key}": {number}}}', texts,
                             huge_numbers, st.sampled_from(["n", "text", "index"]))
polyphone = st.builds(lambda at, number: f'{{"sentence": "长城很长", "index": {number or at}, "char": "长", "pinyin": "chang2"}}',
                      st.integers(min_value=-2, max_value=5), st.none() | huge_numbers)
broken = st.one_of(st.text(max_size=30), documents.map(lambda line: line[: len(line) // 2]), st.just(""), st.just("[" * 400_000))
lines = st.one_of(documents, nested, with_huge_number, polyphone, broken)
line_bytes = st.one_of(lines.map(lambda line: line.encode("utf-8", "surrogatepass")), st.binary(max_size=40))


def damage(data: bytes, how: str, at: float, byte: int) -> bytes:
    """A gzip file changed the way disks and downloads change files."""
    where = min(int(len(data) * at), len(data) - 1)
    if how == "flip":
        return data[:where] + bytes([data[where] ^ byte]) + data[where + 1:]
    if how == "truncate":
        return data[:where]
    if how == "append":
        return data + bytes([byte]) * 7
    return data


def read_all(path: Path, kind: str) -> list:
    """Every RawLine, or the DataError; any other exception fails the test."""
    try:
        return list(read(SourceFile(path, path.name, kind), max_line_bytes=MAX_LINE_BYTES))
    except DataError as exc:
        assert str(exc) and "\n" not in str(exc) and path.name in str(exc)
        return [exc]


def check_counted(result: list, physical_lines: int) -> None:
    assert len(result) == physical_lines
    for line in result:
        assert (line.text is None) != (line.reject is None)
        reason, _text, _syllables = PROCESS(line)
        assert reason is None or reason in SKIP_REASONS
        event(line.reject or "text")


@SETTINGS
@given(st.lists(line_bytes, min_size=1, max_size=6), st.sampled_from(["jsonl", "text"]))
def test_any_line_is_counted(contents, kind):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"x.{kind}"
        path.write_bytes(b"".join(line.replace(b"\n", b" ") + b"\n" for line in contents))
        check_counted(read_all(path, kind), len(contents))


@SETTINGS
@given(st.lists(lines, min_size=1, max_size=30), st.sampled_from(["none", "flip", "truncate", "append"]),
       st.floats(min_value=0, max_value=1), st.integers(min_value=1, max_value=255))
def test_damaged_gzip_is_a_data_error_or_counted(contents, how, at, byte):
    payload = b"".join(line.encode("utf-8", "surrogatepass") + b"\n" for line in contents)
    data = damage(gzip.compress(payload, mtime=0), how, at, byte)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.jsonl.gz"
        path.write_bytes(data)
        result = read_all(path, "jsonl")
    if result and isinstance(result[-1], DataError):
        event(f"{how}: DataError")
        assert how != "none"
        return
    try:  # read to the end without an error: the stream really is whole (a flipped header byte)
        intact = gzip.decompress(data) == payload
    except (OSError, EOFError, zlib.error):
        intact = False
    event(f"{how}: read through")
    assert intact or not data  # an empty file is an empty stream
    check_counted(result, payload.count(b"\n") if intact else 0)
