"""Continuation of hanzi text (gen): predictive input (联想) and free generation.

The prefix is the encoder's context; the decoder emits ``max_new_tokens`` characters (special
tokens never), by beam search (``num_beams`` > 1), sampling (``temperature`` > 0, nucleus
``top_p``, seeded so results repeat) or greedily. A pinyin hint constrains the first characters
to what it reads as (``中国`` + hint ``wenhua`` -> ``文化``).

A model with a word model (and ``gen_words``, the default) continues word by word instead, from
a word boundary and in whole lexicon words, with the same options
(:mod:`pinhan.infer.tasks.word_generate`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np

from pinhan import ids

from pinhan.errors import InputError
from pinhan.infer.search.beam import beam_search, sample, teacher_forced
from pinhan.infer.search.common import GREEDY_BELOW
from pinhan.infer.search.constraints import GenConstraint
from pinhan.infer.search.fusion import Fusion, lm_contexts
from pinhan.infer.bundle import ModelBundle
from pinhan.infer.config import InferenceConfig
from pinhan.infer.inputs import ContextEncoder, encode_gen, segment_keys
from pinhan.infer.results import Continuation, TokenScores
from pinhan.pinyin import PinyinParser


class Generator:
    """Continuation with a loaded model's shared parts under its settings (``max_chars``: longest
    prefix accepted, of which the last ``max_context`` characters are read; ``max_new_tokens``;
    ``gen_lm_weight``)."""

    def __init__(self, bundle: ModelBundle, config: InferenceConfig) -> None:
        runner = bundle.runner
        self.bundle, self.config = bundle, config
        self.runner, self.vocab = runner, bundle.vocab
        # The n-gram rescores the model's 2048 best characters at each step, not 16 as in
        # conversion: no keystrokes narrow a continuation, and on 300 dev prefixes the first
        # greedy character was right 7 / 15 / 23 % of the time with 16 / 256 / 2048 (weight 3).
        self.lm, self.lm_weight, self.lm_top = bundle.lm, config.ngram_weight("gen_lm_weight", bundle.lm), 2048
        self.max_chars = config.max_chars
        self.max_new_tokens = max(1, min(config.max_new_tokens, runner.max_positions - 1))
        self.index, self.tables = bundle.index, bundle.tables
        self.contexts = ContextEncoder(self.vocab, self.tables, max(1, min(config.max_context, runner.max_positions)),
                                       annotator=bundle.annotate)
        self.parser = PinyinParser(abbreviations=True, max_paths=1)

    def generate_batch(self, prefixes: Sequence[str], *, max_new_tokens: int = 8, temperature: float = 0.0,
                       top_p: float = 1.0, num_beams: int = 1, pinyin_hint: str | None = None,
                       seed: int = 0) -> list[list[Continuation]]:
        """Continuations of each prefix: ``num_beams`` of them (best first) with beam search,
        else one; [] for an empty prefix."""
        self._check(prefixes, max_new_tokens, temperature, top_p, num_beams)
        hint = self._hint(pinyin_hint)
        if self.by_words is not None:
            segments = list(self.parser.parse(pinyin_hint)[0]) if hint is not None else []
            return self.by_words.generate(list(prefixes), max(max_new_tokens, len(segments)), temperature, top_p,
                                          num_beams, segments, seed)
        live = [i for i, p in enumerate(prefixes) if p]
        results: list[list[Continuation]] = [[] for _ in prefixes]
        if not live:
            return results
        steps = max(max_new_tokens, len(hint) if hint is not None else 0)
        encoded = self.runner.encode(encode_gen([prefixes[i] for i in live], self.contexts))
        constraint = GenConstraint(steps, self.index, self.tables, [hint] * len(live))
        fusion = None
        if self.lm is not None and self.lm_weight > 0:
            fusion = Fusion(self.lm, self.lm_weight, lm_contexts([prefixes[i] for i in live], self.vocab, self.lm.order),
                            top=self.lm_top)
        if num_beams > 1 or (fusion is not None and temperature < GREEDY_BELOW):  # greedy with the n-gram: a beam of one
            hyps, _ = beam_search(self.runner, encoded, constraint, len(live), beam_size=num_beams, fusion=fusion)
            for i, row in zip(live, hyps):
                results[i] = [Continuation(self._text(h.tokens), h.score) for h in row]
        else:
            rng = np.random.default_rng(seed)
            for i, h in zip(live, sample(self.runner, encoded, constraint, len(live), rng, temperature, top_p)):
                results[i] = [Continuation(self._text(h.tokens), h.score)]
        return results

    @cached_property
    def by_words(self):
        """The word-by-word generator, or None (no word model, or ``gen_words`` off): read on first use."""
        from pinhan.infer.tasks.predict import Predictor
        from pinhan.infer.tasks.word_generate import WordGenerator

        predictor = Predictor(self.bundle, self.config) if self.config.gen_words else None
        return WordGenerator(predictor) if predictor is not None and predictor.available else None

    def score(self, prefix: str, text: str) -> TokenScores:
        """Each character of ``text`` scored after ``prefix`` (teacher-forced): log-probability
        and rank among the characters a continuation may emit."""
        for name, value in (("prefix", prefix), ("text", text)):
            if not isinstance(value, str):
                raise InputError(f"{name} must be a string, got {type(value).__name__}")
        if len(prefix) > self.max_chars:  # as generate; the decoder has a position per character of text
            raise InputError(f"prefix has {len(prefix)} characters; the limit is {self.max_chars} (max_chars)")
        if len(text) >= self.runner.max_positions:
            raise InputError(f"text has {len(text)} characters; the limit is {self.runner.max_positions - 1} (max_positions)")
        tokens = np.array([self.vocab.char_id(ch) for ch in text], dtype=np.int64)
        encoded = self.runner.encode(encode_gen([prefix], self.contexts))
        constraint = GenConstraint(len(tokens), self.index, self.tables)
        (logp, rank), = teacher_forced(self.runner, encoded, constraint, [tokens])
        return TokenScores(text, tuple(logp.tolist()), tuple(rank.tolist()), tuple((tokens != ids.UNK).tolist()))

    def _text(self, tokens: list[int]) -> str:
        return "".join(self.vocab.chars[c] for c in tokens)

    def _hint(self, pinyin_hint: str | None) -> np.ndarray | None:
        if pinyin_hint is None:
            return None
        if not isinstance(pinyin_hint, str):
            raise InputError(f"pinyin_hint must be a string, got {type(pinyin_hint).__name__}")
        if not pinyin_hint.strip():
            return None
        paths = self.parser.parse(pinyin_hint)
        if not paths:  # only separators (apostrophes): nothing to constrain
            return None
        if any(seg.kind == "passthrough" for seg in paths[0]):
            raise InputError(f"pinyin_hint {pinyin_hint!r} is not pinyin only")
        if len(paths[0]) > self.max_new_tokens:
            raise InputError(f"pinyin_hint has {len(paths[0])} syllables; the limit is {self.max_new_tokens}")
        return segment_keys(self.vocab, paths[0])

    def _check(self, prefixes, max_new_tokens, temperature, top_p, num_beams) -> None:
        for prefix in prefixes:
            if not isinstance(prefix, str):
                raise InputError(f"prefix must be a string, got {type(prefix).__name__}")
            if len(prefix) > self.max_chars:
                raise InputError(f"prefix has {len(prefix)} characters; the limit is {self.max_chars} (max_chars)")
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or not 1 <= max_new_tokens <= self.max_new_tokens:
            raise InputError(f"max_new_tokens must be an integer in 1..{self.max_new_tokens}, got {max_new_tokens!r}")
        if isinstance(num_beams, bool) or not isinstance(num_beams, int) or not 1 <= num_beams <= 16:
            raise InputError(f"num_beams must be an integer in 1..16, got {num_beams!r}")
        if not isinstance(temperature, (int, float)) or not 0 <= temperature <= 10:
            raise InputError(f"temperature must be a number in 0..10, got {temperature!r}")
        if not isinstance(top_p, (int, float)) or not 0 < top_p <= 1:
            raise InputError(f"top_p must be a number in (0, 1], got {top_p!r}")
