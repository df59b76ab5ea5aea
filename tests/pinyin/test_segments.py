"""Segment and Path: immutable values that behave as documented."""

import dataclasses

import pytest

from pinhan.pinyin import Path, Segment, parse


def test_segment_is_a_frozen_dataclass():
    seg = Segment("syllable", "zhong", 0, 5, 1, "zh", "ong", frozenset({"zhong"}))
    assert dataclasses.is_dataclass(seg)
    with pytest.raises(dataclasses.FrozenInstanceError):
        seg.tone = 2  # type: ignore[misc]
    assert seg.toned == "zhong1" and not seg.incomplete
    assert "syllables" not in repr(seg)  # abbreviations would print dozens of syllables
    assert Segment("abbrev", "zh", 0, 2, None, "zh").incomplete


def test_path_is_a_sequence_of_segments():
    path = parse("zhong1guo")[0]
    assert isinstance(path, Path)
    assert len(path) == 2 and list(path) == list(path.segments)
    assert path[0].text == "zhong" and path[-1] is path.segments[-1]
    assert path[:1] == path.segments[:1]
    assert path.texts == ("zhong", "guo") and str(path) == "zhong1 guo"
    assert path.index(path[1]) == 1 and path[0] in path


def test_path_counts_and_pinyin():
    path = parse("ni hao zgw!")[0]
    assert path.texts == ("ni", "hao", "z", "g", "w", "!")
    assert path.n_syllables == 5 and path.n_incomplete == 3
    assert [s.text for s in path.pinyin] == ["ni", "hao", "z", "g", "w"]


def test_paths_are_hashable_values():
    a, b = parse("xian")[0], parse("xian")[0]
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.score = 0.0  # type: ignore[misc]


def test_rank_key_orders_tiers_before_score():
    xian, xi_an = parse("xian")[:2]
    assert xian.rank_key < xi_an.rank_key
    assert xian.rank_key[:2] == (1, 0) and xi_an.rank_key[:2] == (2, 0)
