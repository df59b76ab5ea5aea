"""Per-user learning in the service: ``user`` in /v1/convert, POST /v1/learn, DELETE /v1/user/{id}."""

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

ALICE, BOB = "alice-0001", "bob-00000002"


@pytest.fixture(scope="module")
def words_api(word_model_dir):
    return pinhan.load(word_model_dir, threads=1)


def texts(client, user=None, pinyin="shi"):
    body = {"pinyin": pinyin, "k": 6, **({"user": user} if user else {})}
    answer = client.post("/v1/convert", json=body)
    assert answer.status_code == 200, answer.text
    return [c["text"] for c in answer.json()["candidates"]]


def learn_second(client, user):
    """Pick the second candidate of ``shi`` (what a user corrects to) and tell the service."""
    second = client.post("/v1/convert", json={"pinyin": "shi", "k": 6}).json()["candidates"][1]
    answer = client.post("/v1/learn", json={"user": user, "pieces": [{"text": second["text"], "pinyin": second["pinyin"]}]})
    assert answer.status_code == 200 and answer.json()["words"] >= 1, answer.text
    return second["text"]


def test_a_users_pick_comes_first_for_that_user_only_and_delete_forgets(words_api, tmp_path):
    with TestClient(create_app(words_api, ServeConfig(), user_dir=tmp_path / "users")) as client:
        before = texts(client)
        picked = learn_second(client, ALICE)
        assert texts(client, ALICE)[0] == picked != before[0]
        assert texts(client, BOB) == before and texts(client) == before
        assert not any(p.name == ALICE for p in (tmp_path / "users").rglob("*"))  # ids do not name files
    with TestClient(create_app(words_api, ServeConfig(), user_dir=tmp_path / "users")) as client:  # a restart
        assert texts(client, ALICE)[0] == picked
        assert client.delete(f"/v1/user/{ALICE}").json() == {"user": ALICE, "forgotten": True}
        assert texts(client, ALICE) == before
        assert client.delete(f"/v1/user/{ALICE}").json()["forgotten"] is False


def test_memory_only_histories_are_bounded(words_api):
    with TestClient(create_app(words_api, ServeConfig(max_users=1))) as client:
        picked = learn_second(client, ALICE)
        assert texts(client, ALICE)[0] == picked
        learn_second(client, BOB)  # evicts alice: without a user directory her history is gone
        assert texts(client, ALICE)[0] != picked and client.app.state.users.__len__() == 1


@pytest.mark.parametrize("payload", [
    {"pinyin": "shi", "user": "../../etc"}, {"pinyin": "shi", "user": "short"}, {"pinyin": "shi", "user": "x" * 65},
    {"pinyin": "shi", "user": 12345678}])
def test_bad_user_ids_are_rejected(words_api, payload):
    with TestClient(create_app(words_api, ServeConfig())) as client:
        answer = client.post("/v1/convert", json=payload)
        assert answer.status_code == 422 and "user" in answer.json()["message"]
        assert client.delete("/v1/user/a..b..c..d").status_code == 422


def test_learn_validates_its_pieces(words_api):
    with TestClient(create_app(words_api, ServeConfig(max_learn_pieces=2))) as client:
        for pieces in ([], [{"text": "是", "pinyin": ["shi4"]}] * 3, [{"text": "", "pinyin": []}],
                       [{"text": "是", "pinyin": "shi4"}], [{"text": "是", "pinyin": ["shi4"], "file": "x"}]):
            assert client.post("/v1/learn", json={"user": ALICE, "pieces": pieces}).status_code == 422
        mismatched = client.post("/v1/learn", json={"user": ALICE, "pieces": [{"text": "是是", "pinyin": ["shi4"]}]})
        assert mismatched.status_code == 200 and mismatched.json()["words"] == 0  # nothing that reads so is learned
