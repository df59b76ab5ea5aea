"""Side-by-side peer harness: other pinyin->hanzi engines on the project's benchmark sets.

``install.sh`` installs the engines (Debian packages, PyPI ``Pinyin2Hanzi``) and builds the
harnesses in ``src/`` into ``build/``; :mod:`benchmarks.engines.peers` runs and scores them
(``python -m benchmarks.engines.peers --help``).

The names below are loaded from :mod:`.peers` on first use, so that running that module
with ``python -m`` does not import it twice.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "ENGINES",
    "EngineError",
    "EngineRun",
    "EngineUnavailable",
    "available_engines",
    "bench_input",
    "engine_notes",
    "run_engine",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module(".peers", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
