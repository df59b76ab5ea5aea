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


@pytest.fixture(scope="session")
def prepared_tiny(tmp_path_factory):
    """A prepared data directory of a few hundred lines (session-wide: built once)."""
    from pinhan.data.config import PrepareConfig
    from pinhan.data.prepare import prepare

    root = tmp_path_factory.mktemp("prepared")
    sentences = [
        "我们明天去北京看看长城", "银行行长说今年的利率不会变", "他在中国文化研究所工作了十年",
        "今天天气很好我们一起去公园散步", "这本书很好看值得一读", "你好世界", "中国人民银行发布了新的政策",
        "学习中文需要很多时间和耐心", "长江是中国最长的河流", "音乐会在晚上八点开始",
    ]
    # Comma-joined pairs repeat their clauses across lines; run-together pairs are unique clauses,
    # so the dev split keeps some clauses that never occur in train.
    lines = [f"{a}，{b}。" for a in sentences for b in sentences] + [f"{a}{b}。" for a in sentences for b in sentences if a != b]
    (root / "corpus.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = root / "data"
    prepare(PrepareConfig(sources=[str(root / "corpus.txt")], extra_charset="none", workers=1, min_count=1,
                          dev_ratio=0.1, test_ratio=0.1), out, progress=False)
    return out


@pytest.fixture(scope="session")
def untrained(prepared_tiny):
    """(vocab, lexicon, model): a tiny random model over the prepared tiny corpus's vocabulary;
    decoding invariants hold for any weights."""
    import torch

    from pinhan.data.vocab import Lexicon, Vocab
    from pinhan.model import PinhanModel, tiny

    vocab = Vocab.load(prepared_tiny / "vocab.json")
    lexicon = Lexicon.load(prepared_tiny / "lexicon.json")
    torch.manual_seed(0)
    model = PinhanModel(tiny(n_chars=len(vocab.chars), n_syllables=len(vocab.syllables), n_initials=len(vocab.initials),
                             n_finals=len(vocab.finals), d_model=32, d_ff=64)).eval()
    return vocab, lexicon, model


@pytest.fixture(scope="session")
def model_dir(prepared_tiny, untrained, tmp_path_factory):
    """The untrained tiny model saved as a model directory (weights, config, vocab, lexicon)."""
    import shutil

    from pinhan.model.io import save_model

    _, _, model = untrained
    out = tmp_path_factory.mktemp("model") / "tiny"
    save_model(model, out)
    for name in ("vocab.json", "lexicon.json"):
        shutil.copy(prepared_tiny / name, out / name)
    return out


@pytest.fixture(scope="session")
def api(model_dir):
    """``pinhan.load`` of :func:`model_dir`."""
    import pinhan

    return pinhan.load(model_dir)


@pytest.fixture(scope="session")
def word_model_dir(model_dir, prepared_tiny, tmp_path_factory):
    """:func:`model_dir` with a word model (``pinhan lm --kind words`` on the tiny corpus): for
    prediction and word-by-word continuation."""
    import shutil

    from pinhan.cli import main

    out = tmp_path_factory.mktemp("words") / "model"
    shutil.copytree(model_dir, out)
    assert main(["lm", "--model", str(out), "--data", str(prepared_tiny), "--kind", "words", "--no-dictionary",
                 "--word-min-count", "1", "--word-weights", "0", "--dev-items", "5"]) == 0
    return out


@pytest.fixture(scope="session")
def prepared_other(tmp_path_factory):
    """A second prepared directory (a stand-in for a general-domain corpus): words the tiny one lacks."""
    from pinhan.data.config import PrepareConfig
    from pinhan.data.prepare import prepare

    root = tmp_path_factory.mktemp("other")
    lines = ["服务器的防火墙配置文件", "请重新启动服务器", "防火墙阻止了连接"]
    (root / "other.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    prepare(PrepareConfig(sources=[str(root / "other.txt")], workers=1, dev_ratio=0.0, test_ratio=0.0), root / "prepared")
    return root / "prepared"
