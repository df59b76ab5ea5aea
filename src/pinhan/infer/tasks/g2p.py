"""Hanzi -> pinyin with polyphones resolved by the model (h2p).

Each run of hanzi is one h2p input (the text before it is its context); the decoder emits one
syllable per hanzi, constrained to that character's readings (lexicon, or pypinyin for a hanzi
outside the vocabulary), greedily. Runs whose characters all have a single reading need no model
call. Everything that is not a hanzi is passed through, one entry per character.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pinhan.data.annotate import char_readings, is_hanzi
from pinhan.errors import InputError
from pinhan.infer.search.beam import beam_search
from pinhan.infer.search.constraints import H2PConstraint
from pinhan.infer.bundle import ModelBundle
from pinhan.infer.config import InferenceConfig
from pinhan.infer.inputs import ContextEncoder, encode_h2p
from pinhan.infer.results import G2PResult
from pinhan.pinyin import mark_syllable

TONE_STYLES = ("number", "mark", "none")


@dataclass
class _Run:
    item: int
    start: int  # offset of the run in its text
    chars: np.ndarray  # (L,) hanzi ids (UNK outside the vocabulary)
    readings: list[np.ndarray]  # per position: toned-syllable ids, most frequent first


class G2P:
    """Hanzi -> pinyin with a loaded model's shared parts under its settings (``max_chars``,
    ``max_run``, ``max_context``, ``batch_rows`` of :class:`~pinhan.infer.config.InferenceConfig`)."""

    def __init__(self, bundle: ModelBundle, config: InferenceConfig) -> None:
        runner = bundle.runner
        self.runner, self.vocab = runner, bundle.vocab
        self.max_chars, self.batch_rows = config.max_chars, config.batch_rows
        self.max_run = max(1, min(config.max_run, runner.max_positions - 1))
        self.tables = bundle.tables
        self.contexts = ContextEncoder(self.vocab, self.tables, max(0, min(config.max_context, runner.max_positions - self.max_run)))
        self._readings: dict[str, np.ndarray] = dict(bundle.readings)  # grows with pypinyin's readings of other hanzi

    def readings(self, ch: str) -> np.ndarray:
        """Toned-syllable ids ``ch`` may read as, most frequent first (empty: not a readable hanzi)."""
        if ch not in self._readings:
            found = []
            if is_hanzi(ch):  # outside the lexicon: pypinyin's readings
                found = [self.vocab.syllable_to_id[s] for s in char_readings(ch) if s in self.vocab.syllable_to_id]
            self._readings[ch] = np.asarray(found, dtype=np.int64)
        return self._readings[ch]

    def g2p_batch(self, texts: Sequence[str], tones: str = "number") -> list[G2PResult]:
        if tones not in TONE_STYLES:
            raise InputError(f"tones must be one of {', '.join(TONE_STYLES)}, got {tones!r}")
        for text in texts:
            if not isinstance(text, str):
                raise InputError(f"text must be a string, got {type(text).__name__}")
            if len(text) > self.max_chars:
                raise InputError(f"text has {len(text)} characters; the limit is {self.max_chars} (max_chars)")
        runs = [run for i, text in enumerate(texts) for run in self._runs(i, text)]
        chosen: dict[tuple[int, int], list[int]] = {}
        ambiguous = []
        for r in runs:
            if any(len(x) > 1 for x in r.readings):
                ambiguous.append(r)
            else:  # every character has one reading: nothing to decide
                chosen[(r.item, r.start)] = [int(x[0]) for x in r.readings]
        for start in range(0, len(ambiguous), self.batch_rows):
            part = ambiguous[start : start + self.batch_rows]
            enc = encode_h2p([r.chars for r in part], [texts[r.item][: r.start] for r in part], self.contexts)
            constraint = H2PConstraint([r.chars for r in part], [r.readings for r in part], self.tables)
            hyps, _ = beam_search(self.runner, self.runner.encode(enc), constraint, len(part), beam_size=1)
            for r, h in zip(part, hyps):  # positions after the last ambiguous one have one reading each
                chosen[(r.item, r.start)] = h[0].tokens + [int(x[0]) for x in r.readings[len(h[0].tokens):]]
        results = []
        for i, text in enumerate(texts):
            pinyin, hanzi, poly = list(text), [False] * len(text), [False] * len(text)
            for r in (r for r in runs if r.item == i):
                for offset, (syllable, options) in enumerate(zip(chosen[(i, r.start)], r.readings)):
                    at = r.start + offset
                    pinyin[at] = _style(self.vocab.syllables[syllable], tones)
                    hanzi[at], poly[at] = True, len(options) > 1
            results.append(G2PResult(text, tuple(pinyin), tuple(hanzi), tuple(poly)))
        return results

    def _runs(self, item: int, text: str) -> list[_Run]:
        runs, start = [], None
        for at in range(len(text) + 1):
            readable = at < len(text) and len(self.readings(text[at])) > 0
            if readable and start is None:
                start = at
            if start is not None and (not readable or at - start == self.max_run):
                piece = text[start:at]
                chars = np.array([self.vocab.char_id(ch) for ch in piece], dtype=np.int64)
                runs.append(_Run(item, start, chars, [self.readings(ch) for ch in piece]))
                start = at if readable else None
        return runs


def _style(syllable: str, tones: str) -> str:
    """A toned syllable (``hang2``) in the requested style."""
    if tones == "number":
        return syllable
    letters, digit = syllable[:-1], syllable[-1]
    if tones == "none":
        return letters
    return mark_syllable(letters, int(digit))

