"""Serve the JSON API and the web input method: pinhan serve [--model DIR] [--host 127.0.0.1]
[--port 8000] [--workers N] [--backend onnx|torch] [--no-int8] [--threads N] [--config serve.yaml]
[--user-dir DIR] [key=value ...]

By default it serves the fastest configuration at the same accuracy: onnxruntime with the int8
graphs (the model is exported once into the cache if it has no export), about half torch's
latency (benchmarks/RESULTS.md, "Inference latency").

Overrides set :class:`~pinhan.serve.schemas.ServeConfig` fields: max_k=10 batch_window_ms=5
timeout_s=3 header_timeout_s=10 body_timeout_s=10 max_connections=256 ..., and with an ``infer.``
prefix :class:`~pinhan.infer.config.InferenceConfig` fields, the model's decoding settings:
infer.max_paths=2 infer.max_context=16 (a yaml ``--config`` takes them under ``infer:``). Open
http://HOST:PORT/ for the input method, /docs for the API. Each worker process loads the model and
runs one inference thread; put several behind a load balancer to scale out (they share nothing).
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
    parser.add_argument("--backend", choices=("onnx", "torch"), default="onnx",
                        help="inference backend (default: onnx, with int8 graphs: the fastest at the same accuracy)")
    parser.add_argument("--int8", action=argparse.BooleanOptionalAction, default=None,
                        help="onnx backend: the int8 graphs (default) or, with --no-int8, the float32 ones")
    parser.add_argument("--threads", type=int, help="intra-op threads per worker (default: the library's)")
    parser.add_argument("--config", help="a yaml file of ServeConfig fields")
    parser.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    parser.add_argument("--no-access-log", action="store_true", help="do not log every request")
    parser.add_argument("--user-dir", help="keep each user's learning (POST /v1/learn) in this directory, shared by "
                                           "the workers (default: in each worker's memory only)")


def serve_config(args: argparse.Namespace):
    """The ServeConfig of --config and the key=value overrides (its ``infer`` holds decoding settings)."""
    from pinhan.config import resolve_config
    from pinhan.serve.schemas import ServeConfig

    return resolve_config(ServeConfig, args.config, args.overrides, where="serve")


def run(args: argparse.Namespace) -> int:
    from pinhan.serve.server import run_server

    run_server(serve_config(args), args.model, host=args.host, port=args.port, workers=args.workers,
               backend=args.backend, threads=args.threads, quantize=args.int8, log_level=args.log_level,
               access_log=not args.no_access_log, user_dir=args.user_dir)
    return 0
