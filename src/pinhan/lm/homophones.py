"""The homophone chooser: which of the hanzi that share a syllable fits here, read from both sides.

The lattice's word trigram sees the two words before a character and the decoder reads left to
right, so when the conversion chooses between 他 / 她 / 它, 的 / 得, 在 / 再 or 是 / 时 / 事 neither
looks at what follows the character inside the clause (它的屏幕 reads 它 from 屏幕), nor at the
topic of the text before the clause beyond the trigram's reach. This model does both, cheaply:
a linear classifier over hashed features of the characters around a position (fastText style),
one softmax per toneless syllable over the hanzi that syllable is most often written with::

    h = mean(E[f] for f in features(position))          (d,)
    score(c) = [h, 1] . O[syllable, c]                   for c in the syllable's set

The features (:func:`features`) are the characters at offsets -1..-3 and +1..+3 (the right side
stops at the clause's end, the left side reads into the context), the bigrams and trigrams they
form, a bag of the characters within 8 either side, and a bag of the 16 before those (the topic).
Accurate conversion adds ``weight * Σ log p(c_i | both sides)`` over a candidate's characters to
its score (a pseudo log-likelihood; a character outside its syllable's set counts ``floor``).

The file (``homophones.safetensors`` in a model directory) describes itself: its metadata holds
``format``, ``version``, the feature sizes, the sets' syllables, the weight chosen on dev clauses
and the recipe. ``E`` is stored as int8 rows with one float16 scale each. Inference is numpy only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pinhan.errors import DataError

FORMAT = "pinhan-homophones"
VERSION = 1
BOS, END = 1, 2  # the codepoint stand-ins for "before the line" and "after the clause"
TENSORS = ("embeddings", "scales", "output", "set_offsets", "set_chars")
_MULT = np.uint64(0x100000001B3)
_SHIFT = np.uint64(29)


@dataclass(frozen=True)
class HomophoneFeatures:
    """The feature layout; training and inference must agree, so a file stores it.

    Args:
        buckets: rows of the hashed feature table (row 0 is padding: no feature).
        window: characters each side whose bag is one feature group (positions -1..-3, +1..+3
            are also features of their own).
        far: characters before the window whose bag is another group (the topic of the text).
    """

    buckets: int = 1 << 18
    window: int = 8
    far: int = 16

    def __post_init__(self) -> None:
        if self.buckets < 2 or self.window < 3 or self.far < 0:
            raise DataError(f"homophone features: buckets >= 2, window >= 3, far >= 0, got {asdict(self)}")

    @property
    def width(self) -> int:
        """Features per position: 12 fixed, two per window offset, one per far offset."""
        return 12 + 2 * self.window + self.far


def is_hanzi(codepoints: np.ndarray) -> np.ndarray:
    """(T,) bool: CJK unified ideographs (the basic block and extension A)."""
    return ((codepoints >= 0x4E00) & (codepoints <= 0x9FFF)) | ((codepoints >= 0x3400) & (codepoints <= 0x4DBF))


def _hash(kinds: np.ndarray | int, buckets: int, *columns: np.ndarray) -> np.ndarray:
    """Features' rows, 1..buckets-1, from their kinds and their characters: each column (N, ...)
    holds one character of every feature; ``kinds`` broadcasts against them (a kind per column of
    a stacked block, or one for all)."""
    seeds = (np.asarray(kinds, dtype=np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)  # wraps
    h = np.broadcast_to(seeds, columns[0].shape).copy()
    for column in columns:
        h = (h ^ column.astype(np.uint64)) * _MULT  # wraps modulo 2**64, as FNV does
        h ^= h >> _SHIFT
    return (h % np.uint64(buckets - 1) + np.uint64(1)).astype(np.int64)


def features(codepoints: np.ndarray, line_start: np.ndarray, run_end: np.ndarray, positions: np.ndarray,
             layout: HomophoneFeatures) -> np.ndarray:
    """Hashed feature rows of each position: (N, layout.width) int64, 0 where a bag runs out.

    Args:
        codepoints: (T,) the text's characters as codepoints (several lines may be concatenated).
        line_start: (T,) index of each position's line's first character (the left side stops there).
        run_end: (T,) index after the last hanzi of each position's run (the right side stops
            there: at conversion time nothing after the clause is typed yet).
        positions: (N,) the positions to describe.

    Columns: L1, L2, L3, R1, R2, R3 (the characters at those offsets), L2L1, R1R2, L1R1, L3L2L1,
    R1R2R3, a bias; then L_k and R_k for k = 1..window (one kind: a bag), then L_k for the ``far``
    offsets after the window (another bag). All in a few numpy operations on (N, ...) blocks:
    conversion calls this for every read path's characters.
    """
    with np.errstate(over="ignore"):
        w, b = layout.window, layout.buckets
        left_at = positions[:, None] - np.arange(1, w + layout.far + 1)  # (N, w + far)
        right_at = positions[:, None] + np.arange(1, w + 1)  # (N, w)
        lefts = np.where(left_at >= line_start[positions][:, None], codepoints[np.maximum(left_at, 0)], BOS)
        rights = np.where(right_at < run_end[positions][:, None],
                          codepoints[np.minimum(right_at, len(codepoints) - 1)], END)
        l1, l2, l3, r1, r2, r3 = lefts[:, 0], lefts[:, 1], lefts[:, 2], rights[:, 0], rights[:, 1], rights[:, 2]
        singles = _hash(np.arange(6), b, np.concatenate([lefts[:, :3], rights[:, :3]], axis=1))  # (N, 6)
        pairs = _hash(np.arange(6, 9), b, np.stack([l2, r1, l1], 1), np.stack([l1, r2, r1], 1))  # (N, 3)
        triples = _hash(np.arange(9, 11), b, np.stack([l3, r1], 1), np.stack([l2, r2], 1), np.stack([l1, r3], 1))
        bias = _hash(11, b, np.zeros((len(positions), 1), dtype=np.int64))  # (N, 1): every position has it
        near = np.stack([lefts[:, :w], rights], axis=2)  # (N, w, 2): L1, R1, L2, R2, ...
        missing = np.stack([lefts[:, :w] == BOS, rights == END], axis=2)  # (N, w, 2): before the line, after the clause
        window = np.where(missing, 0, _hash(12, b, near)).reshape(len(positions), 2 * w)
        beyond = lefts[:, w:]
        far = np.where(beyond == BOS, 0, _hash(13, b, beyond))  # (N, far)
        return np.concatenate([singles, pairs, triples, bias, window, far], axis=1)


def line_layout(codepoints: np.ndarray, separator: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(line_start, run_end) of every position of concatenated lines (``separator`` between them)."""
    index = np.arange(len(codepoints))
    line_start = np.maximum.accumulate(np.where(codepoints == separator, index, -1)) + 1
    not_hanzi = np.where(is_hanzi(codepoints), len(codepoints), index)
    run_end = np.minimum.accumulate(not_hanzi[::-1])[::-1]
    return line_start, run_end


class HomophoneModel:
    """A trained chooser: the hashed feature table, one output row per (syllable, hanzi) pair.

    Args:
        layout: the feature layout it was trained with.
        embeddings: (buckets, d) int8 feature rows; ``scales`` (buckets,) their float scales.
        output: (pairs, d + 1) float output rows (the last column is the pair's bias).
        syllables: the toneless syllables that have a set, in set order.
        set_offsets: (S + 1,) int where each syllable's pairs start in ``output`` / ``set_chars``.
        set_chars: (pairs,) int codepoint of each pair's hanzi, most frequent first within a set.
        info: the weight chosen on dev (``weight``), ``floor`` and the recipe.
    """

    def __init__(self, layout: HomophoneFeatures, embeddings: np.ndarray, scales: np.ndarray, output: np.ndarray,
                 syllables: Sequence[str], set_offsets: np.ndarray, set_chars: np.ndarray, info: dict | None = None) -> None:
        self.layout = layout
        self.embeddings, self.scales = embeddings, scales.astype(np.float32)
        self.output = output.astype(np.float32)
        self.syllables = list(syllables)
        self.set_offsets, self.set_chars = set_offsets.astype(np.int64), set_chars.astype(np.int64)
        self.info = dict(info or {})
        self._table: np.ndarray | None = None
        self._check()
        self.set_of = {s: i for i, s in enumerate(self.syllables)}
        # (syllable index, codepoint) -> the pair's row
        self._pair = {(s, int(c)): int(self.set_offsets[s]) + j for s in range(len(self.syllables))
                      for j, c in enumerate(self.set_chars[self.set_offsets[s]:self.set_offsets[s + 1]])}
        sizes = np.diff(self.set_offsets)
        self._members = np.full((len(self.syllables), int(sizes.max()) if len(sizes) else 1), -1, dtype=np.int64)
        for s, (start, size) in enumerate(zip(self.set_offsets[:-1], sizes)):
            self._members[s, :size] = np.arange(start, start + size)  # (S, K) pair rows, -1 padded

    def _check(self) -> None:
        b, d = self.embeddings.shape if self.embeddings.ndim == 2 else (0, 0)
        if (b != self.layout.buckets or self.scales.shape != (b,) or self.output.ndim != 2 or self.output.shape[1] != d + 1
                or self.set_offsets.shape != (len(self.syllables) + 1,) or self.set_offsets[0] != 0
                or np.any(np.diff(self.set_offsets) < 1) or self.set_offsets[-1] != len(self.set_chars)
                or len(self.set_chars) != self.output.shape[0]):
            raise DataError("homophone model: its arrays do not fit together (a damaged file?)")

    @property
    def weight(self) -> float:
        return float(self.info.get("weight", 0.0))

    @property
    def floor(self) -> float:
        """What a hanzi outside its syllable's set counts (a rare hanzi: log of about 1/1000)."""
        return float(self.info.get("floor", -7.0))

    def log_probs(self, context: str, texts: Sequence[str], syllables: Sequence[Sequence[str | None]]) -> list[np.ndarray]:
        """Per text, (len(text),) log p(hanzi | both sides) of each of its characters, read after
        ``context``; ``syllables[i][j]`` is the (toned or toneless) syllable text ``i``'s
        character ``j`` was typed as. 0 where there is no choice (no syllable, or a set of one),
        ``floor`` for a hanzi outside its syllable's set. One numpy pass for all texts."""
        prefix = np.array([ord(ch) for ch in context], dtype=np.int64)
        lines, rows, sets, columns, where = [], [], [], [], []
        out = [np.zeros(len(text), dtype=np.float32) for text in texts]
        offset = 0
        for i, (text, sylls) in enumerate(zip(texts, syllables)):
            if len(sylls) != len(text):
                raise DataError(f"homophone model: {len(sylls)} syllables for {len(text)} characters ({text!r})")
            # each line ends in a separator (0, not hanzi): the right side stops there
            line = np.concatenate([prefix, np.array([ord(ch) for ch in text] + [0], dtype=np.int64)])
            lines.append(line)
            for j, (ch, syllable) in enumerate(zip(text, sylls)):
                s = self.set_of.get(syllable.rstrip("012345")) if syllable else None
                if s is None:
                    continue
                pair = self._pair.get((s, ord(ch)))
                if pair is None:
                    out[i][j] = self.floor
                    continue
                rows.append(offset + len(prefix) + j)
                sets.append(s)
                columns.append(pair - int(self.set_offsets[s]))  # the hanzi's place in its set
                where.append((i, j))
            offset += len(line)
        if not rows:
            return out
        codepoints = np.concatenate(lines)
        line_start, run_end = line_layout(codepoints)  # the separators end each line
        feats = features(codepoints, line_start, run_end, np.array(rows, dtype=np.int64), self.layout)  # (N, F)
        hidden = self._hidden(feats)  # (N, d + 1)
        members = self._members[sets]  # (N, K)
        scores = np.einsum("nd,nkd->nk", hidden, self.output[np.maximum(members, 0)])  # (N, K)
        scores = np.where(members >= 0, scores, -np.inf)
        top = scores.max(axis=1, keepdims=True)
        log_z = top[:, 0] + np.log(np.exp(scores - top).sum(axis=1))  # (N,)
        picked = scores[np.arange(len(columns)), columns]  # (N,)
        for (i, j), value in zip(where, picked - log_z):
            out[i][j] = value
        return out

    def scores(self, context: str, texts: Sequence[str], syllables: Sequence[Sequence[str | None]]) -> list[float]:
        """Summed :meth:`log_probs` of each text."""
        return [float(v.sum()) for v in self.log_probs(context, texts, syllables)]

    def _hidden(self, feats: np.ndarray) -> np.ndarray:
        """(N, F) feature rows -> (N, d + 1): the mean of their embeddings, then a 1."""
        if self._table is None:  # dequantized once (buckets x d float32: 29 MB for the default's)
            self._table = self.embeddings.astype(np.float32) * self.scales[:, None]
            self._table[0] = 0.0  # row 0: no feature
        present = np.maximum((feats > 0).sum(axis=1, keepdims=True), 1)  # (N, 1)
        mean = self._table[feats].sum(axis=1) / present  # (N, d)
        return np.concatenate([mean, np.ones((len(mean), 1), dtype=np.float32)], axis=1)

    # --- files --------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write one safetensors file, atomically (a temporary name, then a rename)."""
        from pinhan.lm.ngram import _write

        tensors = {"embeddings": self.embeddings.astype(np.int8), "scales": self.scales.astype(np.float16),
                   "output": self.output.astype(np.float16), "set_offsets": self.set_offsets.astype(np.int32),
                   "set_chars": self.set_chars.astype(np.int32)}
        meta = {"format": FORMAT, "version": VERSION, "layout": asdict(self.layout), "syllables": self.syllables,
                "info": self.info}
        _write(path, tensors, meta)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> HomophoneModel:
        """Read a file :meth:`save` wrote; a file that is not one (or is damaged) is a DataError
        naming it."""
        from safetensors import SafetensorError
        from safetensors.numpy import load_file, safe_open

        path = Path(path)
        try:
            with safe_open(str(path), framework="numpy") as f:
                meta = json.loads((f.metadata() or {}).get("pinhan", "{}"))
            if meta.get("format") != FORMAT:
                raise DataError(f"{path}: not a pinhan homophone model (format {meta.get('format')!r}, expected {FORMAT})")
            if meta.get("version") != VERSION:
                raise DataError(f"{path}: homophone model version {meta.get('version')!r}; this pinhan reads {VERSION}")
            tensors = load_file(str(path))
            missing = [name for name in TENSORS if name not in tensors]
            if missing:
                raise DataError(f"{path}: homophone model without {', '.join(missing)}")
            return cls(HomophoneFeatures(**meta["layout"]), tensors["embeddings"], tensors["scales"], tensors["output"],
                       meta["syllables"], tensors["set_offsets"], tensors["set_chars"], meta.get("info"))
        except DataError as exc:
            if str(path) in str(exc):
                raise
            raise DataError(f"{path}: {exc}") from None
        except (OSError, SafetensorError, KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
            raise DataError(f"{path}: cannot read the homophone model ({exc})") from None

    @staticmethod
    def update_info(path: str | Path, changes: dict) -> None:
        """Change entries of a saved file's ``info`` (the weight chosen on dev), nothing else."""
        model = HomophoneModel.load(path)
        model.info.update(changes)
        model.save(path)
