"""Next-word prediction (联想): the k likeliest whole words of the word lexicon after a text.

The stages::

    history     the context's last hanzi run (the word n-gram counts clauses, maximal hanzi runs),
                segmented into lexicon words by maximum unigram probability over a DAG of
                lexicon words (as jieba does); its last ``order - 1`` words are the n-gram
                history (no hanzi at the end of the context: clause start)
    propose     the word trigram's stored continuations of that history (trigrams, bigrams of the
                last word) and the most frequent words, scored exactly by the n-gram; the best
                ``max(k, predict_rescore)`` go on (exact: a word's score only depends on the
                highest order that stores it, so each order's best few suffice)
    rescore     the Transformer reads the whole context (also across clauses) and scores each
                proposal's characters teacher-forced (full-softmax log-probabilities: one encoder
                pass, one decoder step per character of the longest proposal), fed each
                character with the word's own reading; ``score = ngram + predict_model_weight *
                model``, the weight chosen on dev contexts (benchmarks/prediction.py)

:class:`Predictor` also serves ``generate``, which continues word by word
(:mod:`pinhan.infer.tasks.word_generate`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from pinhan import ids
from pinhan.data.annotate import HANZI_RUN
from pinhan.errors import InputError
from pinhan.infer.bundle import ModelBundle
from pinhan.infer.config import InferenceConfig
from pinhan.infer.inputs import ContextEncoder, encode_gen
from pinhan.infer.results import Prediction
from pinhan.infer.search.common import start_inputs, step_inputs
from pinhan.lm.ngram import pack
from pinhan.lm.words import EOS

MAX_K = 100  # the most predictions one request may ask for
MAX_WORD = 8  # longest word the context segmentation tries (longer idioms are rare in a history)
SEGMENT_CHARS = 32  # the context's last characters segmented: only its last words are the history


@dataclass
class Scored:
    """One context's next-word candidates: word ids (N,) and their scores (N,), best first."""

    words: np.ndarray
    scores: np.ndarray


class Predictor:
    """Next words after a text, from a loaded model's word lexicon, word n-gram and Transformer
    (see the module docstring). The word model is read on first use."""

    def __init__(self, bundle: ModelBundle, config: InferenceConfig, words=None) -> None:
        """``words``: a (WordLexicon, WordNgram) pair to use instead of the model directory's
        (benchmarks compare n-gram views so)."""
        self.bundle, self.config, self._words = bundle, config, words
        runner = bundle.runner
        self.runner, self.vocab = runner, bundle.vocab
        self.contexts = ContextEncoder(self.vocab, bundle.tables, max(1, min(config.max_context, runner.max_positions)),
                                       annotator=bundle.annotate)

    # --- the word model -----------------------------------------------------------------------
    @property
    def available(self) -> bool:
        """True when the model directory has a word model (``pinhan lm --kind words``)."""
        return (self._words or self.bundle._word_model) is not None

    @cached_property
    def _parts(self):
        model = self._words or self.bundle._word_model
        if model is None:
            raise InputError("this model has no word model (words.json.gz, words.safetensors from "
                             "`pinhan lm --kind words`), which prediction needs")
        lexicon, lm = model
        unigram = lm.unigram_logp.copy()
        unigram[EOS] = -np.inf  # a prediction is a word, never the end of a clause
        by_unigram = np.argsort(-unigram, kind="stable")[: 4 * MAX_K + 1024]  # (U,) likeliest words first
        return lexicon, lm, unigram, by_unigram

    @property
    def lexicon(self):
        return self._parts[0]

    @property
    def lm(self):
        return self._parts[1]

    def word_text(self, wid: int) -> str:
        return self.lexicon.words[wid]

    def reading(self, wid: int) -> tuple[str, ...]:
        """The word's likeliest toned reading (one syllable a character)."""
        return self.lexicon.reading_logp(int(wid))[0]

    # --- public -------------------------------------------------------------------------------
    def predict_batch(self, contexts: Sequence[str], k: int | None = None) -> list[list[Prediction]]:
        """The ``k`` (default ``predict_k``) likeliest next words after each context, best first."""
        k = self.config.predict_k if k is None else k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise InputError(f"k must be an integer in 1..{MAX_K}, got {k!r}")
        for context in contexts:
            if not isinstance(context, str):
                raise InputError(f"context must be a string, got {type(context).__name__}")
            if len(context) > self.config.max_chars:
                raise InputError(f"context has {len(context)} characters; the limit is {self.config.max_chars} (max_chars)")
        histories = [self.history(c) for c in contexts]
        scored = self.next_words(list(contexts), histories, max(k, self.config.predict_rescore))
        return [[Prediction(self.word_text(w), float(s)) for w, s in zip(row.words[:k].tolist(), row.scores[:k].tolist())]
                for row in scored]

    def history(self, context: str) -> np.ndarray:
        """(order-1,) word ids of the context's last words, clause-start padded on the left."""
        lexicon, lm, unigram, _ = self._parts
        need = lm.order - 1
        tail = context[-SEGMENT_CHARS:]
        runs = list(HANZI_RUN.finditer(tail))
        words = segment(runs[-1].group(), lexicon.word_id, unigram) if runs and runs[-1].end() == len(tail) else []
        if -1 in words:  # a character outside the lexicon: the history starts after it
            words = words[len(words) - words[::-1].index(-1):]
        out = np.full(need, lm.BOS, dtype=np.int64)
        if need and words:
            last = words[-need:]
            out[need - len(last):] = last
        return out

    def next_words(self, contexts: list[str], histories: list[np.ndarray], n: int,
                   restrict: list[np.ndarray | None] | None = None) -> list[Scored]:
        """The ``n`` best next words per context after its n-gram history (``restrict``: per row,
        the only word ids it may take, or None for any), n-gram and model scores fused."""
        rows = []
        for row, history in enumerate(histories):
            allowed = restrict[row] if restrict is not None else None
            words = self.proposals(history, n) if allowed is None else np.asarray(allowed, dtype=np.int64)
            lm = self.lm.logprob_grid(history[None, :], words[None, :])[0] if len(words) else np.zeros(0, np.float32)
            top = np.lexsort((words, -lm))[:n]  # by score, then id: deterministic
            rows.append(Scored(words[top], lm[top].astype(np.float64)))
        weight = self.config.predict_model_weight
        live = [r for r, c in enumerate(contexts) if c and len(rows[r].words)]
        if weight > 0 and live:
            model = self.model_logprobs([contexts[r] for r in live], [rows[r].words for r in live])
            for r, logp in zip(live, model):
                scores = rows[r].scores + weight * logp
                order = np.lexsort((rows[r].words, -scores))
                rows[r] = Scored(rows[r].words[order], scores[order])
        return rows

    # --- stages -------------------------------------------------------------------------------
    def proposals(self, history: np.ndarray, n: int) -> np.ndarray:
        """Word ids among which the n-gram's ``n`` best after ``history`` (order-1,) lie."""
        _, lm, _, by_unigram = self._parts
        bits, mask = lm.ID_BITS, np.uint64((1 << lm.ID_BITS) - 1)
        found = np.zeros(0, dtype=np.int64)
        for k in range(lm.order - 1, 0, -1):  # stored (k+1)-grams whose context is the last k words
            ctx = pack(history[None, len(history) - k:], bits)[0]
            keys = lm.keys[k]
            lo, hi = np.searchsorted(keys, [ctx << np.uint64(bits), (ctx + np.uint64(1)) << np.uint64(bits)])
            if hi > lo:
                take = min(hi - lo, n + len(found))
                best = np.argpartition(-lm.logp[k][lo:hi].astype(np.float32), take - 1)[:take] if take < hi - lo \
                    else np.arange(hi - lo)
                found = np.union1d(found, (keys[lo:hi][best] & mask).astype(np.int64))
        extra = by_unigram[: n + len(found)]
        return np.setdiff1d(np.union1d(found, extra), [EOS, lm.BOS])

    def model_logprobs(self, contexts: list[str], words: list[np.ndarray]) -> list[np.ndarray]:
        """Per context, the Transformer's summed log-probability of each word's characters after
        it (teacher-forced, full softmax); a word with a character outside the model's vocabulary
        gets the lowest score of its row."""
        vocab, runner = self.vocab, self.runner
        if self.config.predict_model_chars == 1:
            return self._first_char_logprobs(contexts, words)
        texts = [[self.word_text(w)[: self.config.predict_model_chars or None] for w in row.tolist()] for row in words]
        counts = [len(t) for t in texts]
        flat = [t for row in texts for t in row]
        T = max(len(t) for t in flat)
        targets = np.full((len(flat), T), -1, dtype=np.int64)  # (H, T) char ids, -1 after the word
        feeds = np.zeros((len(flat), T, 4), dtype=np.int64)  # (H, T, 4) decoder inputs after each char
        for h, (text, wid) in enumerate(zip(flat, np.concatenate(words).tolist())):
            chars = [vocab.char_id(ch) for ch in text]
            targets[h, : len(chars)] = chars
            for t, (ch, syllable) in enumerate(zip(chars, self.reading(wid))):
                feeds[h, t] = (ch, *vocab.factors(syllable))  # as in training: the hanzi and its toned reading
        encoded = runner.encode(encode_gen(contexts, self.contexts))
        state = runner.start(encoded, np.repeat(np.arange(len(contexts)), counts))
        step_in, total = start_inputs(len(flat)), np.zeros(len(flat))
        for t in range(T):
            hidden, state = runner.step(state, step_in)
            logp = runner.char_log_probs(hidden)  # (H, V)
            live = np.flatnonzero(targets[:, t] >= 0)
            total[live] += logp[live, targets[live, t]]
            step_in = step_inputs(feeds[:, t])
        unknown = (targets == ids.UNK).any(axis=1)
        out, at = [], 0
        for n in counts:
            row, bad = total[at: at + n], unknown[at: at + n]
            out.append(np.where(bad, row[~bad].min(initial=0.0) if (~bad).any() else 0.0, row))
            at += n
        return out

    def _first_char_logprobs(self, contexts: list[str], words: list[np.ndarray]) -> list[np.ndarray]:
        """Per context, the Transformer's log-probability of each word's first character: one
        decoder step, one row a context."""
        runner = self.runner
        encoded = runner.encode(encode_gen(contexts, self.contexts))
        hidden, _ = runner.step(runner.start(encoded, np.arange(len(contexts))), start_inputs(len(contexts)))
        logp = runner.char_log_probs(hidden)  # (B, V)
        out = []
        for row, ws in zip(logp, words):
            first = np.array([self.vocab.char_id(self.word_text(w)[0]) for w in ws.tolist()], dtype=np.int64)
            known = first != ids.UNK
            out.append(np.where(known, row[first], row[first[known]].min(initial=0.0) if known.any() else 0.0))
        return out


def segment(run: str, word_id: dict[str, int], unigram: np.ndarray, max_word: int = MAX_WORD) -> list[int]:
    """A hanzi run -> lexicon word ids by maximum unigram log-probability (a DAG over every
    lexicon word in the run); a character no word covers is -1."""
    n = len(run)
    best = np.full(n + 1, -np.inf)
    best[0] = 0.0
    back: list[tuple[int, int]] = [(0, -1)] * (n + 1)  # end -> (start, word id) of the best last word
    for end in range(1, n + 1):
        for start in range(max(0, end - max_word), end):
            wid = word_id.get(run[start:end])
            if wid is not None and best[start] + unigram[wid] > best[end]:
                best[end], back[end] = best[start] + unigram[wid], (start, wid)
        if not np.isfinite(best[end]):  # no word ends here: the character alone, unknown
            best[end], back[end] = best[end - 1] - 20.0, (end - 1, -1)
    words, end = [], n
    while end > 0:
        start, wid = back[end]
        words.append(wid)
        end = start
    return words[::-1]
