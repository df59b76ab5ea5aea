"""The adaptation benchmark's memory ceiling: which later misses remembering could have put right."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

# Loaded by path (see test_peers.py: ``benchmarks`` would name this test package).
_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "adaptation.py"
_spec = importlib.util.spec_from_file_location("_pinhan_bench_adaptation", _PATH)
adaptation = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = adaptation
_spec.loader.exec_module(adaptation)
memory_ceiling = adaptation.memory_ceiling


def test_memory_ceiling_counts_only_misses_inside_runs_committed_before():
    items = [{"gold": g} for g in ("我们喜欢歌剧", "上演了五部歌剧", "他去了北京", "等你百年")]
    results = [
        (True, 0, False, "我们喜欢歌剧"),
        (False, 0, False, "上演了五部格局"),  # 歌剧 was committed in clause 0: fixable
        (False, 0, False, "她去了北京"),  # 他 alone: no earlier run covers it
        (False, 0, False, "等你拜年"),  # 百年 never committed
    ]
    assert memory_ceiling(results, items, start=1) == round(100 / 3, 1)
    assert memory_ceiling(results, items, start=0) == 25.0
    # a miss of another length (a different segmentation) is never counted
    results[1] = (False, 0, False, "上演了五部歌")
    assert memory_ceiling(results, items, start=1) == 0.0


def test_a_stream_is_the_clauses_of_one_corpus_in_file_order(tmp_path):
    import json

    dev = tmp_path / "dev.jsonl"
    rows = [("manpages-1-0", "文件", ["wen2", "jian4"]), ("inews-3-1", "新闻", ["xin1", "wen2"]),
            ("manpages-1-5", "选项", ["xuan3", "xiang4"]), ("manpages-2-0", "目录", ["mu4", "lu4"])]
    dev.write_text("".join(json.dumps({"id": i, "hanzi": h, "pinyin": p, "context": ""}, ensure_ascii=False) + "\n"
                           for i, h, p in rows), encoding="utf-8")
    stream = adaptation.load_stream("manpages", limit=2, skip=1, dev=dev)
    assert [(s["gold"], s["pinyin"]) for s in stream] == [("选项", "xuanxiang"), ("目录", "mulu")]
    assert adaptation.load_stream("poetry", limit=5, dev=dev) == []
