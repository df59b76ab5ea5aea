"""Benchmark set files: read, validate line by line, tell their format.

Two formats (``../shared/bench/README.md``):

- clauses (p2h-style): ``{"id", "hanzi": "中国文化", "pinyin": ["zhong1", ...], "context": "..."}``,
  one syllable per hanzi; used by the p2h, h2p and gen tasks;
- polyphones (CPP): ``{"id", "sentence", "index", "char", "pinyin": "le5"}``; used by the cpp task.

A malformed line is an error naming the file and line; nothing is skipped silently. Lines are
read as bytes with a bound (a runaway line is refused, not loaded whole) and decoded one at a time,
and gold syllables must be tone-numbered syllables of the inventory, as the metrics compare them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pinhan.errors import ConfigError, DataError
from pinhan.eval.metrics import normalize_syllable_label
from pinhan.pinyin import PinyinError, normalize_syllable

FORMAT_OF_TASK = {"p2h": "clauses", "h2p": "clauses", "gen": "clauses", "cpp": "polyphones"}
MAX_LINE_BYTES = 1 << 20  # one clause or sentence is a few hundred bytes; a longer line is not an item
ERHUA = "r5"  # the erhua 儿 as the HSK and CPP sets write it (pypinyin), outside the syllable inventory


@dataclass
class BenchSet:
    name: str  # the file's stem, e.g. pd1998-test
    path: Path
    format: str  # "clauses" or "polyphones"
    items: list[dict]
    lines: list[int] | None = None  # each item's line number in the file

    def where(self, index: int) -> str:
        """``path:line`` of item ``index``, for errors about it."""
        return f"{self.path}:{self.lines[index]}" if self.lines else f"{self.path} (item {index + 1})"


def read_set(path: str | Path, limit: int | None = None) -> BenchSet:
    """Read and validate a set file (all of it, or its first ``limit`` items)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"benchmark set {path} does not exist")
    items: list[dict] = []
    lines: list[int] = []
    fmt = None
    for number, line in _read_lines(path):
        if limit is not None and len(items) >= limit:
            break
        if not line.strip():
            continue
        item = _parse(line, f"{path}:{number}")
        line_format = _format(item, f"{path}:{number}")
        if fmt is not None and line_format != fmt:
            raise DataError(f"{path}:{number}: a {line_format} item in a set of {fmt} items")
        fmt = line_format
        items.append(item)
        lines.append(number)
    if not items:
        raise DataError(f"benchmark set {path} has no items")
    return BenchSet(path.stem.removesuffix(".jsonl"), path, fmt, items, lines)


def _read_lines(path: Path):
    """(line number, text) of each line, each decoded alone so that bad bytes name their line."""
    with path.open("rb") as handle:
        number = 0
        while raw := handle.readline(MAX_LINE_BYTES + 1):
            number += 1
            if len(raw) > MAX_LINE_BYTES:
                raise DataError(f"{path}:{number}: longer than {MAX_LINE_BYTES} bytes: not a set item")
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise DataError(f"{path}:{number}: not UTF-8 text (bad byte at column {err.start + 1})") from None


def _parse(line: str, where: str):
    try:
        return json.loads(line)
    except RecursionError:
        raise DataError(f"{where}: not valid JSON (nested too deeply)") from None
    except ValueError as err:  # JSONDecodeError, and the int() digit limit on huge numbers
        raise DataError(f"{where}: not valid JSON ({getattr(err, 'msg', err)})") from None


def _check_syllable(syllable: str, where: str) -> None:
    """A gold syllable as the metrics compare it: an inventory syllable, tone number 1-5."""
    if syllable == ERHUA:
        return
    try:
        canonical = normalize_syllable(syllable)
    except PinyinError:
        raise DataError(f"{where}: gold {syllable!r} is not a pinyin syllable") from None
    if not canonical[-1].isdigit():
        raise DataError(f"{where}: gold {syllable!r} has no tone (tone numbers 1-5, 5 for the neutral tone)")
    if normalize_syllable_label(syllable) != canonical:
        raise DataError(f"{where}: gold {syllable!r} would never match a prediction: write it as {canonical}")


def read_sets(paths: list[str | Path], limit: int | None = None) -> list[BenchSet]:
    """Every set read and checked, so that a bad one fails before a model is loaded."""
    if limit is not None and limit < 1:
        raise ConfigError("--limit must be at least 1")
    return [read_set(path, limit) for path in paths]


def check_task(bench: BenchSet, task: str) -> None:
    """A task needs the format it reads: say so when the set has the other one."""
    wanted = FORMAT_OF_TASK[task]
    if bench.format != wanted:
        raise DataError(f"task {task} reads {wanted} sets; {bench.path} holds {bench.format} items "
                        f"(use --task {'cpp' if bench.format == 'polyphones' else 'p2h, h2p or gen'})")


def default_task(bench: BenchSet) -> str:
    return "cpp" if bench.format == "polyphones" else "p2h"


def _format(item, where: str) -> str:
    if not isinstance(item, dict):
        raise DataError(f"{where}: an item must be a JSON object")
    if "sentence" in item:
        sentence, index, char, pinyin = (item.get(k) for k in ("sentence", "index", "char", "pinyin"))
        if not isinstance(sentence, str) or not isinstance(index, int) or not isinstance(pinyin, str) or not isinstance(char, str):
            raise DataError(f"{where}: a polyphone item needs sentence (text), index (int), char and pinyin (text)")
        if not 0 <= index < len(sentence) or sentence[index] != char:
            raise DataError(f"{where}: sentence[{index}] is not {char!r}")
        _check_syllable(pinyin, where)
        return "polyphones"
    hanzi, pinyin, context = item.get("hanzi"), item.get("pinyin"), item.get("context", "")
    if not isinstance(hanzi, str) or not hanzi or not isinstance(pinyin, list) or not all(isinstance(p, str) and p for p in pinyin):
        raise DataError(f"{where}: a clause item needs hanzi (text) and pinyin (a list of syllables)")
    if len(pinyin) != len(hanzi):
        raise DataError(f"{where}: {len(pinyin)} syllables for {len(hanzi)} hanzi")
    if not isinstance(context, str):
        raise DataError(f"{where}: context must be text")
    for syllable in pinyin:
        _check_syllable(syllable, where)
    return "clauses"
