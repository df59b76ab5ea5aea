"""No request makes the service answer 5xx: hypothesis sends a few thousand generated requests.

Bodies mix values the schema accepts (pinyin-like letters, hanzi, limits' edges) with anything
JSON can carry (wrong types, NaN, huge numbers, lone surrogates, nesting, unknown fields), plus
bodies that are not JSON at all. Every answer must be a 2xx with the documented shape or a 4xx
with a JSON ``{error, message}``; never a 5xx, never a traceback. (It found two bugs in
pinhan.infer that the routes now work around: ``fuzzy=["all"]`` and a ``pinyin_hint`` of
apostrophes only.)
"""

from __future__ import annotations

import json
import os
import warnings

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi, uvicorn, prometheus_client) is not installed")
pytest.importorskip("httpx", reason="httpx is needed to test the app")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

with warnings.catch_warnings():  # starlette's TestClient now prefers httpx2; httpx still works
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient  # noqa: E402

from pinhan.pinyin.fuzzy import FUZZY_RULES  # noqa: E402
from pinhan.serve import ServeConfig, create_app  # noqa: E402

# Examples per test: about 2,750 requests in all (about 30 s on a busy 2-core machine);
# PINHAN_FUZZ_SCALE=10 searches ten times longer.
SCALE = float(os.environ.get("PINHAN_FUZZ_SCALE", "1"))
VALID_EXAMPLES = {"/v1/convert": 600, "/v1/g2p": 300, "/v1/generate": 150}
BROKEN_EXAMPLES = {"/v1/convert": 500, "/v1/g2p": 300, "/v1/generate": 300}
RAW_EXAMPLES = 600


def examples(n: int) -> int:
    return max(1, int(n * SCALE))


SETTINGS = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


# A temperature like 1e-300 overflows numpy's division in sampling (to the greedy answer): harmless.
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")


@pytest.fixture(scope="module")
def client(api):
    with TestClient(create_app(api, ServeConfig(timeout_s=30)), raise_server_exceptions=False) as c:
        yield c


# --- values -------------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-3, max_value=70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
)
any_json = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
letters = st.text(alphabet="abcdefghijklmnopqrstuvwxyz'", max_size=140)
pinyinish = st.one_of(
    letters,
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCZ'ü:v12345 āáǎàōóǒòēéěèīíǐìūúǔùǖǘǚǜ-,.0", max_size=130),
    st.sampled_from(["", " ", "nihao", "zhongguowenhua", "zgwh", "xi'an", "zhong1guo2", "nǚ", "lv", "'''", "ng", "m",
                     "zhongguo123abc", "a" * 64, "a" * 65, "zh" * 64, "r" * 128, "ǖiii"]),
    st.text(max_size=130),
)
hanzi = st.text(alphabet="中国人民银行长我们你好的了是在不有这个上为，。！？abc1 \n\t\u3000", max_size=260)
texts = st.one_of(hanzi, st.text(max_size=260), st.sampled_from(["", "银行行长", "好" * 256, "好" * 257]))
surrogate = st.sampled_from(["\ud800", "a\udfff", "\udc00中"])


def field(good, extra=any_json):
    """Mostly a value of the right kind, sometimes anything JSON can carry or a lone surrogate."""
    return st.one_of(good, extra, surrogate)


def body(fields: dict, required: tuple[str, ...] = ()) -> st.SearchStrategy:
    """Dicts with the ``required`` keys, any subset of the others and, if ``fields`` are broken
    values, now and then unknown keys."""
    return st.fixed_dictionaries({k: fields[k] for k in required},
                                 optional={k: v for k, v in fields.items() if k not in required})


def with_unknown_keys(bodies: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(bodies, st.tuples(bodies, st.dictionaries(st.text(max_size=10), any_json, min_size=1, max_size=2))
                     .map(lambda pair: {**pair[1], **pair[0]}))


# Values the schema accepts: these reach the model, which may still reject the input (422).
CONVERT = {"pinyin": pinyinish.map(lambda s: s[:128]), "context": texts.map(lambda s: s[:256]),
           "k": st.integers(min_value=1, max_value=20), "mode": st.sampled_from(["accurate", "fast"]),
           "fuzzy": st.lists(st.sampled_from([*FUZZY_RULES, "all"]), max_size=12)}
G2P = {"text": texts.map(lambda s: s[:256]), "tones": st.sampled_from(["number", "mark", "none"])}
GENERATE = {"prefix": texts.map(lambda s: s[:256]), "max_new_tokens": st.integers(min_value=1, max_value=64),
            "temperature": st.floats(min_value=0, max_value=10), "top_p": st.floats(min_value=0, max_value=1, exclude_min=True),
            "num_beams": st.integers(min_value=1, max_value=8), "pinyin_hint": st.none() | pinyinish.map(lambda s: s[:128]),
            "seed": st.integers(min_value=0, max_value=2**31 - 1)}
# The same fields with values of the wrong kind mixed in.
BROKEN_CONVERT = {
    "pinyin": field(pinyinish), "context": field(texts), "k": field(st.integers(min_value=-2, max_value=25)),
    "mode": field(st.sampled_from(["accurate", "fast", "Fast", ""])),
    "fuzzy": field(st.lists(st.sampled_from([*FUZZY_RULES, "all", "x-y", ""]), max_size=14)),
}
BROKEN_G2P = {"text": field(texts), "tones": field(st.sampled_from(["number", "mark", "none", "marks"]))}
BROKEN_GENERATE = {
    "prefix": field(texts), "max_new_tokens": field(st.integers(min_value=-1, max_value=66)),
    "temperature": field(st.floats(min_value=-1, max_value=11)), "top_p": field(st.floats(min_value=-0.5, max_value=1.5)),
    "num_beams": field(st.integers(min_value=0, max_value=9)), "pinyin_hint": field(st.none() | pinyinish),
    "seed": field(st.integers(min_value=-5, max_value=2**32)),
}
ROUTES = {
    "/v1/convert": (CONVERT, BROKEN_CONVERT, ("pinyin",)),
    "/v1/g2p": (G2P, BROKEN_G2P, ("text",)),
    "/v1/generate": (GENERATE, BROKEN_GENERATE, ("prefix",)),
}


# --- checks -------------------------------------------------------------------------------------

def post(client, path: str, payload) -> None:
    # json.dumps writes NaN/Infinity and \ud800 escapes, as a careless client would.
    content = json.dumps(payload) if not isinstance(payload, bytes) else payload
    check(client.post(path, content=content, headers={"content-type": "application/json"}), path)


def check(response, path: str) -> None:
    assert response.status_code < 500, f"{path}: {response.status_code} {response.text[:500]}"
    assert "Traceback" not in response.text
    data = response.json()
    if response.status_code >= 400:
        assert isinstance(data.get("error"), str) and isinstance(data.get("message"), str) and data["message"]
    elif path == "/v1/convert":
        assert all(set(c) == {"text", "score", "pinyin", "consumed", "kind"} for c in data["candidates"])
    elif path == "/v1/g2p":
        assert len(data["aligned"]) == len(data["text"])


@pytest.mark.parametrize("path", list(ROUTES))
def test_valid_requests_get_answers_or_input_errors(client, path):
    fields, _, required = ROUTES[path]

    @settings(max_examples=examples(VALID_EXAMPLES[path]), **SETTINGS)
    @given(payload=body(fields, required))
    def run(payload):
        response = client.post(path, json=payload)
        check(response, path)
        assert response.status_code == 200 or response.json()["error"] == "invalid_input", response.text[:500]

    run()


@pytest.mark.parametrize("path", list(ROUTES))
def test_broken_requests_get_4xx(client, path):
    _, fields, _ = ROUTES[path]

    @settings(max_examples=examples(BROKEN_EXAMPLES[path]), **SETTINGS)
    @given(payload=with_unknown_keys(body(fields)))
    def run(payload):
        post(client, path, payload)

    run()


@settings(max_examples=examples(RAW_EXAMPLES), **SETTINGS)
@given(path=st.sampled_from(["/v1/convert", "/v1/g2p", "/v1/generate", "/healthz", "/", "/v1/x", "/static/app.js"]),
       method=st.sampled_from(["POST", "GET", "PUT", "DELETE"]),
       content=st.one_of(st.binary(max_size=300), any_json.map(lambda v: json.dumps(v).encode()),
                         st.integers(min_value=65_537, max_value=70_000).map(lambda n: b"{" * n)),
       content_type=st.sampled_from(["application/json", "text/plain", "", "application/json; charset=latin-1",
                                     "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"]))
def test_any_bytes_any_method_never_5xx(client, path, method, content, content_type):
    headers = {"content-type": content_type} if content_type else {}
    response = client.request(method, path, content=content, headers=headers)
    assert response.status_code < 500, f"{method} {path}: {response.status_code} {response.text[:500]}"
    if response.status_code >= 400:
        assert response.json()["message"]
