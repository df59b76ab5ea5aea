"""pinhan: pinyin<->hanzi Transformer models — train, fine-tune, evaluate, serve.

>>> import pinhan
>>> model = pinhan.load("runs/small/best")      # doctest: +SKIP
>>> model.convert("zhongguowenhua")[0].text      # doctest: +SKIP
'中国文化'
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["load", "__version__"]


def load(path=None, **options):
    """Load a model directory (None: the default model); see :func:`pinhan.infer.api.load`."""
    from pinhan.infer.api import load as _load  # torch is imported only when a model is loaded

    return _load(path, **options)
