"""The Python API: ``pinhan.load()`` and the model object it returns.

::

    import pinhan
    model = pinhan.load("runs/small/best")          # or pinhan.load() for the default model
    model.convert("zhongguowenhua", k=5)            # [Candidate(text='中国文化', ...), ...]
    model.convert("hang", context="银")             # committed text before the input
    model.g2p("银行行长").syllables()                # ['yin2', 'hang2', 'hang2', 'zhang3']
    model.generate("中国", max_new_tokens=2)         # [Continuation(text='人民', ...)]
    session = model.session()                       # an input method's state
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

from pinhan.data.vocab import Lexicon, Vocab
from pinhan.errors import ConfigError, InputError
from pinhan.infer.convert import Converter
from pinhan.infer.g2p import G2P
from pinhan.infer.generate import Generator
from pinhan.infer.results import Candidate, Continuation, G2PResult
from pinhan.infer.runner import Runner
from pinhan.lm.ngram import LM_FILE, CharNgram
from pinhan.model.io import CheckpointError

BACKENDS = ("torch", "onnx")
DEFAULT_MODEL_ENV = "PINHAN_MODEL"  # a model directory to use when none is given
CACHE_ENV = "PINHAN_CACHE"  # where ONNX exports of models without one are kept


@dataclass
class InferenceConfig:
    """Limits and decoding settings of a loaded model.

    Args:
        max_context: characters of committed context the model reads (older text is cut); capped
            at the context length the model was trained with (``config.json``: recipe.examples),
            since more than it ever saw costs accuracy (a model trained with 32 fell from 75.9 to
            58.5 % dev char accuracy when fed 64).
        max_paths: segmentations of the keystrokes decoded per conversion: the best gives the
            candidates; more add alternatives (xi'an for xian; readings that split off a lone
            letter, ni ha o, are skipped) at a model row each. 1 by default: on dev clauses cut
            at 1-8 syllables, a second segmentation moved top-1 and top-5 by at most 0.12 points
            (2,000 clauses, fast mode; 600, accurate mode), except one syllable, where its
            two-character alternatives pushed single characters out of the top 5 (92.9 -> 89.1 %
            fast, 92.7 -> 90.2 % accurate), and cost 15-65 % more time. Typing ``xi'an`` always
            gives the other reading.
        beam_size: beams per segmentation in accurate mode (also the number of whole-input
            alternatives per segmentation). With the n-gram, 8 beams scored 2 points of dev
            character accuracy over 4 (84.6 / 82.6 %), 16 another 0.8 at twice the time.
        fast_beam_size: beams of fast mode's search over the encoder head with the n-gram.
        max_syllables: longest pinyin input, in syllables; longer input is an error.
        max_chars: longest text for ``g2p`` and prefix for ``generate``.
        max_new_tokens: the most characters one ``generate`` call may ask for.
        margin: whole-input candidates scoring within this (natural log) of the best are listed
            before prefix candidates.
        lm_weight: weight of the model directory's character n-gram (``lm.safetensors``, from
            ``pinhan lm``) in accurate conversion: None takes the weight stored with it (chosen on
            dev data), 0 turns the n-gram off.
        fast_lm_weight: the same for fast mode, where the n-gram turns the encoder head's
            per-position scores into a beam search (no decoder runs).
        gen_lm_weight: the same for ``generate``'s greedy and beam search.
    """

    max_context: int = 64
    max_paths: int = 1
    beam_size: int = 8
    fast_beam_size: int = 16
    max_syllables: int = 64
    max_chars: int = 256
    max_new_tokens: int = 64
    margin: float = 3.0
    lm_weight: float | None = None
    fast_lm_weight: float | None = None
    gen_lm_weight: float | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name in ("lm_weight", "fast_lm_weight", "gen_lm_weight"):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"inference setting {f.name} must be a number >= 0, got {value!r}")
        for name in ("max_paths", "beam_size", "fast_beam_size", "max_syllables", "max_chars", "max_new_tokens"):
            if getattr(self, name) < 1:
                raise ConfigError(f"inference setting {name} must be at least 1")


class Pinhan:
    """A loaded model: conversion, hanzi -> pinyin, continuation, input-method sessions."""

    def __init__(self, runner: Runner, vocab: Vocab, lexicon: Lexicon, config: InferenceConfig | None = None,
                 *, path: Path | None = None, backend: str = "torch", lm: CharNgram | None = None) -> None:
        self.config = config or InferenceConfig()
        self.runner, self.vocab, self.lexicon, self.path, self.backend = runner, vocab, lexicon, path, backend
        c = self.config
        def weight(setting: float | None, stored: str) -> float:  # the config's, else the n-gram's own
            return 0.0 if lm is None else float(lm.info.get(stored, 0.0) if setting is None else setting)

        lm_weight = weight(c.lm_weight, "fusion_weight")
        fast_weight = weight(c.fast_lm_weight, "fast_fusion_weight")
        gen_weight = weight(c.gen_lm_weight, "gen_fusion_weight")
        self.lm = lm if max(lm_weight, fast_weight, gen_weight) > 0 else None
        self.converter = Converter(runner, vocab, lexicon, max_context=c.max_context, max_paths=c.max_paths,
                                   beam_size=c.beam_size, fast_beam_size=c.fast_beam_size,
                                   max_syllables=c.max_syllables, margin=c.margin,
                                   lm=self.lm, lm_weight=lm_weight, fast_lm_weight=fast_weight)
        self.g2p_engine = G2P(runner, vocab, lexicon, max_context=c.max_context, max_chars=c.max_chars)
        self.generator = Generator(runner, vocab, lexicon, max_context=c.max_context, max_chars=c.max_chars,
                                   max_new_tokens=c.max_new_tokens, index=self.converter.index, lm=self.lm,
                                   lm_weight=gen_weight)

    def __repr__(self) -> str:
        return f"Pinhan(path={str(self.path)!r}, backend={self.backend!r}, chars={len(self.vocab.chars)})"

    # --- pinyin -> hanzi ----------------------------------------------------------------------
    def convert(self, pinyin: str, *, context: str = "", k: int = 5, mode: str = "accurate",
                fuzzy: Sequence[str] = (), abbreviations: bool = True) -> list[Candidate]:
        """Ranked candidates for typed pinyin: whole-input sentences, then words and characters
        covering its first syllables (see :mod:`pinhan.infer.convert`). ``mode`` is
        ``"accurate"`` (beam search) or ``"fast"`` (the encoder head); ``fuzzy`` names fuzzy rules
        (``"z-zh"``, ``"an-ang"``, ..., or ``"all"``)."""
        return self.convert_batch([(pinyin, context)], k=k, mode=mode, fuzzy=fuzzy, abbreviations=abbreviations)[0]

    def convert_batch(self, inputs: Sequence[str | tuple[str, str]], *, k: int = 5, mode: str = "accurate",
                      fuzzy: Sequence[str] = (), abbreviations: bool = True) -> list[list[Candidate]]:
        """:meth:`convert` for many inputs (pinyin strings or (pinyin, context) pairs) in one batch."""
        return self.converter.convert_batch(_sequence(inputs, "inputs"), k=k, mode=mode, fuzzy=fuzzy,
                                            abbreviations=abbreviations)

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

    # --- input method -------------------------------------------------------------------------
    def session(self, *, context: str = "", k: int = 9, mode: str = "accurate", fuzzy: Sequence[str] = ()):
        """An input-method session (see :class:`pinhan.infer.session.Session`)."""
        from pinhan.infer.session import Session

        return Session(self, context=context, k=k, mode=mode, fuzzy=fuzzy)


def _sequence(items, name: str) -> list:
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise InputError(f"{name} must be a list, got {type(items).__name__}")
    return list(items)


def default_model_dir() -> Path | None:
    """The default model: ``$PINHAN_MODEL`` if set, else the one shipped in the package (if any)."""
    if os.environ.get(DEFAULT_MODEL_ENV):
        return Path(os.environ[DEFAULT_MODEL_ENV])
    shipped = Path(__file__).resolve().parent.parent / "assets" / "default_model"
    return shipped if (shipped / "config.json").is_file() else None


def load(path: str | os.PathLike | None = None, *, backend: str = "torch", config: InferenceConfig | None = None,
         threads: int | None = None, quantize: bool = False) -> Pinhan:
    """Load a model directory (``config.json``, weights, ``vocab.json``, ``lexicon.json``).

    Args:
        path: the directory; None for the default model.
        backend: ``"torch"`` or ``"onnx"`` (onnxruntime; the directory must hold an ``onnx/``
            export from ``pinhan export --onnx``, or be one).
        config: limits and decoding settings (:class:`InferenceConfig`).
        threads: intra-op threads (None: the library's default).
        quantize: onnx only: use the int8 (dynamically quantized) export.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if path is None:
        path = default_model_dir()
        if path is None:
            raise CheckpointError("no default model is installed; pass a model directory (e.g. runs/small/best) "
                                  f"or set {DEFAULT_MODEL_ENV}")
    directory = Path(path)
    if not directory.is_dir():
        raise CheckpointError(f"model directory {directory} does not exist")
    vocab, lexicon = _load_tables(directory)
    if backend == "torch":
        import torch

        from pinhan.infer.runner import TorchRunner
        from pinhan.model.io import load_model

        if threads:
            torch.set_num_threads(threads)
        if quantize:
            raise ConfigError("quantize is for the onnx backend (export with --int8, load with backend='onnx')")
        runner: Runner = TorchRunner(load_model(directory))
    else:
        from pinhan.infer.onnx_runner import OnnxRunner

        runner = OnnxRunner.load(_onnx_source(directory), threads=threads, quantized=quantize)
    if len(vocab.chars) != runner.n_chars or len(vocab.syllables) != runner.n_syllables:
        raise CheckpointError(f"{directory}: vocab.json does not match the model's vocabulary sizes")
    config = config or InferenceConfig()
    trained_context = _trained_context(directory)
    if trained_context is not None and config.max_context > trained_context:
        config = replace(config, max_context=trained_context)
    lm = None
    if (directory / LM_FILE).is_file() and any(w != 0 for w in (config.lm_weight, config.fast_lm_weight, config.gen_lm_weight)):
        lm = CharNgram.load(directory / LM_FILE)
        if lm.vocab_size != len(vocab.chars):
            raise CheckpointError(f"{directory / LM_FILE} was built for {lm.vocab_size} characters, "
                                  f"the model has {len(vocab.chars)}: rebuild it with pinhan lm")
    return Pinhan(runner, vocab, lexicon, config, path=directory, backend=backend, lm=lm)


def _onnx_source(directory: Path) -> Path:
    """``directory`` if it holds an ONNX export (in it or in ``onnx/``), else an export made once
    into the cache (``$PINHAN_CACHE``, default ``~/.cache/pinhan``), keyed by the weights' hash:
    the default model lives inside the installed package, which should stay as installed."""
    import sys

    from pinhan.infer.export import export_onnx
    from pinhan.infer.onnx_runner import MANIFEST, file_sha256
    from pinhan.model.io import WEIGHTS_FILE

    if any((d / MANIFEST).is_file() for d in (directory, directory / "onnx")) or not (directory / WEIGHTS_FILE).is_file():
        return directory  # an export (or a directory whose problem OnnxRunner.load names)
    cache = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "pinhan") / "onnx"
    out = cache / file_sha256(directory / WEIGHTS_FILE)[:16]
    if not (out / MANIFEST).is_file():
        print(f"pinhan: exporting {directory} to ONNX once, into {out}", file=sys.stderr)
        out.parent.mkdir(parents=True, exist_ok=True)
        export_onnx(directory, out, int8=True, overwrite=True)
    return out


def _trained_context(directory: Path) -> int | None:
    """The committed-context length the model's training examples had, if its config.json says."""
    import json

    try:
        recipe = json.loads((directory / "config.json").read_text(encoding="utf-8")).get("recipe") or {}
        value = (recipe.get("examples") or {}).get("max_context")
    except (OSError, ValueError, AttributeError):
        return None  # the runner has already read config.json; an odd recipe only loses the cap
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _load_tables(directory: Path) -> tuple[Vocab, Lexicon]:
    for name in ("vocab.json", "lexicon.json"):
        if not (directory / name).is_file():
            raise CheckpointError(f"{directory} has no {name}: not a pinhan model directory")
    return Vocab.load(directory / "vocab.json"), Lexicon.load(directory / "lexicon.json")
