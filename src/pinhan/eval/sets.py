"""Benchmark set files: read, validate line by line, tell their format.

Two formats (``../shared/bench/README.md``):

- clauses (p2h-style): ``{"id", "hanzi": "中国文化", "pinyin": ["zhong1", ...], "context": "..."}``,
  one syllable per hanzi; used by the p2h, h2p and gen tasks;
- polyphones (CPP): ``{"id", "sentence", "index", "char", "pinyin": "le5"}``; used by the cpp task.

A malformed line is an error naming the file and line; nothing is skipped silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pinhan.errors import ConfigError, DataError

FORMAT_OF_TASK = {"p2h": "clauses", "h2p": "clauses", "gen": "clauses", "cpp": "polyphones"}


@dataclass
class BenchSet:
    name: str  # the file's stem, e.g. pd1998-test
    path: Path
    format: str  # "clauses" or "polyphones"
    items: list[dict]


def read_set(path: str | Path, limit: int | None = None) -> BenchSet:
    """Read and validate a set file (all of it, or its first ``limit`` items)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"benchmark set {path} does not exist")
    items: list[dict] = []
    fmt = None
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if limit is not None and len(items) >= limit:
                break
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{path}:{number}: not valid JSON ({err.msg})") from None
            line_format = _format(item, f"{path}:{number}")
            if fmt is not None and line_format != fmt:
                raise DataError(f"{path}:{number}: a {line_format} item in a set of {fmt} items")
            fmt = line_format
            items.append(item)
    if not items:
        raise DataError(f"benchmark set {path} has no items")
    return BenchSet(path.stem.removesuffix(".jsonl"), path, fmt, items)


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
        return "polyphones"
    hanzi, pinyin, context = item.get("hanzi"), item.get("pinyin"), item.get("context", "")
    if not isinstance(hanzi, str) or not hanzi or not isinstance(pinyin, list) or not all(isinstance(p, str) and p for p in pinyin):
        raise DataError(f"{where}: a clause item needs hanzi (text) and pinyin (a list of syllables)")
    if len(pinyin) != len(hanzi):
        raise DataError(f"{where}: {len(pinyin)} syllables for {len(hanzi)} hanzi")
    if not isinstance(context, str):
        raise DataError(f"{where}: context must be text")
    return "clauses"
