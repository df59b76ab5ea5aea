"""pinhan: pinyin<->hanzi Transformer models — train, fine-tune, evaluate, serve.

>>> import pinhan
>>> model = pinhan.load("runs/small/best")      # doctest: +SKIP
>>> model.convert("zhongguowenhua")[0].text      # doctest: +SKIP
'中国文化'

The package, lowest layer first (each may import only the layers before it): ``errors``, ``ids``,
``config`` (shared plumbing) -> ``pinyin`` (keystrokes -> syllable lattice) -> ``model`` (the
Transformer, its config and weights) -> ``data`` (corpora, vocabulary, lexicon, lookup tables,
the model directory) -> ``lm`` (the character n-gram) -> ``infer`` (decoding and the model object)
-> ``deploy`` (ONNX export and runner) -> ``loader`` (``pinhan.load``) -> ``eval`` (metrics,
benchmark runs) -> ``train`` (the training loop, fine-tuning) -> ``serve`` (the HTTP service) ->
``cli`` (the ``pinhan`` command). The runtime (infer, deploy, serve) never imports training code.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["load", "InferenceConfig", "__version__"]


def load(path=None, **options):
    """Load a model directory (None: the default model); see :func:`pinhan.loader.load`."""
    from pinhan.loader import load as _load  # torch is imported only when a model is loaded

    return _load(path, **options)


def __getattr__(name: str):
    if name == "InferenceConfig":  # the settings of a loaded model, importable without torch
        from pinhan.infer.config import InferenceConfig

        return InferenceConfig
    raise AttributeError(f"module 'pinhan' has no attribute {name!r}")
