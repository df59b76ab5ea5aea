"""Running the app under uvicorn: one process, or N worker processes that each load the model.

::

    from pinhan.serve import ServeConfig, run_server
    run_server(ServeConfig(max_k=10), "runs/small/best", port=8000, workers=2)   # or: pinhan serve

The default backend is onnxruntime with the int8 graphs (exported once into the cache if the model
directory holds no export): on the default model it answers in about half the time of torch at the
same accuracy (benchmarks/RESULTS.md, "Inference latency"); ``backend="torch"`` is still there.
uvicorn runs with :func:`uvicorn_settings`: ServeConfig's connection cap and head timeout through
:class:`~pinhan.serve.protocol.GuardedHTTP`.

Worker processes import :func:`app_from_env`; the model directory, load options and ServeConfig
travel to them in environment variables, since uvicorn starts them from an import string.
"""

import dataclasses
import json
import os
import resource
from pathlib import Path

import uvicorn

import pinhan
from pinhan.config import from_mapping
from pinhan.errors import ConfigError
from pinhan.loader import default_model_dir
from pinhan.model.io import check_directory
from pinhan.serve.app import create_app
from pinhan.serve.schemas import ServeConfig

ENV_MODEL = "PINHAN_SERVE_MODEL"  # set by run_server for worker processes (see app_from_env)
ENV_CONFIG = "PINHAN_SERVE_CONFIG"  # ServeConfig as JSON, without infer
ENV_LOAD = "PINHAN_SERVE_LOAD"  # pinhan.load options (backend, threads, quantize, config: ServeConfig.infer) as JSON
ENV_USER_DIR = "PINHAN_SERVE_USER_DIR"  # --user-dir: where user histories live (pinhan.serve.users)
DEFAULT_BACKEND = "onnx"  # with quantize: int8 (see the module docstring)
SPARE_FILES = 64  # open files a worker needs besides its connections: the model, libraries, logs


def run_server(config: ServeConfig, model_dir: str | Path | None = None, *, host: str = "127.0.0.1", port: int = 8000,
               workers: int = 1, backend: str = DEFAULT_BACKEND, threads: int | None = None,
               quantize: bool | None = None, log_level: str = "info", access_log: bool = True,
               user_dir: str | Path | None = None) -> None:
    """Serve the model in ``model_dir`` (default: :func:`~pinhan.loader.default_model_dir`)
    until interrupted; ``config.infer`` holds its decoding settings. Each worker process loads the
    model and runs one inference thread; they share nothing. ``quantize`` None: int8 on onnx."""
    if workers < 1:
        raise ConfigError("--workers must be at least 1")
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be in 0..65535, got {port}")
    ensure_open_files(config.max_connections + SPARE_FILES)
    load = {"backend": backend, "threads": threads, "quantize": backend == "onnx" if quantize is None else quantize}
    options = dict(host=host, port=port, log_level=log_level, access_log=access_log, **uvicorn_settings(config))
    if workers == 1:
        model = pinhan.load(model_dir, **load, config=config.infer)
        model.warm_up()  # before the socket opens: the first users do not wait for lazy loading
        uvicorn.run(create_app(model, config, user_dir=user_dir), **options)
        return
    model = Path(model_dir) if model_dir else default_model_dir()
    if model is None:
        raise ConfigError("no default model; pass --model DIR")
    check_directory(model)
    settings = dataclasses.asdict(config)
    os.environ[ENV_MODEL] = str(model.resolve())
    os.environ[ENV_LOAD] = json.dumps({**load, "config": settings.pop("infer")})
    os.environ[ENV_CONFIG] = json.dumps(settings)
    if user_dir is not None:  # shared by the workers: each sees every other's learning
        os.environ[ENV_USER_DIR] = str(Path(user_dir).expanduser().resolve())
    uvicorn.run("pinhan.serve.server:app_from_env", factory=True, workers=workers, **options)


def uvicorn_settings(config: ServeConfig) -> dict:
    """Keyword arguments of ``uvicorn.run`` / ``uvicorn.Config`` that apply ``config``'s connection
    settings: the protocol class by name (worker processes import it), which reads the head
    deadline from ``timeout_keep_alive`` and the cap from ``limit_concurrency``; the body deadline
    is the app's (:func:`~pinhan.serve.app.create_app`)."""
    return {"http": "pinhan.serve.protocol:GuardedHTTP", "timeout_keep_alive": config.header_timeout_s,
            "limit_concurrency": config.max_connections}


def ensure_open_files(needed: int) -> None:
    """Raise this process's open-file limit to ``needed`` if it is lower (up to the hard limit):
    a server that runs out of descriptors cannot accept even ``/healthz``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise ConfigError(f"max_connections needs {needed} open files per worker, but the limit is {hard} "
                              f"(ulimit -n): lower max_connections or raise the limit")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def app_from_env():
    """The app factory for uvicorn worker processes (``pinhan serve --workers N``): the model
    directory, load options and ServeConfig come from environment variables set by :func:`run_server`."""
    options = json.loads(os.environ.get(ENV_LOAD) or "{}")
    settings = json.loads(os.environ.get(ENV_CONFIG) or "{}")
    inference = options.pop("config", None)
    if inference is not None:
        settings["infer"] = inference
    config = from_mapping(ServeConfig, settings, where="serve")
    model = pinhan.load(os.environ.get(ENV_MODEL) or None, **options, config=config.infer)
    model.warm_up()
    return create_app(model, config, user_dir=os.environ.get(ENV_USER_DIR) or None)
