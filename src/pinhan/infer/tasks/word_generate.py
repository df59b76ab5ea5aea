"""Continuation word by word: ``generate`` over the word lexicon, so that a continuation starts
at a word boundary and is made of whole words (中国 -> 的 / 人民 / 经济 ..., never 中国|务院,
which completes 国务院 inside the prefix).

Each step asks :class:`~pinhan.infer.tasks.predict.Predictor` for the best next words after
every live hypothesis (the n-gram history follows the words chosen so far; the Transformer reads
the prefix and the text so far) and extends them: greedily (temperature 0, one beam), by beam
search (``num_beams``), or by sampling among the step's candidates (``temperature``, nucleus
``top_p``, seeded so results repeat). A hypothesis ends when no candidate fits in the characters
left of ``max_new_tokens``. A pinyin hint restricts the first words to words that read as it,
syllable by syllable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pinhan.infer.results import Continuation
from pinhan.infer.search.common import GREEDY_BELOW
from pinhan.infer.tasks.predict import MAX_WORD, Predictor
from pinhan.lm.words import shorten, toneless


@dataclass
class _Beam:
    text: str  # the words chosen so far, joined
    score: float
    history: np.ndarray  # (order-1,) the n-gram history after them
    hint_at: int = 0  # hint syllables read so far
    done: bool = False


class WordGenerator:
    """``generate`` for a model with a word model (see the module docstring)."""

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor

    def generate(self, prefixes: list[str], max_new_tokens: int, temperature: float, top_p: float, num_beams: int,
                 hint: list, seed: int) -> list[list[Continuation]]:
        """Per prefix: ``num_beams`` continuations with beam search, else one; [] for an empty prefix."""
        hint_words = self._hint_words(hint)
        rng = np.random.default_rng(seed)
        sampling = num_beams == 1 and temperature >= GREEDY_BELOW
        beams = {i: [_Beam("", 0.0, self.predictor.history(p))] for i, p in enumerate(prefixes) if p}
        while True:
            live = [(i, b) for i, row in beams.items() for b in row if not b.done]
            if not live:
                break
            restrict = [hint_words[b.hint_at] if b.hint_at < len(hint_words) else None for _, b in live]
            n = max(num_beams, self.predictor.config.predict_rescore)
            scored = self.predictor.next_words([prefixes[i] + b.text for i, b in live], [b.history for _, b in live], n,
                                               restrict if hint_words else None)
            grown: dict[int, list[_Beam]] = {i: [b for b in row if b.done] for i, row in beams.items()}
            for (i, beam), cands in zip(live, scored):
                grown[i] += self._extend(beam, cands, max_new_tokens, len(hint_words), sampling, temperature, top_p, rng)
            beams = {i: _best(row, num_beams) for i, row in grown.items()}
        out: list[list[Continuation]] = [[] for _ in prefixes]
        for i, row in beams.items():
            out[i] = [Continuation(b.text, b.score) for b in row]
        return out

    def _extend(self, beam: _Beam, cands, max_new_tokens: int, hint_len: int, sampling: bool, temperature: float,
                top_p: float, rng: np.random.Generator) -> list[_Beam]:
        """The beam's successors (those that fit), or the beam itself, done, when none fits."""
        left = max_new_tokens - len(beam.text)
        texts = [self.predictor.word_text(w) for w in cands.words.tolist()]
        fits = [j for j, t in enumerate(texts) if len(t) <= left]
        if not fits:
            beam.done = True
            return [beam]
        if sampling:
            fits = [fits[_sample(cands.scores[fits], temperature, top_p, rng)]]
        out = []
        for j in fits:
            wid, text = int(cands.words[j]), texts[j]
            history = np.append(beam.history[1:], wid) if len(beam.history) else beam.history
            hint_at = beam.hint_at + len(text) if beam.hint_at < hint_len else beam.hint_at
            grown = _Beam(beam.text + text, beam.score + float(cands.scores[j]), history, hint_at)
            grown.done = len(grown.text) >= max_new_tokens
            out.append(grown)
        return out

    def _hint_words(self, hint: list) -> list[np.ndarray]:
        """Per hint syllable: ids of the words that read as the hint from there on (a word of L
        characters reads as the next L syllables, each of its syllables among what the typed
        segment may stand for, and its tone where one was typed; readings the corpus never had,
        such as 找 hua, only where no word has another)."""
        lexicon = self.predictor.lexicon
        out = []
        for start in range(len(hint)):
            found: dict[int, int] = {}  # word id -> train count of its reading as the hint
            for length in range(1, min(MAX_WORD, len(hint) - start) + 1):
                segments = hint[start: start + length]
                key = shorten("".join(s.initial or s.text[:1] for s in segments))
                for wid in lexicon.abbreviated.get(key, ()):
                    if len(lexicon.words[wid]) == length:
                        counts = [n for r, n in lexicon.readings[wid].items() if _reads(r, segments)]
                        if counts:
                            found[wid] = max(counts)
            seen = [w for w, n in found.items() if n > 0] or list(found)
            out.append(np.array(sorted(seen), dtype=np.int64))
        return out


def _reads(reading: tuple[str, ...], segments) -> bool:
    return all(toneless(s) in seg.syllables and (seg.tone is None or s[-1:] == str(seg.tone))
               for s, seg in zip(reading, segments))


def _best(row: list[_Beam], n: int) -> list[_Beam]:
    """The ``n`` best beams with distinct texts (two segmentations of one text: the better)."""
    seen, out = set(), []
    for beam in sorted(row, key=lambda b: -b.score):
        if beam.text not in seen:
            seen.add(beam.text)
            out.append(beam)
        if len(out) == n:
            break
    return out


def _sample(scores: np.ndarray, temperature: float, top_p: float, rng: np.random.Generator) -> int:
    """An index drawn from softmax(scores / temperature), cut to the smallest set of mass top_p."""
    p = np.exp((scores - scores.max()) / temperature)
    p /= p.sum()
    order = np.argsort(-p, kind="stable")
    keep = order[np.cumsum(p[order]) - p[order] < top_p]
    return int(rng.choice(keep, p=p[keep] / p[keep].sum()))
