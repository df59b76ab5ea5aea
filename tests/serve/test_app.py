"""The service: every route, its 4xx messages and limits, metrics and docs, and the micro-batcher
(with a fake model whose calls can be held, so that batching is checked deterministically)."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import warnings

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi, uvicorn, prometheus_client) is not installed")
httpx = pytest.importorskip("httpx", reason="httpx is needed to test the app")

with warnings.catch_warnings():  # starlette's TestClient now prefers httpx2; httpx still works
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient  # noqa: E402

from pinhan.errors import ConfigError, InputError  # noqa: E402
from pinhan.infer.results import Candidate, Continuation, G2PResult  # noqa: E402
from pinhan.serve import ServeConfig, create_app  # noqa: E402
from pinhan.serve.batching import Batcher  # noqa: E402


@pytest.fixture(scope="module")
def client(api):
    with TestClient(create_app(api, ServeConfig())) as c:
        yield c


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"error", "message"} and body["message"], body
    return body


# --- the API with the tiny model ----------------------------------------------------------------

def test_convert_returns_ranked_candidates(client, api):
    r = client.post("/v1/convert", json={"pinyin": "nihao", "context": "我说", "k": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["pinyin"] == "nihao" and body["context"] == "我说"
    assert 1 <= len(body["candidates"]) <= 3
    first = body["candidates"][0]
    assert set(first) == {"text", "score", "pinyin", "consumed", "kind"}
    assert len(first["pinyin"]) == len(first["text"]) and first["kind"] in ("whole", "prefix")
    expected = [c.text for c in api.convert("nihao", context="我说", k=3)]
    assert [c["text"] for c in body["candidates"]] == expected


def test_convert_options_fast_mode_and_fuzzy(client):
    r = client.post("/v1/convert", json={"pinyin": "zongguo", "mode": "fast", "fuzzy": ["z-zh", "all"]})
    assert r.status_code == 200, r.text
    assert r.json()["candidates"]
    assert client.post("/v1/convert", json={"pinyin": ""}).json()["candidates"] == []


def test_g2p_with_tone_marks(client):
    r = client.post("/v1/g2p", json={"text": "银行行长，OK", "tones": "mark"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["text"] == "银行行长，OK"
    assert len(body["pinyin"]) == 4 and len(body["aligned"]) == len(body["text"])
    assert body["aligned"][4:] == ["，", "O", "K"]
    assert not any(ch.isdigit() for syllable in body["pinyin"] for ch in syllable)  # marks, not numbers
    assert all(0 <= i < 4 for i in body["polyphonic"]) and 1 in body["polyphonic"]  # 行 has two readings


def test_generate_beams_and_sampling(client):
    r = client.post("/v1/generate", json={"prefix": "中国", "max_new_tokens": 3, "num_beams": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["prefix"] == "中国" and 1 <= len(body["continuations"]) <= 2
    assert all(len(c["text"]) <= 3 and isinstance(c["score"], float) for c in body["continuations"])
    sampled = {"prefix": "我们", "max_new_tokens": 4, "temperature": 1.0, "top_p": 0.9, "seed": 7}
    a, b = client.post("/v1/generate", json=sampled), client.post("/v1/generate", json=sampled)
    assert a.status_code == 200 and a.json() == b.json()  # same seed, same sample
    for hint in ("'", " ' ", ""):  # separators only: no hint (found by the fuzz test: a 500 before)
        r = client.post("/v1/generate", json={"prefix": "中国", "max_new_tokens": 2, "pinyin_hint": hint})
        assert r.status_code == 200, r.text
    r = client.post("/v1/generate", json={"prefix": "中", "pinyin_hint": "中"})
    assert "not pinyin only" in error_of(r, 422)["message"]


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["limits"]["max_k"] == 20 and body["limits"]["max_pinyin_chars"] == 128


def test_metrics_count_requests_errors_and_latency(client):
    client.post("/v1/convert", json={"pinyin": "women"})
    client.post("/v1/convert", json={"pinyin": 5})
    client.get("/no/such/route/12345")
    text = client.get("/metrics").text
    assert re.search(r'pinhan_requests_total\{method="POST",route="/v1/convert",status="200"\} [1-9]', text)
    assert re.search(r'pinhan_request_errors_total\{route="/v1/convert",status="422"\} [1-9]', text)
    assert 'pinhan_request_duration_seconds_bucket{le="0.05",route="/v1/convert"}' in text
    assert 'pinhan_inference_batch_size_count{task="convert"}' in text
    assert 'route="other"' in text and "12345" not in text  # unknown paths do not become labels
    assert "pinhan_queue_depth" in text


def test_docs_and_openapi_show_the_limits_and_load_nothing_from_outside(client):
    r = client.get("/docs")
    assert r.status_code == 200 and "swagger" in r.text.lower()
    for url in re.findall(r'(?:src|href)=["\']([^"\']+)', r.text):
        if url.startswith("/docs-static/"):
            assert client.get(url).status_code == 200, url
        else:
            pytest.importorskip("fastapi_offline", reason="without fastapi-offline /docs loads Swagger UI from a CDN")
            assert not url.startswith("http"), url
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]) >= {"/v1/convert", "/v1/g2p", "/v1/generate", "/healthz", "/metrics"}
    convert = schema["components"]["schemas"]["ConvertRequest"]
    assert convert["additionalProperties"] is False
    assert convert["properties"]["pinyin"]["maxLength"] == 128 and convert["properties"]["k"]["maximum"] == 20
    assert schema["components"]["schemas"]["G2PRequest"]["properties"]["text"]["maxLength"] == 256
    assert schema["components"]["schemas"]["GenerateRequest"]["properties"]["max_new_tokens"]["maximum"] == 64


def test_the_page_and_its_files_are_served(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert 'id="editor"' in r.text and 'id="candidates"' in r.text
    for name, kind in (("app.js", "javascript"), ("style.css", "text/css")):
        file = client.get(f"/static/{name}")
        assert file.status_code == 200 and kind in file.headers["content-type"]
        assert not re.search(r"https?://", file.text), f"{name} must not load anything from outside"
    assert not re.search(r"(?:src|href)=[\"']https?://", r.text)
    assert error_of(client.get("/static/../schemas.py"), 404)


# --- 4xx: what is wrong, said clearly -----------------------------------------------------------

@pytest.mark.parametrize("path, body, field, words", [
    ("/v1/convert", {"pinyin": "nihao", "model": "/etc/passwd"}, "model", "unknown field"),
    ("/v1/convert", {"pinyin": "nihao", "k": "5"}, "k", "valid integer (got a string)"),
    ("/v1/convert", {"pinyin": "nihao", "k": 5.0}, "k", "valid integer"),
    ("/v1/convert", {"pinyin": "nihao", "k": True}, "k", "valid integer"),
    ("/v1/convert", {"pinyin": 123}, "pinyin", "valid string (got an integer)"),
    ("/v1/convert", {"pinyin": "a" * 129}, "pinyin", "at most 128 characters"),
    ("/v1/convert", {"pinyin": "nihao", "context": "好" * 257}, "context", "at most 256 characters"),
    ("/v1/convert", {"pinyin": "nihao", "k": 21}, "k", "less than or equal to 20"),
    ("/v1/convert", {"pinyin": "nihao", "k": 0}, "k", "greater than or equal to 1"),
    ("/v1/convert", {"pinyin": "nihao", "mode": "slow"}, "mode", "'accurate' or 'fast'"),
    ("/v1/convert", {"pinyin": "nihao", "fuzzy": ["zz-zh"]}, "fuzzy.0", "z-zh"),
    ("/v1/convert", {"context": "x"}, "pinyin", "required"),
    ("/v1/g2p", {"text": "好" * 257}, "text", "at most 256 characters"),
    ("/v1/g2p", {"text": "好", "tones": "numbers"}, "tones", "'number', 'mark' or 'none'"),
    ("/v1/g2p", {"text": ["好"]}, "text", "got an array"),
    ("/v1/generate", {"prefix": "中", "max_new_tokens": 65}, "max_new_tokens", "less than or equal to 64"),
    ("/v1/generate", {"prefix": "中", "num_beams": 9}, "num_beams", "less than or equal to 8"),
    ("/v1/generate", {"prefix": "中", "top_p": 0}, "top_p", "greater than 0"),
    ("/v1/generate", {"prefix": "中", "file": "model.safetensors"}, "file", "unknown field"),
])
def test_invalid_requests_get_422_naming_the_field(client, path, body, field, words):
    err = error_of(client.post(path, json=body), 422)
    assert err["error"] == "invalid_request"
    assert err["message"].startswith(f"{field}: ") and words in err["message"], err["message"]
    assert any(d["field"] == field for d in err["details"])


def test_unknown_field_message_lists_the_allowed_fields(client):
    err = error_of(client.post("/v1/g2p", json={"text": "好", "tone": "mark"}), 422)
    assert err["message"] == "tone: unknown field; this endpoint takes text, tones"


def test_bodies_that_are_not_json_objects(client):
    err = error_of(client.post("/v1/convert", content=b'{"pinyin": ', headers={"content-type": "application/json"}), 422)
    assert err["message"].startswith("the body is not valid JSON")
    for content, kind in ((b"[1, 2]", "application/json"), (b"pinyin=nihao", "application/x-www-form-urlencoded"),
                          (b'"nihao"', "application/json")):
        err = error_of(client.post("/v1/convert", content=content, headers={"content-type": kind}), 422)
        assert "JSON object" in err["message"]
    assert "JSON object body is required" in error_of(client.post("/v1/convert"), 422)["message"]
    err = error_of(client.post("/v1/g2p", content=b'{"text": "\\ud800"}', headers={"content-type": "application/json"}), 422)
    assert err["message"].startswith("text: ")
    err = error_of(client.post("/v1/generate", content=b'{"prefix": "a", "temperature": NaN}',
                               headers={"content-type": "application/json"}), 422)
    assert err["message"].startswith("temperature: ")


def test_input_the_model_cannot_read_is_a_422_with_a_span(client):
    err = error_of(client.post("/v1/convert", json={"pinyin": "zhong ǖiii"}), 422)
    assert err["error"] == "invalid_input" and "ǖiii" in err["message"]
    start, end = err["span"]
    assert "zhong ǖiii"[start:end] == "ǖiii"
    err = error_of(client.post("/v1/convert", json={"pinyin": "a" * 100}), 422)  # 100 syllables > 64
    assert "syllables" in err["message"] and "64" in err["message"]


def test_wrong_route_method_and_size(client):
    assert error_of(client.get("/v1/nothing"), 404)["error"] == "not_found"
    assert error_of(client.get("/v1/convert"), 405)["error"] == "method_not_allowed"
    big = json.dumps({"pinyin": "a", "context": "x" * 70_000})
    r = client.post("/v1/convert", content=big, headers={"content-type": "application/json"})
    assert error_of(r, 413)["error"] == "too_large"
    chunks = (part.encode() for part in (big[:40_000], big[40_000:]))  # no Content-Length: counted while read
    err = error_of(client.post("/v1/convert", content=chunks, headers={"content-type": "application/json"}), 413)
    assert err["error"] == "too_large" and "65536" in err["message"]


def test_a_trailing_slash_is_a_404_not_a_redirect_to_the_sent_host(client):
    """A redirect would echo the Host header (``location: http://evil.example/v1/convert``)."""
    for method, path in (("POST", "/v1/convert/"), ("GET", "/healthz/"), ("POST", "/v1/g2p/")):
        r = client.request(method, path, json={"pinyin": "ni"}, headers={"host": "evil.example"}, follow_redirects=False)
        assert error_of(r, 404)["error"] == "not_found" and "location" not in r.headers


def test_head_is_allowed_where_get_is(client):
    for path in ("/healthz", "/"):
        r = client.head(path)
        assert r.status_code == 200 and r.content == b"", (path, r.status_code)
        assert r.headers["content-type"] == client.get(path).headers["content-type"]


def test_limits_are_configurable(api):
    config = ServeConfig(max_pinyin_chars=8, max_k=3, max_text_chars=4, max_new_tokens=2)
    with TestClient(create_app(api, config)) as c:
        assert "at most 8 characters" in error_of(c.post("/v1/convert", json={"pinyin": "nihaonihao"}), 422)["message"]
        assert "less than or equal to 3" in error_of(c.post("/v1/convert", json={"pinyin": "ni", "k": 4}), 422)["message"]
        assert c.post("/v1/convert", json={"pinyin": "ni", "k": 3}).status_code == 200
        assert error_of(c.post("/v1/g2p", json={"text": "银行行长啊"}), 422)
        assert error_of(c.post("/v1/generate", json={"prefix": "中", "max_new_tokens": 3}), 422)
        assert c.get("/healthz").json()["limits"]["max_k"] == 3


def test_serve_config_rejects_nonsense():
    from pinhan.errors import ConfigError

    for bad in ({"max_k": 0}, {"timeout_s": 0}, {"batch_window_ms": -1}, {"max_batch": True}):
        with pytest.raises(ConfigError):
            ServeConfig(**bad)


# --- the micro-batcher --------------------------------------------------------------------------

class FakeModel:
    """Answers instantly (or after ``delay``), records batch sizes; ``hold`` keeps every call
    waiting until it is set; the pinyin "bad" is an input error, "crash" a bug."""

    backend = "fake"

    def __init__(self, delay: float = 0.0, hold: threading.Event | None = None) -> None:
        self.delay, self.hold = delay, hold
        self.calls: list[tuple[str, int]] = []
        self.items: list[list] = []
        self.entered = threading.Event()

    def _enter(self, task: str, n: int) -> None:
        self.calls.append((task, n))
        self.entered.set()
        if self.hold is not None:
            self.hold.wait(10)
        time.sleep(self.delay)

    def convert_batch(self, items, *, k, mode, fuzzy):
        self.items.append([pinyin for pinyin, _ in items])
        self._enter("convert", len(items))
        out = []
        for pinyin, context in items:
            if pinyin == "bad":
                raise InputError("cannot read 'bad' as pinyin")
            if pinyin == "crash":
                raise RuntimeError("a bug")
            out.append([Candidate(f"{pinyin}|{context}|{k}|{mode}", 0.0, (), len(pinyin))])
        return out

    def g2p_batch(self, texts, *, tones):
        self._enter("g2p", len(texts))
        return [G2PResult(t, tuple(t)) for t in texts]

    def generate_batch(self, prefixes, **options):
        self._enter("generate", len(prefixes))
        return [[Continuation(p + "!", -1.0)] for p in prefixes]


def test_concurrent_requests_with_equal_options_share_one_batch_call():
    model = FakeModel(hold=threading.Event())
    batcher = Batcher(model, ServeConfig(batch_window_ms=0))
    batcher.start()

    async def main():
        first = asyncio.create_task(batcher.convert("first"))
        await asyncio.to_thread(model.entered.wait, 10)  # the worker is inside the first call
        same = [asyncio.create_task(batcher.convert(f"p{i}", context=str(i))) for i in range(8)]
        other = asyncio.create_task(batcher.convert("x", k=3))  # other options: its own call
        g2p = [asyncio.create_task(batcher.g2p(t)) for t in ("中", "国")]
        while batcher.queued < 11:
            await asyncio.sleep(0.005)
        model.hold.set()
        return await asyncio.gather(first, *same, other, *g2p)

    try:
        results = asyncio.run(main())
    finally:
        batcher.stop()
    assert model.calls == [("convert", 1), ("convert", 8), ("convert", 1), ("g2p", 2)]
    texts = [r[0].text if isinstance(r, list) else r.text for r in results]
    assert texts == ["first||5|accurate"] + [f"p{i}|{i}|5|accurate" for i in range(8)] + ["x||3|accurate", "中", "国"]
    assert batcher.largest_batch == 8


def test_the_window_gathers_requests_that_arrive_while_it_is_open():
    model = FakeModel()
    batcher = Batcher(model, ServeConfig(batch_window_ms=300))

    async def main():
        return await asyncio.gather(*(batcher.convert(f"p{i}") for i in range(5)))

    try:
        results = asyncio.run(main())
    finally:
        batcher.stop()
    assert model.calls == [("convert", 5)]
    assert [r[0].text for r in results] == [f"p{i}||5|accurate" for i in range(5)]


def test_a_large_group_is_sorted_by_length_and_split_into_calls_of_max_batch():
    model = FakeModel(hold=threading.Event())
    batcher = Batcher(model, ServeConfig(batch_window_ms=0, max_batch=4))
    inputs = ["a" * n for n in (9, 2, 7, 1, 8, 3, 6, 5, 4, 10)]

    async def main():
        first = asyncio.create_task(batcher.convert("first"))
        await asyncio.to_thread(model.entered.wait, 10)
        rest = [asyncio.create_task(batcher.convert(p)) for p in inputs]
        while batcher.queued < len(inputs):
            await asyncio.sleep(0.005)
        model.hold.set()
        return await asyncio.gather(first, *rest)

    try:
        results = asyncio.run(main())
    finally:
        batcher.stop()
    assert model.calls == [("convert", 1), ("convert", 4), ("convert", 4), ("convert", 2)]
    assert [len(p) for call in model.items[1:] for p in call] == list(range(1, 11))  # shortest first
    assert [r[0].text.split("|")[0] for r in results[1:]] == inputs  # each caller still gets its own answer


def test_one_bad_input_fails_only_its_own_request():
    model = FakeModel(hold=threading.Event())
    app = create_app(model, ServeConfig(batch_window_ms=0))

    async def main():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            first = asyncio.create_task(c.post("/v1/convert", json={"pinyin": "first"}))
            await asyncio.to_thread(model.entered.wait, 10)
            batch = [asyncio.create_task(c.post("/v1/convert", json={"pinyin": p})) for p in ("ok1", "bad", "crash", "ok2")]
            while app.state.batcher.queued < 4:
                await asyncio.sleep(0.005)
            model.hold.set()
            return await asyncio.gather(first, *batch)

    try:
        first, ok1, bad, crash, ok2 = asyncio.run(main())
    finally:
        app.state.batcher.stop()
    assert model.calls[:2] == [("convert", 1), ("convert", 4)]  # then one by one
    assert first.status_code == ok1.status_code == ok2.status_code == 200
    assert ok2.json()["candidates"][0]["text"] == "ok2||5|accurate"
    assert error_of(bad, 422)["message"] == "cannot read 'bad' as pinyin"
    body = error_of(crash, 500)
    assert body["error"] == "internal" and "RuntimeError" in body["message"] and "Traceback" not in crash.text


def test_a_slow_answer_is_a_504_and_a_full_queue_a_503():
    model = FakeModel(hold=threading.Event())
    app = create_app(model, ServeConfig(batch_window_ms=0, timeout_s=0.5, max_queue=1))

    async def main():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            first = asyncio.create_task(c.post("/v1/g2p", json={"text": "中"}))
            await asyncio.to_thread(model.entered.wait, 10)
            queued = asyncio.create_task(c.post("/v1/g2p", json={"text": "国"}))
            while app.state.batcher.queued < 1:
                await asyncio.sleep(0.005)
            overflow = await c.post("/v1/g2p", json={"text": "人"})
            results = await asyncio.gather(first, queued)
            model.hold.set()
            return (*results, overflow)

    try:
        first, queued, overflow = asyncio.run(main())
    finally:
        app.state.batcher.stop()
    for r in (first, queued):
        assert error_of(r, 504)["error"] == "timeout" and "0.5 s" in r.json()["message"]
    assert error_of(overflow, 503)["error"] == "overloaded" and overflow.headers["retry-after"] == "1"
    assert model.calls == [("g2p", 1)]  # the abandoned job was skipped, not run


def test_concurrent_requests_to_the_app_are_batched_and_answer_as_alone(api):
    app = create_app(api, ServeConfig(batch_window_ms=300, max_batch=6))
    inputs = ["nihao", "women", "zhongguo", "beijing", "xiexie", "mingtian"]

    async def main():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await asyncio.gather(*(c.post("/v1/convert", json={"pinyin": p, "k": 3}) for p in inputs))

    try:
        responses = asyncio.run(main())
    finally:
        app.state.batcher.stop()
    assert app.state.batcher.largest_batch > 1
    for pinyin, r in zip(inputs, responses):
        assert r.status_code == 200, r.text
        alone = api.convert(pinyin, k=3)
        got = r.json()["candidates"]
        assert [c["text"] for c in got] == [c.text for c in alone]
        assert [c["score"] for c in got] == pytest.approx([c.score for c in alone], abs=1e-3)
    text = app.state.metrics.render().decode()
    count = float(re.search(r'pinhan_inference_batch_size_count\{task="convert"\} (\S+)', text).group(1))
    assert count < len(inputs)  # fewer batch calls than requests


def test_serve_command_is_listed_and_reads_overrides(tmp_path):
    from pinhan.cli import build_parser
    from pinhan.errors import ConfigError
    from pinhan.cli.serve import serve_config

    parser = build_parser()
    (tmp_path / "serve.yaml").write_text("max_k: 9\nbatch_window_ms: 5\ninfer:\n  max_context: 16\n")
    args = parser.parse_args(["serve", "--config", str(tmp_path / "serve.yaml"), "timeout_s=3", "infer.max_paths=3",
                              "--port", "0"])
    config = serve_config(args)
    inference = config.infer
    assert (config.max_k, config.batch_window_ms, config.timeout_s) == (9, 5.0, 3.0)
    assert (inference.max_paths, inference.max_context, inference.beam_size) == (3, 16, 8)  # the rest: defaults
    assert serve_config(parser.parse_args(["serve", "max_k=3"])).infer is None  # no infer settings: the model's defaults
    args = parser.parse_args(["serve", "max_kk=3"])
    with pytest.raises(ConfigError, match="max_kk"):
        serve_config(args)
    with pytest.raises(ConfigError, match=r"serve\.infer.*max_pathz"):
        serve_config(parser.parse_args(["serve", "infer.max_pathz=1"]))
    with pytest.raises(ConfigError, match="max_paths must be at least 1"):
        serve_config(parser.parse_args(["serve", "infer.max_paths=0"]))


def test_pinhan_serve_serves_onnx_int8_by_default(api, model_dir, monkeypatch, capsys):
    """The fastest configuration at the same accuracy (benchmarks/RESULTS.md, inference latency) is
    the default: onnxruntime with the int8 graphs. What ``pinhan.load`` does with that (an export
    into the cache, 16 s for the tiny model on 2 busy cores) is tests/deploy/test_onnx.py's; here,
    what ``pinhan serve`` asks of it."""
    import uvicorn

    import pinhan
    from pinhan.cli import build_parser
    from pinhan.cli.serve import run
    from pinhan.serve.server import uvicorn_settings

    loads, served = [], {}
    monkeypatch.setattr(pinhan, "load", lambda path, **options: loads.append(options) or api)
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.update(app=app, **options))
    parser = build_parser()
    for args, backend, int8 in (([], "onnx", True), (["--no-int8"], "onnx", False), (["--backend", "torch"], "torch", False),
                                (["--backend", "onnx", "--int8"], "onnx", True)):
        assert run(parser.parse_args(["serve", "--model", str(model_dir), "--port", "0", *args])) == 0
        assert (loads[-1]["backend"], loads[-1]["quantize"]) == (backend, int8), args
    assert served["app"].state.batcher.model is api
    assert {k: served[k] for k in uvicorn_settings(ServeConfig())} == uvicorn_settings(ServeConfig())
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--help"])
    assert "default: onnx, with int8" in " ".join(capsys.readouterr().out.split())


def test_worker_processes_get_the_serve_commands_settings(model_dir, monkeypatch):
    """`pinhan serve --workers N` hands the model, ServeConfig and decoding settings to each worker
    process through the environment; app_from_env must apply all three."""
    import dataclasses

    from pinhan.infer.config import InferenceConfig
    from pinhan.serve import server as server_module

    monkeypatch.setenv(server_module.ENV_MODEL, str(model_dir))
    monkeypatch.setenv(server_module.ENV_CONFIG, json.dumps({"max_k": 7}))
    inference = dataclasses.asdict(InferenceConfig(max_paths=2, max_context=4, fast_beam_size=3))
    monkeypatch.setenv(server_module.ENV_LOAD, json.dumps({"backend": "torch", "threads": 1, "quantize": False,
                                                        "config": inference}))
    app = server_module.app_from_env()
    model = app.state.batcher.model
    assert app.state.config.max_k == 7
    assert (model.config.max_paths, model.config.max_context, model.config.fast_beam_size) == (2, 4, 3)
    assert model.converter.max_paths == 2 and model.converter.fast_beam_size == 3
    monkeypatch.setenv(server_module.ENV_LOAD, json.dumps({"backend": "torch", "threads": 1, "quantize": False,
                                                        "config": {"max_paths": 0}}))
    with pytest.raises(ConfigError, match="max_paths"):
        server_module.app_from_env()
