"""Encoder inputs for inference: committed context text + what was typed, as model tensors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from pinhan.data.annotate import annotate
from pinhan.data.examples import PinyinTables
from pinhan.data.vocab import Vocab
from pinhan import ids


@dataclass
class P2HRequest:
    """One conversion: ``keys`` (L, 3) typed (initial, final, tone) ids, ``context`` text before it."""

    keys: np.ndarray
    context: str = ""


def toneless_keys(vocab: Vocab, syllables: list[str]) -> np.ndarray:
    """Keys for syllables typed in full without tones (the benchmarks' default input)."""
    keys = np.array([vocab.factors(s.rstrip("12345")) for s in syllables], dtype=np.int64).reshape(-1, 3)
    return keys


def path_keys(vocab: Vocab, path) -> np.ndarray | None:
    """Keys for one parser :class:`~pinhan.pinyin.Path`; None when it has pass-through segments
    (conversion of mixed input is the job of the full converter)."""
    keys = []
    for seg in path:
        if seg.kind == "passthrough":
            return None
        initial = vocab.initial_to_id.get(seg.initial, ids.UNKNOWN)
        final = vocab.final_to_id.get(seg.final, ids.UNKNOWN) if seg.kind == "syllable" else ids.UNKNOWN
        tone = vocab.tone_to_id.get(str(seg.tone), ids.UNKNOWN) if seg.tone else ids.UNKNOWN
        keys.append((initial, final, tone))
    return np.asarray(keys, dtype=np.int64).reshape(-1, 3)


def encode_p2h(requests: list[P2HRequest], vocab: Vocab, tables: PinyinTables, max_context: int) -> dict[str, torch.Tensor]:
    """Padded encoder batch: context positions (hanzi + toned pinyin known), then the typed target
    positions (hanzi masked). Context pinyin comes from pypinyin, as in training."""
    rows = []
    for req in requests:
        context = req.context[-max_context:] if max_context > 0 else ""
        ctx_chars = np.array([vocab.char_id(ch) for ch in context], dtype=np.int64)
        ctx_syl = np.array([vocab.syllable_id(s) for s in annotate(context)], dtype=np.int64)
        ctx_f = tables.factors[ctx_syl].reshape(-1, 3)  # (C, 3)
        L = len(req.keys)
        rows.append({
            "chars": np.concatenate([ctx_chars, np.full(L, ids.MASK)]),
            "initials": np.concatenate([ctx_f[:, 0], req.keys[:, 0]]),
            "finals": np.concatenate([ctx_f[:, 1], req.keys[:, 1]]),
            "tones": np.concatenate([ctx_f[:, 2], req.keys[:, 2]]),
            "segments": np.concatenate([np.full(len(context), ids.SEG_CONTEXT), np.full(L, ids.SEG_TARGET)]),
        })
    width = max(len(r["chars"]) for r in rows)
    batch = {}
    for key in ("chars", "initials", "finals", "tones", "segments"):
        out = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            out[i, : len(r[key])] = r[key]
        batch[key] = torch.from_numpy(out)
    batch["task"] = torch.full((len(rows),), ids.TASK_P2H, dtype=torch.long)
    return batch
