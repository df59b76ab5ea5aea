"""Shared fixtures: tiny corpora written on the fly, so tests stay hermetic and fast."""

from __future__ import annotations

import os

import pytest

# Torch and numpy would otherwise start one thread per core in every test worker.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def tiny_corpus(tmp_path):
    """A small plain-text corpus with the kinds of lines prepare must handle."""
    lines = [
        "银行行长说，今年的利率不会变。",
        "我们明天去北京看看长城。",
        "ｈｅｌｌｏ　ｗｏｒｌｄ",  # no hanzi after NFKC
        "",
        "我们明天去北京看看长城。",  # duplicate
        "他在中国文化研究所工作了十年。",
        "這本書很好看，值得一讀。",
    ] + [f"第{i}句话：今天天气很好，我们一起去公园散步吧。{i}" for i in range(40)]
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def shared_bench():
    """../shared/bench beside the checkout; tests that need it skip (with a reason) elsewhere."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1].parent / "shared" / "bench"
    if not (path / "pd1998-test.jsonl").is_file():
        pytest.skip(f"benchmark sets not found at {path}")
    return path
