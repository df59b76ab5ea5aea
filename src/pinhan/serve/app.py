"""The FastAPI app: JSON API, metrics, OpenAPI docs and the web input method.

::

    import pinhan
    from pinhan.serve import ServeConfig, create_app
    app = create_app(pinhan.load("runs/small/best"), ServeConfig(max_k=10))
    # uvicorn.run(app, host="127.0.0.1", port=8000)      or: pinhan serve --model runs/small/best

Routes: ``POST /v1/convert``, ``POST /v1/g2p``, ``POST /v1/generate``, ``POST /v1/predict``, ``GET /healthz``,
``GET /metrics``, ``GET /docs`` (Swagger UI, served locally when ``fastapi-offline`` is installed),
``GET /openapi.json`` and the page at ``/`` (files under ``/static``). Their handlers live in
:mod:`pinhan.serve.routes` and reach this app's state (batcher, config, metrics, set here on
``app.state``) through FastAPI dependencies.

Every answer that is not a success is JSON ``{"error": code, "message": ..., ...}`` (see
:class:`~pinhan.serve.schemas.ErrorBody`): 422 for a request that breaks the schema or input the
model cannot read, 404/405 for a wrong URL or method (a trailing slash too: no redirect), 408
for a body that has not all arrived within ``body_timeout_s`` (the connection then closes), 413
for a body over ``max_body_bytes``, 503 when the queue is full or the connection is one over
``max_connections`` (:mod:`pinhan.serve.protocol`), 504 when the answer takes longer than
``timeout_s``. An unexpected exception is logged with its traceback and answered 500 with its
type only.
"""

import asyncio
import json
import logging
import time
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

import pinhan
from pinhan.errors import PinhanError
from pinhan.infer.user import UserSettings
from pinhan.serve.batching import Batcher, InferenceFailure, Overloaded, Timeout
from pinhan.serve.metrics import Metrics
from pinhan.serve.routes import ROUTES, STATIC_DIR, api_router, router
from pinhan.serve.schemas import ServeConfig, build_request_models
from pinhan.serve.users import UserRegistry

log = logging.getLogger("pinhan.serve")


def create_app(model, config: ServeConfig | None = None, user_dir: str | Path | None = None) -> FastAPI:
    """The service for one loaded model (:func:`pinhan.load`); ``config`` sets limits and batching;
    ``user_dir``: where user histories are kept (:mod:`pinhan.serve.users`; None: in memory)."""
    config = config or ServeConfig()
    models = build_request_models(config)
    metrics = Metrics(ROUTES, queue_depth=lambda: batcher.queued)
    batcher = Batcher(model, config, observe=metrics.observe_batch)
    offline_docs = _offline_docs_dir()
    # No redirect_slashes: its 307 would name whatever Host the client sent.
    app = FastAPI(title="pinhan", version=pinhan.__version__, lifespan=_lifespan, redoc_url=None,
                  redirect_slashes=False, docs_url=None if offline_docs else "/docs",
                  exception_handlers=_EXCEPTION_HANDLERS,
                  description="Pinyin -> hanzi candidates, hanzi -> pinyin, continuation. "
                              "Errors are JSON {error, message}; limits are in each request schema.")
    app.state.config, app.state.batcher, app.state.metrics = config, batcher, metrics
    app.state.users = UserRegistry(config.max_users, user_dir, UserSettings(max_words=config.max_user_words,
                                                                            max_bigrams=2 * config.max_user_words))
    app.state.request_models = {"/v1/convert": models.ConvertRequest, "/v1/g2p": models.G2PRequest,
                                "/v1/generate": models.GenerateRequest, "/v1/predict": models.PredictRequest,
                                "/v1/learn": models.LearnRequest}
    app.add_middleware(_Guard, metrics=metrics, max_body_bytes=config.max_body_bytes,
                       body_timeout_s=config.body_timeout_s)
    app.include_router(api_router(models))
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if offline_docs:
        app.mount("/docs-static", StaticFiles(directory=offline_docs), name="docs-static")
        app.add_api_route("/docs", docs, include_in_schema=False)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI):
    app.state.batcher.start()
    yield
    app.state.batcher.stop()


# --- errors: every failure is JSON {error, message, ...} ------------------------------------------

async def invalid_request(request: Request, exc: RequestValidationError):
    model_cls = request.app.state.request_models.get(request.url.path)
    allowed = ", ".join(model_cls.model_fields) if model_cls else ""
    details = [_describe(err, allowed) for err in exc.errors()]
    message = "; ".join(d["problem"] if d["field"] == "body" else f"{d['field']}: {d['problem']}" for d in details[:3])
    if len(details) > 3:
        message += f"; and {len(details) - 3} more"
    return _error(422, "invalid_request", message, details=details)


async def invalid_input(request: Request, exc: PinhanError):
    span = getattr(exc, "span", None)
    return _error(422, "invalid_input", str(exc), span=list(span) if span is not None else None)


async def overloaded(request: Request, exc: Overloaded):
    return _error(503, "overloaded", str(exc), headers={"Retry-After": "1"})


async def timed_out(request: Request, exc: Timeout):
    return _error(504, "timeout", str(exc))


async def failed(request: Request, exc: InferenceFailure):
    return _error(500, "internal", f"{exc}; this is a bug in the server, the request was fine")


async def http_error(request: Request, exc: StarletteHTTPException):
    code = {404: "not_found", 405: "method_not_allowed", 408: "request_timeout", 413: "too_large"}.get(
        exc.status_code, "http_error")
    message = {404: f"no such route: {request.method} {request.url.path} (see /docs)",
               405: f"{request.method} is not allowed on {request.url.path}"}.get(exc.status_code, str(exc.detail))
    return _error(exc.status_code, code, message, headers=getattr(exc, "headers", None))


_EXCEPTION_HANDLERS = {RequestValidationError: invalid_request, PinhanError: invalid_input, Overloaded: overloaded,
                       Timeout: timed_out, InferenceFailure: failed, StarletteHTTPException: http_error}


# --- helpers ------------------------------------------------------------------------------------

def _error(status: int, code: str, message: str, *, headers: dict | None = None, **extra) -> JSONResponse:
    body = {"error": code, "message": message, **{k: v for k, v in extra.items() if v is not None}}
    return JSONResponse(body, status_code=status, headers=headers)


def _describe(err: dict, allowed: str) -> dict:
    """One pydantic error as {field, problem, type}, without echoing the input (which may be huge
    or not JSON at all)."""
    kind = err.get("type", "")
    loc = [str(part) for part in err.get("loc", ()) if part != "body"]
    field = "body" if kind == "json_invalid" else ".".join(loc) or "body"
    if kind == "extra_forbidden":
        problem = f"unknown field; this endpoint takes {allowed}" if allowed else "unknown field"
    elif kind == "missing" and field == "body":
        problem = "a JSON object body is required"
    elif kind == "missing":
        problem = "required"
    elif kind in ("model_attributes_type", "dict_type", "model_type") and field == "body":
        problem = "the body must be a JSON object (Content-Type: application/json)"
    elif kind == "json_invalid":
        at = f" at character {loc[0]}" if loc else ""
        problem = f"the body is not valid JSON{at} ({(err.get('ctx') or {}).get('error', 'parse error')})"
    else:
        problem = str(err.get("msg", "invalid"))
        if kind.endswith("_type") and "input" in err:
            problem += f" (got {_JSON_TYPES.get(type(err['input']), type(err['input']).__name__)})"
    return {"field": field, "problem": problem, "type": kind}


_JSON_TYPES = {str: "a string", int: "an integer", float: "a number", bool: "true/false", type(None): "null",
               list: "an array", dict: "an object"}


class _Guard:
    """ASGI middleware around every request: metrics, the body size limit and deadline, and the
    last line of defence that turns any exception that escaped the routes into a JSON 500 (never a
    traceback)."""

    def __init__(self, app, metrics: Metrics, max_body_bytes: int, body_timeout_s: float) -> None:
        self.app, self.metrics, self.max_body_bytes, self.body_timeout_s = app, metrics, max_body_bytes, body_timeout_s

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        state = {"status": 500, "sent": False}
        path, method = scope.get("path", ""), scope.get("method", "")

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                state["status"], state["sent"] = message["status"], True
                self.metrics.observe_request(path, method, message["status"], time.perf_counter() - started)
            await send(message)

        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            return await self._reply(send_wrapper, _TooLarge(self.max_body_bytes))
        try:
            await self.app(scope, self._body_reader(receive, started + self.body_timeout_s), send_wrapper)
        except (_TooLarge, _SlowBody) as exc:
            if not state["sent"]:
                await self._reply(send_wrapper, exc)
        except Exception as exc:
            log.exception("unhandled error on %s %s", method, path)
            if not state["sent"]:
                await self._reply(send_wrapper, StarletteHTTPException(500, f"{type(exc).__name__} while handling "
                                                                            "the request; this is a bug in the server"))

    def _body_reader(self, receive, deadline: float):
        """``receive`` that counts the body against max_body_bytes and waits for it until
        ``deadline`` (time.perf_counter); once the body is complete it only passes messages on (a
        wait for the client's disconnect has no deadline)."""
        body = {"received": 0, "complete": False}

        async def receive_guarded():
            if body["complete"]:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(deadline - time.perf_counter(), 0))
            except asyncio.TimeoutError:
                raise _SlowBody(self.body_timeout_s) from None
            if message["type"] == "http.request":
                body["received"] += len(message.get("body", b""))
                body["complete"] = not message.get("more_body", False)
                if body["received"] > self.max_body_bytes:
                    raise _TooLarge(self.max_body_bytes)
            return message

        return receive_guarded

    @staticmethod
    async def _reply(send, exc: StarletteHTTPException) -> None:
        code = {408: "request_timeout", 413: "too_large"}.get(exc.status_code, "internal")
        body = json.dumps({"error": code, "message": exc.detail}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in (exc.headers or {}).items()]
        await send({"type": "http.response.start", "status": exc.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(StarletteHTTPException):
    """A body that outgrew max_body_bytes while being read (chunked, or a wrong Content-Length);
    an HTTPException so that FastAPI's body parsing passes it on as it is."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body is larger than {limit} bytes (max_body_bytes)")


class _SlowBody(StarletteHTTPException):
    """A body still incomplete ``body_timeout_s`` after its head. The connection closes: the rest
    of the body may still come, and would be read as the next request."""

    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"the body did not all arrive within {seconds:g} s (body_timeout_s)",
                         headers={"Connection": "close"})


def _offline_docs_dir() -> Path | None:
    """Swagger UI's files from the ``fastapi-offline`` package, if installed (else /docs uses
    FastAPI's default page, which loads them from a CDN)."""
    try:
        import fastapi_offline
    except ImportError:
        return None
    path = Path(fastapi_offline.__file__).resolve().parent / "static"
    return path if (path / "swagger-ui-bundle.js").is_file() else None


async def docs(request: Request):
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(openapi_url=f"{root}{request.app.openapi_url}", title="pinhan - API docs",
                               swagger_js_url=f"{root}/docs-static/swagger-ui-bundle.js",
                               swagger_css_url=f"{root}/docs-static/swagger-ui.css",
                               swagger_favicon_url=f"{root}/docs-static/favicon.png")
