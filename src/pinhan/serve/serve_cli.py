"""Serve the JSON API and the web input method: pinhan serve [--model DIR] [--host 127.0.0.1]
[--port 8000] [--workers N] [--backend torch|onnx [--int8]] [--threads N] [--config serve.yaml]
[key=value ...]

Overrides set :class:`~pinhan.serve.schemas.ServeConfig` fields: max_k=10 batch_window_ms=5
timeout_s=3 ..., and with an ``infer.`` prefix :class:`~pinhan.infer.api.InferenceConfig` fields,
the model's decoding settings: infer.max_paths=2 infer.max_context=16 (a yaml ``--config`` takes
them under ``infer:``). Open http://HOST:PORT/ for the input method, /docs for the API. Each worker
process loads the model and runs one inference thread; put several behind a load balancer to
scale out (they share nothing).
"""

from __future__ import annotations

import argparse

EXTRA_ARGS = "overrides"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="ServeConfig overrides, e.g. max_k=10; infer.KEY=VALUE sets a decoding setting (InferenceConfig)")
    parser.add_argument("--model", help="model directory (default: the default model, $PINHAN_MODEL)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes, each with its own model (default: 1)")
    parser.add_argument("--backend", choices=("torch", "onnx"), default="torch", help="inference backend (default: torch)")
    parser.add_argument("--int8", action="store_true", help="onnx backend: use the int8 export")
    parser.add_argument("--threads", type=int, help="intra-op threads per worker (default: the library's)")
    parser.add_argument("--config", help="a yaml file of ServeConfig fields")
    parser.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    parser.add_argument("--no-access-log", action="store_true", help="do not log every request")


def serve_config(args: argparse.Namespace):
    """(ServeConfig, InferenceConfig or None) from --config and the key=value overrides: the
    ``infer`` mapping holds decoding settings, everything else is the service's."""
    from pinhan.config import from_mapping, load_yaml, merge, parse_overrides
    from pinhan.errors import ConfigError
    from pinhan.infer.api import InferenceConfig
    from pinhan.serve.schemas import ServeConfig

    for item in args.overrides:
        if "=" not in item:
            raise ConfigError(f"unexpected argument {item!r}: overrides look like max_k=10")
    data = merge(load_yaml(args.config) if args.config else {}, parse_overrides(list(args.overrides)))
    infer = data.pop("infer", None)
    inference = None if infer is None else from_mapping(InferenceConfig, infer, where="serve.infer")
    return from_mapping(ServeConfig, data, where="serve"), inference


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import json
    import os

    import uvicorn

    from pinhan.errors import ConfigError

    if args.workers < 1:
        raise ConfigError("--workers must be at least 1")
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be in 0..65535, got {args.port}")
    config, inference = serve_config(args)
    if args.workers == 1:
        import pinhan
        from pinhan.serve.app import create_app

        model = pinhan.load(args.model, backend=args.backend, threads=args.threads, quantize=args.int8, config=inference)
        app = create_app(model, config)
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=not args.no_access_log)
        return 0
    # Worker processes import the app factory; the model path and settings travel in the environment.
    from pathlib import Path

    from pinhan.infer.api import default_model_dir
    from pinhan.serve import app as app_module

    model = Path(args.model) if args.model else default_model_dir()
    if model is None or not model.is_dir():
        raise ConfigError(f"model directory {model} does not exist" if model else "no default model; pass --model DIR")
    os.environ[app_module.ENV_MODEL] = str(model.resolve())
    os.environ[app_module.ENV_CONFIG] = json.dumps(dataclasses.asdict(config))
    os.environ[app_module.ENV_LOAD] = json.dumps({"backend": args.backend, "threads": args.threads, "quantize": args.int8,
                                                  "config": dataclasses.asdict(inference) if inference else None})
    uvicorn.run("pinhan.serve.app:app_from_env", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level=args.log_level, access_log=not args.no_access_log)
    return 0
