"""``pinhan.load()``: the composition root of the runtime.

It reads a model directory (:class:`~pinhan.data.model_dir.ModelDir`), picks a backend (torch, or
onnxruntime from :mod:`pinhan.deploy.onnx`), loads the n-gram if the settings use it, and builds
one :class:`~pinhan.infer.api.Pinhan`. It sits above infer and deploy, so that neither imports
the other's way up; everything else (serve, eval, the CLI) loads models through it.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from pinhan.data.model_dir import ModelDir
from pinhan.errors import ConfigError
from pinhan.infer.api import Pinhan
from pinhan.infer.bundle import ModelBundle
from pinhan.infer.config import InferenceConfig
from pinhan.model.io import CheckpointError

BACKENDS = ("torch", "onnx")
DEFAULT_MODEL_ENV = "PINHAN_MODEL"  # a model directory to use when none is given
SHIPPED_MODEL = Path(__file__).resolve().parent / "assets" / "default_model"


def default_model_dir() -> Path | None:
    """The default model: ``$PINHAN_MODEL`` if set, else the one shipped in the package (if any)."""
    if os.environ.get(DEFAULT_MODEL_ENV):
        return Path(os.environ[DEFAULT_MODEL_ENV])
    return SHIPPED_MODEL if (SHIPPED_MODEL / ModelDir.CONFIG).is_file() else None


def load(path: str | os.PathLike | None = None, *, backend: str = "torch", config: InferenceConfig | None = None,
         threads: int | None = None, quantize: bool = False) -> Pinhan:
    """Load a model directory (``config.json``, weights, ``vocab.json``, ``lexicon.json``).

    Args:
        path: the directory; None for the default model.
        backend: ``"torch"`` or ``"onnx"`` (onnxruntime; the directory must hold an ``onnx/``
            export from ``pinhan export --onnx``, or be one; a model without one is exported
            once into the cache).
        config: limits and decoding settings (:class:`~pinhan.infer.config.InferenceConfig`).
        threads: intra-op threads (None: the library's default), for the network's backend and
            for numpy's BLAS (the polyphone head runs in numpy; a BLAS that starts its own threads
            for it stalls behind other busy cores).
        quantize: onnx only: use the int8 (dynamically quantized) export.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if path is None:
        path = default_model_dir()
        if path is None:
            raise CheckpointError("no default model is installed; pass a model directory (e.g. runs/small/best) "
                                  f"or set {DEFAULT_MODEL_ENV}")
    directory = ModelDir(path).check()
    vocab, lexicon = directory.tables()
    if threads:
        _limit_blas_threads(threads)
    runner = _torch_runner(directory, threads, quantize) if backend == "torch" else _onnx_runner(directory, threads, quantize)
    directory.check_sizes(vocab, runner.n_chars, runner.n_syllables)
    config = config or InferenceConfig()
    trained_context = directory.trained_context()
    if trained_context is not None and config.max_context > trained_context:
        config = replace(config, max_context=trained_context)
    lm = _ngram(directory, len(vocab.chars)) if directory.has_ngram() and config.uses_ngram() else None
    bundle = ModelBundle(runner, vocab, lexicon, lm=lm, path=directory.path, backend=backend)
    if config.words:
        bundle.lattice(config.word_beam)  # read the word model (if any) now, not on the first request
    return Pinhan(bundle, config)


def _limit_blas_threads(threads: int) -> None:
    """numpy's BLAS to ``threads`` threads for the process, as torch.set_num_threads does for torch
    (threadpoolctl; the limit stays until changed)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")


def _torch_runner(directory: ModelDir, threads: int | None, quantize: bool):
    import torch

    from pinhan.infer.runner import TorchRunner
    from pinhan.model.io import load_model

    if threads:
        torch.set_num_threads(threads)
    if quantize:
        raise ConfigError("quantize is for the onnx backend (export with --int8, load with backend='onnx')")
    return TorchRunner(load_model(directory.path))


def _onnx_runner(directory: ModelDir, threads: int | None, quantize: bool):
    from pinhan.deploy.onnx.export import cached_export
    from pinhan.deploy.onnx.runner import OnnxRunner

    return OnnxRunner.load(cached_export(directory.path), threads=threads, quantized=quantize)


def _ngram(directory: ModelDir, n_chars: int):
    from pinhan.lm.ngram import CharNgram

    lm = CharNgram.load(directory.ngram)
    if lm.vocab_size != n_chars:
        raise CheckpointError(f"{directory.ngram} was built for {lm.vocab_size} characters, "
                              f"the model has {n_chars}: rebuild it with pinhan lm")
    return lm
