"""The held-out rule (pinhan.data.heldout), as ../shared/bench/README.md states it."""

from __future__ import annotations

import hashlib

import pytest

from pinhan.data.heldout import HeldoutRule
from pinhan.errors import DataError


def key(run: str) -> str:
    return hashlib.sha256(run.encode("utf-8")).hexdigest()[:16]


def test_a_line_whose_hanzi_run_is_listed_is_dropped_after_nfkc_and_simplification(tmp_path):
    listed = "欲穷千里目"
    (tmp_path / "heldout.txt").write_text(key(listed) + "\n" + key("两个黄鹂鸣翠柳") + "\n", encoding="utf-8")
    rule = HeldoutRule(tmp_path / "heldout.txt")
    assert rule.hits(listed) and rule.hits(f"他说：{listed}，更上一层楼")  # a maximal run anywhere in the line
    assert rule.hits("兩個黃鸝鳴翠柳")  # traditional forms are simplified first
    assert not rule.hits("欲穷千里目更")  # a longer run is another clause
    assert not rule.hits("穷千里目")  # runs under 5 hanzi are never checked


def test_an_unreadable_list_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="cannot read the held-out list"):
        HeldoutRule(tmp_path / "missing.txt")
