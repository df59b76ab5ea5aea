"""Binary token shards: memory-mapped numpy files, one pair (hanzi id, syllable id) per character.

Layout of a prepared split ``train``::

    shards/manifest.json            splits -> [{"name": "train-00000", "tokens": N, "docs": M}, ...]
    shards/train-00000.tok          N records of dtype [("char", <u2|<u4), ("syllable", <u2)]
    shards/train-00000.idx          M + 1 int64 document offsets into the .tok file (first is 0)

Readers memory-map the files, so a corpus larger than RAM trains without loading it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pinhan.errors import DataError

MANIFEST = "manifest.json"
SHARDS_FORMAT = "pinhan-shards"


def token_dtype(char_dtype: str) -> np.dtype:
    return np.dtype([("char", char_dtype), ("syllable", "<u2")])


def char_dtype_for(vocab_size: int) -> str:
    return "<u2" if vocab_size <= 1 << 16 else "<u4"


class ShardWriter:
    """Appends documents to ``{split}-NNNNN`` shard files, starting a new one past ``shard_tokens``."""

    def __init__(self, directory: Path, split: str, *, shard_tokens: int, char_dtype: str) -> None:
        self.directory = directory
        self.split = split
        self.shard_tokens = shard_tokens
        self.dtype = token_dtype(char_dtype)
        self.shards: list[dict] = []
        self._tok = None
        self._offsets: list[int] = []

    def _open_next(self) -> None:
        self._close_current()
        name = f"{self.split}-{len(self.shards):05d}"
        self.shards.append({"name": name, "tokens": 0, "docs": 0})
        self._tok = open(self.directory / f"{name}.tok", "wb")
        self._offsets = [0]

    def _close_current(self) -> None:
        if self._tok is None:
            return
        self._tok.close()
        np.asarray(self._offsets, dtype="<i8").tofile(self.directory / f"{self.shards[-1]['name']}.idx")
        self._tok = None

    def add(self, chars: np.ndarray, syllables: np.ndarray) -> None:
        """One document: equal-length id arrays. A document is never cut across shards."""
        if len(chars) != len(syllables):
            raise ValueError("chars and syllables must have the same length")
        if self._tok is None or (self.shards[-1]["tokens"] and self.shards[-1]["tokens"] + len(chars) > self.shard_tokens):
            self._open_next()
        record = np.empty(len(chars), dtype=self.dtype)
        record["char"] = chars
        record["syllable"] = syllables
        record.tofile(self._tok)
        current = self.shards[-1]
        current["tokens"] += len(chars)
        current["docs"] += 1
        self._offsets.append(current["tokens"])

    def close(self) -> list[dict]:
        self._close_current()
        return self.shards


def write_manifest(directory: Path, char_dtype: str, splits: dict[str, list[dict]]) -> None:
    data = {"format": SHARDS_FORMAT, "version": 1, "char_dtype": char_dtype, "splits": splits}
    (directory / MANIFEST).write_text(json.dumps(data, indent=1), encoding="utf-8")


@dataclass
class _Shard:
    tokens: np.memmap
    offsets: np.ndarray


class ShardedSplit:
    """Read-only view of one split: ``len()`` documents, ``doc(i)`` -> (chars, syllables) arrays."""

    def __init__(self, directory: str | Path, split: str) -> None:
        directory = Path(directory)
        try:
            manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"no shard manifest at {directory / MANIFEST}: is this a prepared data directory?") from None
        except (OSError, ValueError) as exc:
            raise DataError(f"{directory / MANIFEST} is not readable JSON: {exc}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != SHARDS_FORMAT:
            raise DataError(f"{directory / MANIFEST} is not a {SHARDS_FORMAT} manifest")
        if split not in manifest.get("splits", {}):
            raise DataError(f"{directory} has no split {split!r} (has: {', '.join(manifest.get('splits', {}))})")
        dtype = token_dtype(manifest["char_dtype"])
        self.shards: list[_Shard] = []
        for entry in manifest["splits"][split]:
            tok_path = directory / f"{entry['name']}.tok"
            idx_path = directory / f"{entry['name']}.idx"
            for path in (tok_path, idx_path):
                if not path.is_file():
                    raise DataError(f"shard file missing: {path}")
            if tok_path.stat().st_size != entry["tokens"] * dtype.itemsize:
                raise DataError(f"shard {tok_path} has {tok_path.stat().st_size} bytes, the manifest expects {entry['tokens']} tokens")
            offsets = np.fromfile(idx_path, dtype="<i8")
            if len(offsets) != entry["docs"] + 1 or offsets[-1] != entry["tokens"]:
                raise DataError(f"shard index {idx_path} does not match the manifest")
            tokens = np.memmap(tok_path, dtype=dtype, mode="r") if entry["tokens"] else np.empty(0, dtype=dtype)
            self.shards.append(_Shard(tokens, offsets))
        counts = [len(s.offsets) - 1 for s in self.shards]
        self._starts = np.cumsum([0] + counts)  # first document index of each shard
        self._token_starts = np.cumsum([0] + [int(s.offsets[-1]) for s in self.shards])
        self.num_tokens = int(self._token_starts[-1])

    def __len__(self) -> int:
        return int(self._starts[-1])

    def locate(self, token: int) -> tuple[int, int]:
        """Global token index -> (document index, offset inside it); sampling a token uniformly
        picks documents in proportion to their length."""
        if not 0 <= token < self.num_tokens:
            raise IndexError(f"token {token} out of range 0..{self.num_tokens - 1}")
        k = int(np.searchsorted(self._token_starts, token, side="right")) - 1
        local = token - int(self._token_starts[k])
        j = int(np.searchsorted(self.shards[k].offsets, local, side="right")) - 1
        return int(self._starts[k]) + j, local - int(self.shards[k].offsets[j])

    def doc(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= i < len(self):
            raise IndexError(f"document {i} out of range 0..{len(self) - 1}")
        k = int(np.searchsorted(self._starts, i, side="right")) - 1
        shard = self.shards[k]
        j = i - int(self._starts[k])
        record = shard.tokens[shard.offsets[j] : shard.offsets[j + 1]]
        return np.asarray(record["char"]), np.asarray(record["syllable"])
