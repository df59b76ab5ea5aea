"""``pinhan prepare``: sources -> cleaned, annotated, split, encoded data directory.

Run: ``pinhan prepare bundled --out data/bundled`` (or files, directories, globs of text/JSONL).

Two streaming passes keep memory bounded by the vocabulary and the dev/test clauses, not by the
corpus: pass 1 cleans and annotates lines (in worker processes, results kept in input order so
the output does not depend on the worker count), de-duplicates and splits them, counts train
characters and writes annotated lines to temporary per-split files; pass 2 builds the vocabulary
and lexicon from the train counts and encodes every split into memory-mapped shards, while
finding the dev/test clauses that also occur in train. Everything is built in a temporary
directory that replaces the output only when complete.
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import json
import multiprocessing
import os
import shutil
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from tqdm import tqdm

from pinhan.config import to_mapping
from pinhan.data.annotate import annotate, is_hanzi
from pinhan.data.clauses import OverlapFilter, clause_spans
from pinhan.data.clean import Cleaner
from pinhan.data.config import PrepareConfig
from pinhan.data.heldout import HeldoutRule
from pinhan.data.shards import ShardWriter, char_dtype_for, write_manifest
from pinhan.data.sources import RawLine, resolve_all, read
from pinhan.data.staging import staging_dir, sweep_stale
from pinhan.data.vocab import SPECIALS, UNK, Lexicon, Vocab, build_lexicon, build_vocab
from pinhan.errors import DataError

SPLITS = ("train", "dev", "test")
SKIP_REASONS = ("invalid_utf8", "invalid_json", "json_too_deep", "missing_field", "bad_label", "empty", "no_hanzi",
                "too_long", "heldout", "duplicate")
REPORT_FILE = "prepare_report.json"
CHUNK_CHARS = 1 << 22  # text per chunk sent to a worker, at most (plus one line)


class LineProcessor:
    """Clean + annotate one raw line; returns (reject reason or None, text, syllables)."""

    def __init__(self, config: PrepareConfig, known_syllables: frozenset[str]) -> None:
        self.clean = Cleaner(config.traditional_to_simplified)
        self.max_chars = config.max_line_chars
        self.known = known_syllables
        self.heldout_path = config.heldout
        self._rule: HeldoutRule | None = None  # loaded at the first line of a named corpus

    def __call__(self, line: RawLine) -> tuple[str | None, str, list[str | None]]:
        if line.reject is not None:
            return line.reject, "", []
        text = self.clean(line.text or "")
        if not text:
            return "empty", "", []
        if len(text) > self.max_chars:
            return "too_long", "", []
        if not any(is_hanzi(ch) for ch in text):
            return "no_hanzi", "", []
        if line.heldout:
            self._rule = self._rule or HeldoutRule(self.heldout_path)
            if self._rule.hits(text):
                return "heldout", "", []
        syllables = annotate(text, self.known)
        raw = line.text or ""
        for at, syllable in line.labels:
            # A gold reading replaces pypinyin's. Cleaning may shorten the text before it (folded
            # spaces, dropped control characters): its index is that of the labelled character in
            # the cleaned prefix that ends with it. It must still be that character and the reading
            # a syllable of the inventory, else the line is rejected (counted).
            new_at = len(self.clean(raw[: at + 1])) - 1
            if not 0 <= new_at < len(text) or text[new_at] != self.clean(raw[at]) or syllable not in self.known:
                return "bad_label", "", []
            syllables[new_at] = syllable
        return None, text, syllables


# Each worker process builds its own LineProcessor once (the OpenCC converter is not picklable);
# this module-level slot exists only inside pool workers.
_worker_processor: LineProcessor | None = None
_worker_parent = 0


def _init_worker(config: PrepareConfig, known: frozenset[str]) -> None:
    global _worker_processor, _worker_parent
    # Ctrl-C reaches the whole process group: the parent alone handles it (and ends the pool).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_parent = os.getppid()
    _die_with_parent(_worker_parent)
    _worker_processor = LineProcessor(config, known)


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this worker when its parent dies (Linux), so that a parent killed with
    -9 leaves no orphans writing BrokenPipeError tracebacks. Ending quietly on SIGPIPE instead would
    not do: a worker killed inside ``put`` holds the result queue's lock, and the others would wait
    for it forever. Elsewhere ``_process_chunk`` checks the parent after each chunk."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux
        pass
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(0)


def _process_chunk(chunk: list[RawLine]) -> list[tuple[str | None, str, list[str | None]]]:
    assert _worker_processor is not None
    results = [_worker_processor(line) for line in chunk]
    if os.getppid() != _worker_parent:  # orphaned: nobody will read the result
        os._exit(0)
    return results


def _chunks(items: Iterable[RawLine], size: int, max_chars: int = CHUNK_CHARS) -> Iterator[list[RawLine]]:
    """Lists of up to ``size`` lines, cut early once they hold ``max_chars`` characters: lines
    may each be up to ``max_line_bytes`` long, and several chunks are in flight at once."""
    chunk: list[RawLine] = []
    chars = 0
    for line in items:
        chunk.append(line)
        chars += len(line.text or "")
        if len(chunk) >= size or chars >= max_chars:
            yield chunk
            chunk, chars = [], 0
    if chunk:
        yield chunk


def _ordered_results(pool, chunks: Iterator[list[RawLine]], in_flight: int):
    """(results, chunk) pairs in input order with at most ``in_flight`` chunks queued.

    ``Pool.imap`` would read the whole input ahead of the workers; this keeps memory bounded.
    """
    queue: collections.deque = collections.deque()
    for chunk in chunks:
        queue.append((pool.apply_async(_process_chunk, (chunk,)), chunk))
        if len(queue) >= in_flight:
            pending, oldest = queue.popleft()
            yield pending.get(), oldest
    while queue:
        pending, oldest = queue.popleft()
        yield pending.get(), oldest


def hash_split(text: str, dev_ratio: float, test_ratio: float) -> str:
    """Stable split of a user-corpus line by a hash of its cleaned text (identical lines agree)."""
    u = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big") / 2.0**64
    if u < test_ratio:
        return "test"
    if u < test_ratio + dev_ratio:
        return "dev"
    return "train"


def weight_copies(text: str, weight: float) -> int:
    """Copies of a train line under mixture weight ``weight``: ``floor(weight)``, plus one when a
    stable hash of the text falls below the fraction (independent of the split hash)."""
    whole = int(weight)
    u = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8, person=b"weight").digest(), "big") / 2.0**64
    return whole + (1 if u < weight - whole else 0)


def _line_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).digest()


def prepare(config: PrepareConfig, out: str | Path, *, overwrite: bool = False, progress: bool = True) -> dict:
    """Prepare ``config.sources`` into directory ``out`` and return the report (also saved there)."""
    out = Path(out)
    swept = sweep_stale(out)  # first: it may put back an output that a killed run had moved aside
    if out.exists() and not overwrite:
        raise DataError(f"output directory {out} already exists; pass --overwrite to replace it")
    if out.exists() and not out.is_dir():
        raise DataError(f"output path {out} exists and is not a directory")
    files = resolve_all(config.sources, config.sources_cache)  # a missing source fails here, before any work
    if any(f.kind == "corpus" for f in files):
        HeldoutRule(config.heldout)  # a missing held-out list fails here too
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = staging_dir(out, "tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        report = {**_build(config, files, tmp, progress), "swept": swept}
        (tmp / REPORT_FILE).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        if out.exists():
            old = staging_dir(out, "old")
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return report


@dataclass
class _Counts:
    """What pass 1 counts while it writes the annotated lines of each split."""

    skipped: Counter[str] = field(default_factory=lambda: Counter({reason: 0 for reason in SKIP_REASONS}))
    split_lines: Counter[str] = field(default_factory=Counter)
    seen: dict[str, set[bytes]] = field(default_factory=lambda: {split: set() for split in SPLITS})
    char_counts: Counter[str] = field(default_factory=Counter)  # train only, for the vocabulary
    pair_counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (syllable, hanzi) in train
    no_reading: int = 0
    lines_read: int = 0
    labels_applied: int = 0
    # source name -> read / kept / hanzi (kept lines) / each skip reason / train_copies (written
    # under its weight) / weighted_out (train lines a weight below 1 left out)
    per_source: dict[str, Counter[str]] = field(default_factory=lambda: collections.defaultdict(Counter))

    def add(self, config: PrepareConfig, line: RawLine, result: tuple[str | None, str, list[str | None]]) \
            -> tuple[str, int] | None:
        """Count one processed line; the split it goes to and how many copies to write (more than
        one, or none, only for a weighted train line), or None when it is skipped."""
        reject, text, syllables = result
        self.lines_read += 1
        source = self.per_source[line.source]
        source["read"] += 1
        if reject is not None:
            self.skipped[reject] += 1
            source[reject] += 1
            return None
        split = line.split or hash_split(text, config.dev_ratio, config.test_ratio)
        key = _line_key(text)
        if key in self.seen[split]:
            self.skipped["duplicate"] += 1
            source["duplicate"] += 1
            return None
        self.seen[split].add(key)
        self.split_lines[split] += 1
        source["kept"] += 1
        source["hanzi"] += sum(1 for ch in text if is_hanzi(ch))
        self.labels_applied += len(line.labels)
        self.no_reading += sum(1 for ch, s in zip(text, syllables) if s is None and is_hanzi(ch))
        copies = 1
        if split == "train":
            copies = weight_copies(text, config.weights[line.source]) if line.source in config.weights else 1
            source["train_copies"] += copies
            source["weighted_out"] += copies == 0
            for _ in range(copies):
                self.char_counts.update(text)
                self.pair_counts.update((s, ch) for ch, s in zip(text, syllables) if s is not None)
        return split, copies


def _build(config: PrepareConfig, files, tmp: Path, progress: bool) -> dict:
    started = time.perf_counter()
    vocab_template = Vocab(chars=list(SPECIALS))  # the fixed syllable inventory
    known = frozenset(vocab_template.syllables[len(SPECIALS):])
    counts = _annotate(config, files, tmp, known, progress)
    if counts.split_lines["train"] == 0:
        raise DataError(f"no usable train lines in {', '.join(config.sources)} (skipped: {dict(counts.skipped)})")

    vocab = build_vocab(counts.char_counts, vocab_size=config.vocab_size, min_count=config.min_count,
                        extra_charset=config.extra_charset)
    lexicon = build_lexicon(counts.pair_counts, vocab)
    vocab.save(tmp / "vocab.json")
    lexicon.save(tmp / "lexicon.json")

    encoded = _encode_splits(config, vocab, tmp, progress)
    for split in SPLITS:
        (tmp / f"_annotated-{split}.tsv").unlink()
    return _report(config, files, counts, vocab, lexicon, encoded, time.perf_counter() - started)


def _annotate(config: PrepareConfig, files, tmp: Path, known: frozenset[str], progress: bool) -> _Counts:
    """Pass 1: clean and annotate every line (in worker processes, in input order), split and
    de-duplicate it, and write the kept ones to ``_annotated-<split>.tsv``."""
    counts = _Counts()
    annotated = {split: open(tmp / f"_annotated-{split}.tsv", "w", encoding="utf-8") for split in SPLITS}
    raw = itertools.chain.from_iterable(read(f, config.text_field, config.max_line_bytes) for f in files)
    workers = config.workers or os.cpu_count() or 1
    bar = tqdm(desc="prepare: clean + annotate", unit=" lines", disable=not progress, mininterval=0.5)
    pool = None
    try:
        chunks = _chunks(raw, config.chunk_lines)
        if workers == 1:
            processor = LineProcessor(config, known)
            results = (([processor(line) for line in chunk], chunk) for chunk in chunks)
        else:
            pool = multiprocessing.get_context().Pool(workers, initializer=_init_worker, initargs=(config, known))
            results = _ordered_results(pool, chunks, in_flight=2 * workers)
        for processed, chunk in results:
            for line, result in zip(chunk, processed):
                placed = counts.add(config, line, result)
                if placed is not None:
                    (split, copies), (_reject, text, syllables) = placed, result
                    annotated[split].write(f"{line.source}\t{line.index}\t{text}\t{' '.join(s or '-' for s in syllables)}\n" * copies)
            bar.update(len(chunk))
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
        for fh in annotated.values():
            fh.close()
    return counts


def _report(config: PrepareConfig, files, counts: _Counts, vocab: Vocab, lexicon: Lexicon, encoded: dict,
            seconds: float) -> dict:
    """The prepare report (``prepare_report.json``), from both passes' counts."""
    splits = encoded["splits"]
    total_chars = sum(s["chars"] for s in splits.values())
    unique_hanzi = {ch for ch in counts.char_counts if is_hanzi(ch)}
    return {
        "sources": [f.name for f in files],
        "config": to_mapping(config),
        "lines_read": counts.lines_read,
        "lines_kept": sum(counts.split_lines.values()),
        "skipped": dict(counts.skipped),
        "per_source": {name: dict(c) for name, c in counts.per_source.items()},
        "splits": splits,
        "characters": total_chars,
        "hanzi": sum(s["hanzi"] for s in splits.values()),
        "unique_hanzi_train": len(unique_hanzi),
        "hanzi_without_reading": counts.no_reading,
        "gold_readings": counts.labels_applied,
        "oov_rate": {split: splits[split]["oov_hanzi"] / max(splits[split]["hanzi"], 1) for split in ("dev", "test")},
        "vocab": {"chars": len(vocab.chars), "syllables": len(vocab.syllables)},
        "lexicon_syllables": len(lexicon.entries),
        "lexicon_pairs": sum(len(v) for v in lexicon.entries.values()),
        "clauses": encoded["clauses"],
        "seconds": round(seconds, 2),
        "chars_per_second": round(total_chars / seconds) if seconds > 0 else None,
    }


def format_report(report: dict) -> str:
    """The prepare report as a few human-readable lines (what ``pinhan prepare`` prints)."""
    skipped = ", ".join(f"{k} {v:,}" for k, v in report["skipped"].items() if v) or "none"
    lines = [
        f"sources: {', '.join(report['sources'])}",
        f"lines: {report['lines_read']:,} read, {report['lines_kept']:,} kept; skipped: {skipped}",
        f"characters: {report['characters']:,} ({report['hanzi']:,} hanzi, {report['unique_hanzi_train']:,} distinct in train, "
        f"{report['hanzi_without_reading']:,} without a reading)",
        f"vocabulary: {report['vocab']['chars']:,} characters, {report['vocab']['syllables']:,} syllables; "
        f"lexicon {report['lexicon_pairs']:,} syllable-hanzi pairs",
    ]
    for name, c in (report.get("per_source") or {}).items():
        lines.append(f"  {name}: {c.get('read', 0):,} read, {c.get('kept', 0):,} kept ({c.get('hanzi', 0):,} hanzi), "
                     f"{c.get('heldout', 0):,} held out, {c.get('duplicate', 0):,} duplicates, "
                     f"{c.get('train_copies', 0):,} train lines written")
    for split, s in report["splits"].items():
        lines.append(f"  {split:5s}: {s['lines']:>8,} lines {s['chars']:>11,} chars {s['hanzi']:>11,} hanzi")
    for split, c in report["clauses"].items():
        lines.append(f"  {split} clauses: {c['kept']:,} kept, {c['in_train']:,} left out (also in train), {c['repeated']:,} repeats")
    oov = ", ".join(f"{k} {v:.4%}" for k, v in report["oov_rate"].items())
    lines.append(f"OOV hanzi: {oov}")
    lines.append(f"time: {report['seconds']:.1f} s ({report['chars_per_second'] or 0:,} chars/s)")
    swept = report.get("swept") or {}
    if swept.get("removed"):
        lines.append(f"removed {swept['removed']:,} temporary director{'y' if swept['removed'] == 1 else 'ies'} of killed runs")
    if swept.get("restored"):
        lines.append("restored the previous output, which a killed run had moved aside")
    return "\n".join(lines)


def _read_annotated(path: Path) -> Iterator[tuple[str, str, str, list[str | None]]]:
    with open(path, encoding="utf-8") as fh:
        for row in fh:
            source, index, text, syllables = row.rstrip("\n").split("\t")
            yield source, index, text, [None if s == "-" else s for s in syllables.split(" ")]


def _encode_splits(config: PrepareConfig, vocab: Vocab, tmp: Path, progress: bool) -> dict:
    """Pass 2: shards for every split, and dev/test clause files without train overlap."""
    shard_dir = tmp / "shards"
    shard_dir.mkdir()
    char_dtype = char_dtype_for(len(vocab.chars))
    clause_items: dict[str, list[dict]] = {"dev": [], "test": []}
    duplicates: Counter[str] = Counter()
    for split in clause_items:
        in_set: set[str] = set()
        for source, index, text, syllables in _read_annotated(tmp / f"_annotated-{split}.tsv"):
            for start, end in clause_spans(text, syllables, config.clause_min, config.clause_max):
                hanzi = text[start:end]
                if hanzi in in_set:
                    duplicates[split] += 1
                    continue
                in_set.add(hanzi)
                clause_items[split].append(
                    {"id": f"{source}-{index}-{start}", "hanzi": hanzi, "context": text[:start], "pinyin": syllables[start:end]}
                )
    overlap = OverlapFilter((item["hanzi"] for items in clause_items.values() for item in items), config.clause_min)

    manifest: dict[str, list[dict]] = {}
    stats: dict[str, dict] = {}
    for split in SPLITS:
        writer = ShardWriter(shard_dir, split, shard_tokens=config.shard_tokens, char_dtype=char_dtype)
        lines = chars = hanzi = oov = unk = 0
        rows = _read_annotated(tmp / f"_annotated-{split}.tsv")
        for _source, _index, text, syllables in tqdm(rows, desc=f"prepare: encode {split}", unit=" lines", disable=not progress, mininterval=0.5):
            char_ids = np.fromiter((vocab.char_to_id.get(ch, UNK) for ch in text), dtype=np.int64, count=len(text))
            syllable_ids = np.fromiter((vocab.syllable_id(s) for s in syllables), dtype=np.int64, count=len(syllables))
            writer.add(char_ids, syllable_ids)
            if split == "train":
                overlap.scan(text)
            lines += 1
            chars += len(text)
            unk += int((char_ids == UNK).sum())
            line_hanzi = [ch for ch in text if is_hanzi(ch)]
            hanzi += len(line_hanzi)
            oov += sum(1 for ch in line_hanzi if ch not in vocab.char_to_id)
        manifest[split] = writer.close()
        stats[split] = {"lines": lines, "chars": chars, "hanzi": hanzi, "unk_chars": unk, "oov_hanzi": oov}
    write_manifest(shard_dir, char_dtype, manifest)

    clause_stats = {}
    for split, items in clause_items.items():
        kept = [item for item in items if item["hanzi"] not in overlap.found]
        with open(tmp / f"{split}.jsonl", "w", encoding="utf-8") as fh:
            for item in kept:
                fh.write(json.dumps(item, ensure_ascii=False) + "\n")
        clause_stats[split] = {
            "kept": len(kept),
            "in_train": len(items) - len(kept),
            "repeated": duplicates[split],
        }
    return {"splits": stats, "clauses": clause_stats}
