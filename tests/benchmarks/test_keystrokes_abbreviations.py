"""The inputs benchmarks/abbreviations.py and benchmarks/keystrokes.py build (their figures are in RESULTS.md)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str):
    # Loaded by path, as in test_peers.py (the name ``benchmarks`` means this test package here).
    spec = importlib.util.spec_from_file_location(f"_pinhan_bench_{name}", ROOT / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_abbreviations_type_initials_with_zh_ch_sh_whole():
    initials = _load("abbreviations").initials
    assert initials(["zhong1", "guo2", "wen2", "hua4"]) == "zhgwh"
    assert initials(["ai4", "chi1", "shi2", "er2"]) == "achshe"  # a syllable without an initial: its first letter


def test_keystrokes_are_every_prefix_of_the_toneless_pinyin():
    keystrokes = _load("keystrokes").keystrokes
    assert keystrokes([{"pinyin": ["ni3", "hao3"]}, {"pinyin": ["a1"]}]) == ["n", "ni", "nih", "niha", "nihao", "a"]
