"""``POST /v1/predict``: the next words after a context, its limits and errors."""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi, uvicorn, prometheus_client) is not installed")
pytest.importorskip("httpx", reason="httpx is needed to test the app")

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient  # noqa: E402

import pinhan  # noqa: E402
from pinhan.serve import ServeConfig, create_app  # noqa: E402


@pytest.fixture(scope="module")
def words_api(word_model_dir):
    return pinhan.load(word_model_dir, threads=1)


@pytest.fixture(scope="module")
def client(words_api):
    with TestClient(create_app(words_api, ServeConfig(max_k=12, max_context_chars=32))) as c:
        yield c


def test_predict_answers_the_models_next_words(client, words_api):
    body = client.post("/v1/predict", json={"context": "我们明天去", "k": 4}).json()
    assert body["context"] == "我们明天去" and len(body["candidates"]) == 4
    assert [c["text"] for c in body["candidates"]] == [p.text for p in words_api.predict("我们明天去", k=4)]
    assert body["candidates"][0]["text"] == "北京" and set(body["candidates"][0]) == {"text", "score"}
    assert len(client.post("/v1/predict", json={"context": ""}).json()["candidates"]) == 10  # default k
    assert "/v1/predict" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize("payload, field", [({"context": "中国", "k": 0}, "k"), ({"context": "中国", "k": 13}, "k"),
                                            ({"context": "中" * 33}, "context"), ({"context": 5}, "context"),
                                            ({"context": "中国", "pinyin": "x"}, "pinyin"), ({}, "context")])
def test_bad_requests_get_422_naming_the_field(client, payload, field):
    response = client.post("/v1/predict", json=payload)
    assert response.status_code == 422 and response.json()["error"] == "invalid_request"
    assert field in response.json()["message"]


def test_a_model_without_a_word_model_answers_422(api):
    with TestClient(create_app(api, ServeConfig())) as c:
        response = c.post("/v1/predict", json={"context": "中国"})
    assert response.status_code == 422 and "no word model" in response.json()["message"]
