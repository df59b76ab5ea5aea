"""Encoder inputs for inference, as numpy id arrays: committed context text, then the task's target
positions (p2h: typed pinyin, hanzi masked; h2p: hanzi, pinyin unknown; gen: none).

The layout is the training layout of ``pinhan.data.examples``: context positions carry hanzi and
toned pinyin (from pypinyin, as in training), target positions follow, segment ids tell them apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from pinhan import ids
from pinhan.data.annotate import annotate
from pinhan.data.tables import PinyinTables
from pinhan.data.vocab import Vocab

ROW_KEYS = ("chars", "initials", "finals", "tones", "segments")


@dataclass
class P2HRequest:
    """One conversion: ``keys`` (L, 3) typed (initial, final, tone) ids, ``context`` text before it."""

    keys: np.ndarray
    context: str = ""


def toneless_keys(vocab: Vocab, syllables: list[str]) -> np.ndarray:
    """Keys for syllables typed in full without tones (the benchmarks' default input)."""
    return np.array([vocab.factors(s.rstrip("12345")) for s in syllables], dtype=np.int64).reshape(-1, 3)


def segment_keys(vocab: Vocab, segments) -> np.ndarray:
    """Keys (L, 3) for parser segments that are syllables, abbreviations or partial syllables."""
    keys = []
    for seg in segments:
        initial = vocab.initial_to_id.get(seg.initial, ids.UNKNOWN)
        final = vocab.final_to_id.get(seg.final, ids.UNKNOWN) if seg.kind == "syllable" else ids.UNKNOWN
        tone = vocab.tone_to_id.get(str(seg.tone), ids.UNKNOWN) if seg.tone else ids.UNKNOWN
        keys.append((initial, final, tone))
    return np.asarray(keys, dtype=np.int64).reshape(-1, 3)


class ContextEncoder:
    """Context text -> (hanzi ids (C,), toned factors (C, 3)), memoised: an input method sends
    the same committed context with every keystroke, and pypinyin's phrase lookup is the costly
    part."""

    def __init__(self, vocab: Vocab, tables: PinyinTables, max_context: int, cache_size: int = 256,
                 annotator: Callable[[str], list[str | None]] = annotate) -> None:
        self.vocab, self.tables, self.max_context = vocab, tables, max_context
        self.annotator = annotator  # text -> toned syllables (a bundle passes its phrase table's, 7x faster)
        self._encode = lru_cache(maxsize=cache_size)(self._encode_uncached)

    def __call__(self, context: str) -> tuple[np.ndarray, np.ndarray]:
        return self._encode(context[-self.max_context:] if self.max_context > 0 else "")

    def _encode_uncached(self, context: str) -> tuple[np.ndarray, np.ndarray]:
        chars = np.array([self.vocab.char_id(ch) for ch in context], dtype=np.int64)
        syllables = np.array([self.vocab.syllable_id(s) for s in self.annotator(context)], dtype=np.int64)
        return chars, self.tables.factors[syllables].reshape(-1, 3)  # (C,), (C, 3)


def encoder_row(context: tuple[np.ndarray, np.ndarray], target_chars: np.ndarray, target_keys: np.ndarray) -> dict[str, np.ndarray]:
    """One unpadded encoder row: context positions, then target positions with the given hanzi
    ids (L,) and pinyin keys (L, 3)."""
    ctx_chars, ctx_f = context
    C, L = len(ctx_chars), len(target_chars)
    return {
        "chars": np.concatenate([ctx_chars, target_chars]),
        "initials": np.concatenate([ctx_f[:, 0], target_keys[:, 0]]),
        "finals": np.concatenate([ctx_f[:, 1], target_keys[:, 1]]),
        "tones": np.concatenate([ctx_f[:, 2], target_keys[:, 2]]),
        "segments": np.concatenate([np.full(C, ids.SEG_CONTEXT), np.full(L, ids.SEG_TARGET)]).astype(np.int64),
    }


def pad_rows(rows: list[dict[str, np.ndarray]], task: int) -> dict[str, np.ndarray]:
    """Right-pad rows to one (B, S) batch; padding is id 0 (segment PAD) everywhere."""
    width = max(1, max(len(r["chars"]) for r in rows))
    batch = {}
    for key in ROW_KEYS:
        out = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            out[i, : len(r[key])] = r[key]
        batch[key] = out
    batch["task"] = np.full(len(rows), task, dtype=np.int64)
    return batch


def positions_in(batch: dict[str, np.ndarray], rows, positions) -> tuple[np.ndarray, np.ndarray]:
    """``rows``, ``positions`` (N,) as int64 arrays, checked to name positions of the (B, S)
    ``batch`` (a ValueError naming the first that does not, rather than the backend's own)."""
    rows, positions = np.ascontiguousarray(rows, dtype=np.int64), np.ascontiguousarray(positions, dtype=np.int64)
    B, S = batch["chars"].shape
    if rows.shape != positions.shape or rows.ndim != 1:
        raise ValueError(f"rows {rows.shape} and positions {positions.shape} must be two (N,) arrays")
    bad = np.flatnonzero((rows < 0) | (rows >= B) | (positions < 0) | (positions >= S))
    if len(bad):
        i = int(bad[0])
        raise ValueError(f"position ({rows[i]}, {positions[i]}) is outside the batch of {B} rows of {S} positions")
    return rows, positions


def encode_p2h(requests: list[P2HRequest], vocab: Vocab, tables: PinyinTables, max_context: int,
               contexts: ContextEncoder | None = None) -> dict[str, np.ndarray]:
    """Padded p2h encoder batch: context, then the typed positions (hanzi masked)."""
    contexts = contexts or ContextEncoder(vocab, tables, max_context, cache_size=0)
    rows = [encoder_row(contexts(r.context), np.full(len(r.keys), ids.MASK, dtype=np.int64), r.keys) for r in requests]
    return pad_rows(rows, ids.TASK_P2H)


def encode_h2p(runs: list[np.ndarray], context_texts: list[str], contexts: ContextEncoder) -> dict[str, np.ndarray]:
    """Padded h2p encoder batch: context, then the hanzi ids of each run with pinyin unknown."""
    rows = []
    for chars, context in zip(runs, context_texts):
        unknown = np.full((len(chars), 3), ids.UNKNOWN, dtype=np.int64)
        rows.append(encoder_row(contexts(context), chars, unknown))
    return pad_rows(rows, ids.TASK_H2P)


def encode_gen(prefixes: list[str], contexts: ContextEncoder) -> dict[str, np.ndarray]:
    """Padded gen encoder batch: the prefix as context, no target positions."""
    empty_chars, empty_keys = np.zeros(0, dtype=np.int64), np.zeros((0, 3), dtype=np.int64)
    return pad_rows([encoder_row(contexts(p), empty_chars, empty_keys) for p in prefixes], ids.TASK_GEN)
