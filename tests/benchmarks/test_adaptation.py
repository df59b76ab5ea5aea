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
