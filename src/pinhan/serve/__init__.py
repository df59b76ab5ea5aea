"""Serving: a FastAPI JSON API with micro-batched inference, Prometheus metrics and a web input
method page (``pinhan serve``).

::

    from pinhan.serve import ServeConfig, create_app
    app = create_app(pinhan.load("runs/small/best"), ServeConfig())

Modules: :mod:`~pinhan.serve.schemas` (ServeConfig, request/response shapes),
:mod:`~pinhan.serve.batching` (the one inference thread), :mod:`~pinhan.serve.metrics`,
:mod:`~pinhan.serve.routes` (the handlers, on FastAPI routers), :mod:`~pinhan.serve.app`
(``create_app``: state, errors as JSON, the body limit), :mod:`~pinhan.serve.server`
(``run_server`` under uvicorn, worker processes), :mod:`~pinhan.serve.protocol` (uvicorn's HTTP
protocol with a head deadline and a connection cap), ``static/`` (the page). Names load lazily, so
that the ``pinhan`` command lists ``serve`` without importing FastAPI.

May import: ``pinhan.load`` and :mod:`pinhan.loader` (default_model_dir), infer's public names,
``pinhan.errors``, ``pinhan.config`` and the layers below infer (pinyin); never train/ or
data/examples (the runtime carries no training code).
"""

from __future__ import annotations

__all__ = ["ServeConfig", "create_app", "run_server"]


def __getattr__(name: str):
    if name == "ServeConfig":
        from pinhan.serve.schemas import ServeConfig

        return ServeConfig
    if name == "create_app":
        from pinhan.serve.app import create_app

        return create_app
    if name == "run_server":
        from pinhan.serve.server import run_server

        return run_server
    raise AttributeError(f"module 'pinhan.serve' has no attribute {name!r}")
