"""Serving: a FastAPI JSON API with micro-batched inference, Prometheus metrics and a web input
method page (``pinhan serve``).

::

    from pinhan.serve import ServeConfig, create_app
    app = create_app(pinhan.load("runs/small/best"), ServeConfig())

Modules: :mod:`~pinhan.serve.schemas` (ServeConfig, request/response shapes),
:mod:`~pinhan.serve.batching` (the one inference thread), :mod:`~pinhan.serve.metrics`,
:mod:`~pinhan.serve.app` (routes), ``static/`` (the page). Names load lazily, so that the
``pinhan`` command lists ``serve`` without importing FastAPI.
"""

from __future__ import annotations

__all__ = ["ServeConfig", "create_app"]


def __getattr__(name: str):
    if name == "ServeConfig":
        from pinhan.serve.schemas import ServeConfig

        return ServeConfig
    if name == "create_app":
        from pinhan.serve.app import create_app

        return create_app
    raise AttributeError(f"module 'pinhan.serve' has no attribute {name!r}")
