"""The model object ``pinhan.load()`` returns: conversion, hanzi -> pinyin, continuation,
input-method sessions, and scoring of given outputs.

::

    import pinhan
    model = pinhan.load("runs/small/best")          # or pinhan.load() for the default model
    model.convert("zhongguowenhua", k=5)            # [Candidate(text='中国文化', ...), ...]
    model.convert("hang", context="银")             # committed text before the input
    model.g2p("银行行长").syllables()                # ['yin2', 'hang2', 'hang2', 'zhang3']
    model.generate("中国", max_new_tokens=2)         # [Continuation(text='人民', ...)]
    model.predict("中国", k=5)                       # next words: [Prediction(text='的', ...), ...]
    model.score("中国", "文化")                      # log-probability and rank of each character
    session = model.session()                       # an input method's state

Callers use these methods only; the task objects behind them (``pinhan.infer.tasks``) are built
from one :class:`~pinhan.infer.bundle.ModelBundle` and one frozen
:class:`~pinhan.infer.config.InferenceConfig`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from pinhan.data.vocab import Lexicon, Vocab
from pinhan.errors import InputError
from pinhan.infer.bundle import ModelBundle
from pinhan.infer.config import InferenceConfig
from pinhan.infer.results import Candidate, Continuation, G2PResult, Prediction, Rescored, TokenScores
from pinhan.infer.runner import Runner
from pinhan.infer.script import check_script, in_script
from pinhan.infer.tasks.convert import Converter, check_k
from pinhan.infer.tasks.g2p import G2P
from pinhan.infer.tasks.generate import Generator
from pinhan.infer.tasks.predict import Predictor
from pinhan.lm.ngram import CharNgram


class Pinhan:
    """A loaded model: conversion, hanzi -> pinyin, continuation, input-method sessions."""

    def __init__(self, bundle: ModelBundle, config: InferenceConfig | None = None) -> None:
        self.bundle, self.config = bundle, config or InferenceConfig()
        self.converter = Converter(bundle, self.config)
        self.g2p_engine = G2P(bundle, self.config)
        self.generator = Generator(bundle, self.config)
        self.predictor = Predictor(bundle, self.config)

    def __repr__(self) -> str:
        return f"Pinhan(path={str(self.path)!r}, backend={self.backend!r}, chars={len(self.vocab.chars)})"

    # --- the loaded parts (read-only) ---------------------------------------------------------
    @property
    def runner(self) -> Runner:
        return self.bundle.runner

    @property
    def vocab(self) -> Vocab:
        return self.bundle.vocab

    @property
    def lexicon(self) -> Lexicon:
        return self.bundle.lexicon

    @property
    def path(self) -> Path | None:
        return self.bundle.path

    @property
    def backend(self) -> str:
        return self.bundle.backend

    @property
    def lm(self) -> CharNgram | None:
        """The character n-gram in use (None: none, or every weight 0)."""
        weights = [self.config.ngram_weight(s, self.bundle.lm) for s in ("lm_weight", "fast_lm_weight", "gen_lm_weight")]
        return self.bundle.lm if max(weights) > 0 else None

    def with_config(self, **changes) -> Pinhan:
        """The same loaded model with other settings (``lm_weight=0``, ``beam_size=4``, ...)."""
        return Pinhan(self.bundle, replace(self.config, **changes))

    def with_ngram(self, lm: CharNgram | None) -> Pinhan:
        """The same loaded model fusing another character n-gram (``pinhan lm`` tunes its weights so)."""
        if lm is not None and lm.vocab_size != len(self.vocab.chars):
            raise InputError(f"the n-gram was built for {lm.vocab_size} characters, the model has {len(self.vocab.chars)}")
        return Pinhan(self.bundle.with_ngram(lm), self.config)

    # --- pinyin -> hanzi ----------------------------------------------------------------------
    def convert(self, pinyin: str, *, context: str = "", k: int = 5, mode: str = "accurate",
                fuzzy: Sequence[str] = (), abbreviations: bool = True, prefixes: bool = True,
                script: str | None = None, user=None) -> list[Candidate]:
        """Ranked candidates for typed pinyin: whole-input sentences, then (unless ``prefixes``
        is False) words and characters covering its first syllables (see
        :mod:`pinhan.infer.tasks.convert`). ``mode`` is ``"accurate"`` (the decoder's beam search)
        or ``"fast"`` (the encoder head); ``fuzzy`` names fuzzy rules (``"z-zh"``, ``"an-ang"``,
        ..., or ``"all"``); ``script`` is ``"simplified"``, ``"traditional"`` or ``"any"`` (None:
        the config's, simplified by default; see :mod:`pinhan.infer.script`); ``user``: a
        :class:`~pinhan.infer.user.UserModel` whose history joins the word lattice's scores (read
        only: sessions learn, ``convert`` does not)."""
        return self.convert_batch([(pinyin, context)], k=k, mode=mode, fuzzy=fuzzy, abbreviations=abbreviations,
                                  prefixes=prefixes, script=script, user=user)[0]

    def convert_batch(self, inputs: Sequence[str | tuple[str, str]], *, k: int = 5, mode: str = "accurate",
                      fuzzy: Sequence[str] = (), abbreviations: bool = True,
                      prefixes: bool = True, script: str | None = None, user=None) -> list[list[Candidate]]:
        """:meth:`convert` for many inputs (pinyin strings or (pinyin, context) pairs) in one batch."""
        script = check_script(self.config.script if script is None else script)
        spare = 4 if script != "any" and check_k(k) else 0  # room for duplicates that conversion folds together
        found = self.converter.convert_batch(_sequence(inputs, "inputs"), k=k + spare, mode=mode, fuzzy=fuzzy,
                                             abbreviations=abbreviations, prefixes=prefixes, user=user)
        return [in_script(candidates, script)[:k] for candidates in found]

    def rescore(self, pinyin: str, texts: Sequence[str], *, context: str = "") -> list[Rescored]:
        """Score given hanzi texts as readings of ``pinyin`` (one character per syllable of the
        parser's best segmentation): the decoder's summed log-probability, teacher-forced, and
        the n-gram's. For reranking an N-best list from elsewhere."""
        return self.converter.rescore(pinyin, _sequence(texts, "texts"), context)

    # --- hanzi -> pinyin ----------------------------------------------------------------------
    def g2p(self, text: str, *, tones: str = "number") -> G2PResult:
        """Pinyin of every hanzi of ``text``, polyphones resolved in context; ``tones`` is
        ``"number"`` (hang2), ``"mark"`` (háng) or ``"none"`` (hang)."""
        return self.g2p_batch([text], tones=tones)[0]

    def g2p_batch(self, texts: Sequence[str], *, tones: str = "number") -> list[G2PResult]:
        return self.g2p_engine.g2p_batch(_sequence(texts, "texts"), tones)

    # --- continuation -------------------------------------------------------------------------
    def generate(self, prefix: str, *, max_new_tokens: int = 8, temperature: float = 0.0, top_p: float = 1.0,
                 num_beams: int = 1, pinyin_hint: str | None = None, seed: int = 0) -> list[Continuation]:
        """Continuations of ``prefix``: ``num_beams`` of them with beam search, else one (greedy
        at temperature 0, sampled otherwise, repeatably for a given ``seed``)."""
        return self.generate_batch([prefix], max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
                                   num_beams=num_beams, pinyin_hint=pinyin_hint, seed=seed)[0]

    def generate_batch(self, prefixes: Sequence[str], **options) -> list[list[Continuation]]:
        return self.generator.generate_batch(_sequence(prefixes, "prefixes"), **options)

    def predict(self, context: str, k: int | None = None) -> list[Prediction]:
        """The ``k`` (default 10: ``predict_k``) likeliest next whole words after ``context``
        (联想), best first; an empty context is the start of a sentence (see
        :mod:`pinhan.infer.tasks.predict`). Needs the model directory's word model."""
        return self.predict_batch([context], k=k)[0]

    def predict_batch(self, contexts: Sequence[str], k: int | None = None) -> list[list[Prediction]]:
        return self.predictor.predict_batch(_sequence(contexts, "contexts"), k)

    def score(self, prefix: str, text: str) -> TokenScores:
        """How the model rates ``text`` as the continuation of ``prefix``: each character's
        log-probability (teacher-forced) and its rank among all characters (perplexity,
        next-character recall)."""
        return self.generator.score(prefix, text)

    def warm_up(self) -> None:
        """Read what is otherwise read on first use (the word model, the phrase dictionaries, the
        polyphone head), load the compiled lattice search, and run each task once: a server calls
        this before it takes traffic, so that no user's first request waits seconds for it."""
        from pinhan.errors import PinhanError

        for call in (lambda: self.convert("nihao", mode="fast"), lambda: self.convert("nihao", mode="accurate"),
                     lambda: self.convert("nh", mode="fast"), lambda: self.g2p("银行行长"),
                     lambda: self.predict("中国", k=1) if self.predictor.available else None):
            try:
                call()
            except PinhanError:  # a tiny model may not read these: the real request will say what is wrong
                pass

    # --- input method -------------------------------------------------------------------------
    def session(self, *, context: str = "", k: int = 9, mode: str = "accurate", fuzzy: Sequence[str] = (),
                predict: bool | None = None, user=None, learn: bool = True):
        """An input-method session (see :class:`pinhan.infer.tasks.session.Session`); ``predict``:
        offer next words after each commit (None: when the model has a word model); ``user``: a
        :class:`~pinhan.infer.user.UserModel` or a user directory whose history the session uses
        and learns from (``learn``, on by default; None: a fresh history for this session)."""
        from pinhan.infer.tasks.session import Session

        return Session(self, context=context, k=k, mode=mode, fuzzy=fuzzy, predict=predict, user=user, learn=learn)


def _sequence(items, name: str) -> list:
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise InputError(f"{name} must be a list, got {type(items).__name__}")
    return list(items)
