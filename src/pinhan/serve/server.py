"""Running the app under uvicorn: one process, or N worker processes that each load the model.

::

    from pinhan.serve import ServeConfig, run_server
    run_server(ServeConfig(max_k=10), "runs/small/best", port=8000, workers=2)   # or: pinhan serve

Worker processes import :func:`app_from_env`; the model directory, load options and ServeConfig
travel to them in environment variables, since uvicorn starts them from an import string.
"""

import dataclasses
import json
import os
from pathlib import Path

import uvicorn

import pinhan
from pinhan.config import from_mapping
from pinhan.errors import ConfigError
from pinhan.loader import default_model_dir
from pinhan.serve.app import create_app
from pinhan.serve.schemas import ServeConfig

ENV_MODEL = "PINHAN_SERVE_MODEL"  # set by run_server for worker processes (see app_from_env)
ENV_CONFIG = "PINHAN_SERVE_CONFIG"  # ServeConfig as JSON, without infer
ENV_LOAD = "PINHAN_SERVE_LOAD"  # pinhan.load options (backend, threads, quantize, config: ServeConfig.infer) as JSON


def run_server(config: ServeConfig, model_dir: str | Path | None = None, *, host: str = "127.0.0.1", port: int = 8000,
               workers: int = 1, backend: str = "torch", threads: int | None = None, quantize: bool = False,
               log_level: str = "info", access_log: bool = True) -> None:
    """Serve the model in ``model_dir`` (default: :func:`~pinhan.loader.default_model_dir`)
    until interrupted; ``config.infer`` holds its decoding settings. Each worker process loads the
    model and runs one inference thread; they share nothing."""
    if workers < 1:
        raise ConfigError("--workers must be at least 1")
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be in 0..65535, got {port}")
    load = {"backend": backend, "threads": threads, "quantize": quantize}
    if workers == 1:
        app = create_app(pinhan.load(model_dir, **load, config=config.infer), config)
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=access_log)
        return
    model = Path(model_dir) if model_dir else default_model_dir()
    if model is None or not model.is_dir():
        raise ConfigError(f"model directory {model} does not exist" if model else "no default model; pass --model DIR")
    settings = dataclasses.asdict(config)
    os.environ[ENV_MODEL] = str(model.resolve())
    os.environ[ENV_LOAD] = json.dumps({**load, "config": settings.pop("infer")})
    os.environ[ENV_CONFIG] = json.dumps(settings)
    uvicorn.run("pinhan.serve.server:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level=log_level, access_log=access_log)


def app_from_env():
    """The app factory for uvicorn worker processes (``pinhan serve --workers N``): the model
    directory, load options and ServeConfig come from environment variables set by :func:`run_server`."""
    options = json.loads(os.environ.get(ENV_LOAD) or "{}")
    settings = json.loads(os.environ.get(ENV_CONFIG) or "{}")
    inference = options.pop("config", None)
    if inference is not None:
        settings["infer"] = inference
    config = from_mapping(ServeConfig, settings, where="serve")
    return create_app(pinhan.load(os.environ.get(ENV_MODEL) or None, **options, config=config.infer), config)
