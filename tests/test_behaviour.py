"""Behaviour pinned across refactorings: the default model's answers to 300 dev inputs.

The fixture is written by ``scripts/behaviour_fixture.py`` from the code at the commit it names;
this replays the same inputs through the public API and asserts the same candidates (text,
per-character pinyin, consumed keystrokes, kind), the same g2p and the same continuations.
Scores may differ only by float rounding (1e-3).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "behaviour.json"
spec = importlib.util.spec_from_file_location("behaviour_fixture", ROOT / "scripts" / "behaviour_fixture.py")
behaviour_fixture = importlib.util.module_from_spec(spec)
spec.loader.exec_module(behaviour_fixture)

TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def pinned():
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert len(data["items"]) == behaviour_fixture.N_ITEMS and len(data["commit"]) == 40
    return data


@pytest.fixture(scope="module")
def model():
    import torch

    import pinhan

    torch.set_num_threads(1)
    return pinhan.load()


def _same(got: list, want: list, where: str) -> None:
    assert [row[:1] + row[2:] for row in got] == [row[:1] + row[2:] for row in want], where
    for g, w in zip(got, want):
        assert abs(g[1] - w[1]) <= TOLERANCE, f"{where}: score of {g[0]} {g[1]} != {w[1]}"


def test_fixture_inputs_are_derived_as_the_script_says(pinned):
    for i, item in enumerate(pinned["items"]):
        kind, pinyin = behaviour_fixture.typed_inputs({"pinyin": item["syllables"]}, i)
        assert (kind, pinyin) == (item["kind"], item["pinyin"])


def test_conversions_g2p_and_continuations_are_unchanged(pinned, model):
    for i, want in enumerate(pinned["items"]):
        got = behaviour_fixture.record(model, {"id": want["id"], "hanzi": want["hanzi"], "context": want["context"],
                                               "pinyin": want["syllables"]}, i)
        where = f"item {i} ({want['pinyin']!r} after {want['context'][-8:]!r})"
        assert got["pinyin"] == want["pinyin"], where
        _same(got["accurate"], want["accurate"], f"{where}, accurate")
        _same(got["fast"], want["fast"], f"{where}, fast")
        assert got["g2p"] == want["g2p"], f"{where}, g2p"
        _same(got["generate"], want["generate"], f"{where}, generate")
