"""Continuation of hanzi text (gen): predictive input (联想) and free generation.

The prefix is the encoder's context; the decoder emits ``max_new_tokens`` characters (special
tokens never), by beam search (``num_beams`` > 1), sampling (``temperature`` > 0, nucleus
``top_p``, seeded so results repeat) or greedily. A pinyin hint constrains the first characters
to what it reads as (``中国`` + hint ``wenhua`` -> ``文化``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pinhan.data.candidates import CandidateIndex
from pinhan.data.examples import PinyinTables
from pinhan.data.vocab import Lexicon, Vocab
from pinhan.errors import InputError
from pinhan.infer.decode import GREEDY_BELOW, Fusion, GenConstraint, beam_search, lm_contexts, sample
from pinhan.infer.inputs import ContextEncoder, encode_gen, segment_keys
from pinhan.infer.results import Continuation
from pinhan.infer.runner import Runner
from pinhan.pinyin import PinyinParser


class Generator:
    """Continuation with a model runner, its vocabulary and lexicon.

    Args:
        max_chars: longest prefix accepted (only its last ``max_context`` characters are read).
        max_new_tokens: the most characters one call may ask for.
    """

    def __init__(self, runner: Runner, vocab: Vocab, lexicon: Lexicon, *, max_context: int = 64, max_chars: int = 256,
                 max_new_tokens: int = 64, index: CandidateIndex | None = None, lm: object | None = None,
                 lm_weight: float = 0.0) -> None:
        self.runner, self.vocab = runner, vocab
        # The n-gram rescores the model's 2048 best characters at each step, not 16 as in
        # conversion: no keystrokes narrow a continuation, and on 300 dev prefixes the first
        # greedy character was right 7 / 15 / 23 % of the time with 16 / 256 / 2048 (weight 3).
        self.lm, self.lm_weight, self.lm_top = lm, lm_weight, 2048
        self.max_chars = max_chars
        self.max_new_tokens = max(1, min(max_new_tokens, runner.max_positions - 1))
        self.index = index or CandidateIndex(vocab, lexicon)
        self.tables = PinyinTables(vocab)
        self.contexts = ContextEncoder(vocab, self.tables, max(1, min(max_context, runner.max_positions)))
        self.parser = PinyinParser(abbreviations=True, max_paths=1)

    def generate_batch(self, prefixes: Sequence[str], *, max_new_tokens: int = 8, temperature: float = 0.0,
                       top_p: float = 1.0, num_beams: int = 1, pinyin_hint: str | None = None,
                       seed: int = 0) -> list[list[Continuation]]:
        """Continuations of each prefix: ``num_beams`` of them (best first) with beam search,
        else one; [] for an empty prefix."""
        self._check(prefixes, max_new_tokens, temperature, top_p, num_beams)
        hint = self._hint(pinyin_hint)
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
