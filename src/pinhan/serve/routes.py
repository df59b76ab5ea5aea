"""The service's routes: module-level handlers on FastAPI routers; :func:`~pinhan.serve.app.create_app`
includes them.

The handlers reach the app's state (``app.state.batcher``, ``.config``, ``.metrics``, set by
``create_app``) through FastAPI dependencies, so one handler serves every app. The API routes'
request models carry each app's limits (:func:`~pinhan.serve.schemas.build_request_models`), so
:func:`api_router` types each handler's ``body`` with them per app; the other routes are fixed
and live on :data:`router`.
"""

import functools
import inspect
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated

from fastapi import APIRouter, Depends, Path as PathParam, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response

from pinhan.pinyin.fuzzy import FUZZY_RULES
from pinhan.pinyin.scan import APOSTROPHES
from pinhan.serve.batching import Batcher
from pinhan.serve.metrics import Metrics
from pinhan.serve.schemas import (USER_PATTERN, ConvertResponse, ErrorBody, ForgetResponse, G2PResponse,
                                  GenerateResponse, Health, LearnResponse, PredictResponse, ServeConfig)
from pinhan.serve.users import UserRegistry

STATIC_DIR = Path(__file__).resolve().parent / "static"
API_ROUTES = {"/v1/convert", "/v1/g2p", "/v1/generate", "/v1/predict", "/v1/learn"}
ROUTES = API_ROUTES | {"/", "/healthz", "/metrics", "/docs", "/openapi.json"}

_ERRORS = {status: {"model": ErrorBody, "description": text} for status, text in (
    (413, "the body is larger than max_body_bytes"), (422, "the request breaks the schema, or the model cannot read the input"),
    (503, "the queue is full; retry shortly"), (504, "no answer within timeout_s"))}


# --- the app's state, as dependencies (async: FastAPI would run a plain function in a thread) ----

async def _batcher(request: Request) -> Batcher:
    return request.app.state.batcher


async def _config(request: Request) -> ServeConfig:
    return request.app.state.config


async def _metrics(request: Request) -> Metrics:
    return request.app.state.metrics


async def _users(request: Request) -> UserRegistry:
    return request.app.state.users


BatcherDep = Annotated[Batcher, Depends(_batcher)]
UsersDep = Annotated[UserRegistry, Depends(_users)]
ConfigDep = Annotated[ServeConfig, Depends(_config)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]


# --- API (no docstrings: FastAPI would publish them as the operations' descriptions) -------------

async def convert(body, batcher: BatcherDep, users: UsersDep):
    # One batch key per rule set; "all" is spelt out (Converter reads a string as rule names).
    fuzzy = tuple(sorted(FUZZY_RULES if "all" in body.fuzzy else set(body.fuzzy)))
    user = await run_in_threadpool(users.get, body.user) if body.user else None  # may read its file
    candidates = await batcher.convert(body.pinyin, context=body.context, k=body.k, mode=body.mode, fuzzy=fuzzy,
                                       user=user)
    return {"pinyin": body.pinyin, "context": body.context, "candidates": [c.to_dict() for c in candidates]}


async def learn(body, batcher: BatcherDep, users: UsersDep):
    converter = getattr(batcher.model, "converter", None)
    by_lattice = getattr(converter, "by_lattice", None)
    pieces = [(p.text, p.pinyin) for p in body.pieces]
    if by_lattice is None:  # a model without a word lattice has nothing to mix a history into
        return {"user": body.user, "words": 0}
    user = await run_in_threadpool(users.learn, body.user, by_lattice.lattice, pieces)
    return {"user": body.user, "words": len(user)}


async def forget(user_id: Annotated[str, PathParam(pattern=USER_PATTERN)], users: UsersDep):
    return {"user": user_id, "forgotten": await run_in_threadpool(users.forget, user_id)}


async def g2p(body, batcher: BatcherDep):
    return (await batcher.g2p(body.text, tones=body.tones)).to_dict()


async def generate(body, batcher: BatcherDep):
    options = body.model_dump(exclude={"prefix"})
    hint = options["pinyin_hint"]
    if hint is not None and all(c in APOSTROPHES or c.isspace() for c in hint):
        options["pinyin_hint"] = None  # separators only: no hint (Generator fails on it, see the report)
    continuations = await batcher.generate(body.prefix, **options)
    return {"prefix": body.prefix, "continuations": [c.to_dict() for c in continuations]}


async def predict(body, batcher: BatcherDep):
    predictions = await batcher.predict(body.context, k=body.k)
    return {"context": body.context, "candidates": [p.to_dict() for p in predictions]}


def api_router(models: SimpleNamespace) -> APIRouter:
    """The API routes with the request models of one app (limits from its ServeConfig)."""
    api = APIRouter()
    for path, handler, body, response, summary in (
            ("/v1/convert", convert, models.ConvertRequest, ConvertResponse, "pinyin -> ranked hanzi candidates"),
            ("/v1/g2p", g2p, models.G2PRequest, G2PResponse, "hanzi -> pinyin, polyphones resolved"),
            ("/v1/generate", generate, models.GenerateRequest, GenerateResponse, "continuations of a hanzi prefix"),
            ("/v1/predict", predict, models.PredictRequest, PredictResponse, "the likeliest next words (联想)"),
            ("/v1/learn", learn, models.LearnRequest, LearnResponse, "learn what a user committed")):
        api.add_api_route(path, _with_body(handler, body), methods=["POST"], response_model=response,
                          responses=_ERRORS, tags=["api"], summary=summary)
    api.add_api_route("/v1/user/{user_id}", forget, methods=["DELETE"], response_model=ForgetResponse,
                      responses=_ERRORS, tags=["api"], summary="forget a user's history")
    return api


def _with_body(handler, model: type):
    """``handler`` with its ``body`` parameter typed as ``model``, which is what FastAPI reads the
    request body into; a wrapper, so that the module-level handler stays shared by every app."""
    @functools.wraps(handler)
    async def endpoint(*args, **kwargs):
        return await handler(*args, **kwargs)

    signature = inspect.signature(handler)
    endpoint.__signature__ = signature.replace(parameters=[
        p.replace(annotation=model) if p.name == "body" else p for p in signature.parameters.values()])
    return endpoint


# --- operations and the page ---------------------------------------------------------------------

router = APIRouter()


@router.get("/healthz", response_model=Health, tags=["operations"], responses={503: {"model": Health}})
async def healthz(batcher: BatcherDep, config: ConfigDep):
    batcher.start()  # no-op when running; restarts a worker that died
    limits = {name: getattr(config, name) for name in
              ("max_pinyin_chars", "max_context_chars", "max_text_chars", "max_k", "max_new_tokens", "max_beams")}
    body = {"status": "ok" if batcher.alive else "unavailable", "backend": getattr(batcher.model, "backend", "torch"),
            "queued": batcher.queued, "limits": limits}
    return JSONResponse(body, status_code=200 if batcher.alive else 503)


@router.get("/metrics", tags=["operations"], response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}})
async def prometheus(metrics: MetricsDep):
    return Response(metrics.render(), media_type=metrics.content_type)


@router.get("/", include_in_schema=False)
async def index():
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")


# HEAD where GET is (monitors and load balancers probe with it), kept out of the OpenAPI schema,
# which would list each route twice under one operation id; uvicorn drops the body.
for _path, _handler in (("/healthz", healthz), ("/", index)):
    router.add_api_route(_path, _handler, methods=["HEAD"], include_in_schema=False)
