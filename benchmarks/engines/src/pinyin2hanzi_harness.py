"""Pinyin2Hanzi (PyPI ``Pinyin2Hanzi``), DAG method: top-1 whole-input conversion.

Same protocol as the C/C++ harnesses (see harness_common.h): toneless unsegmented pinyin per
stdin line; the top-1 conversion per stdout line (empty if none); ``--timing`` appends a tab
and the CPU milliseconds (``time.process_time``) of the conversion; a summary line on stderr.

Pinyin2Hanzi's ``dag()`` takes a list of syllables, not a letter string, and the package has
no segmenter, so this harness supplies one: every split of the letters into syllables of
Pinyin2Hanzi's own inventory (``all_pinyin()``, plus the usual ``jue``/``xue``/``yue``/``lue``
spellings of its ``jve``/``xve``/``yve``/``lve``, mapped back before decoding) with the
fewest syllables (``--slack`` more allowed; at most ``--max-segmentations`` splits) is
decoded with ``dag(path_num=6)`` (the library default) and the highest-scoring path over all of them wins. Fewest syllables only
(slack 0) is the default: on pd1998-test it scores 79.7 / 31.1 % (char / sentence), against
76.6 / 28.4 with slack 1 (DAG scores favour extra short syllables), 79.0 / 30.3 with the first
fewest-syllable split alone, and 79.8 / 31.1 with the gold syllables (which a typist's
unsegmented input does not give). Segmentation and decoding are both inside the timing. The
library keeps no user state (nothing to learn) and takes no preceding context.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from functools import lru_cache

import numpy as np

WARMUP = ["nihao", "zhongguowenhua", "womenmingtianqubeijing", "jintiantianqihenhao", "xianzai"]


def syllable_inventory() -> frozenset[str]:
    """Pinyin2Hanzi's syllables plus the standard "ue" spellings of its "ve" ones.

    The library spells every ü-e final "ve" (``jve``, ``xve``, ``yve``, ``lve``); typed pinyin
    (and the bench) writes ``jue``/``xue``/``yue`` and ``lve`` or ``lue``. ``to_library`` maps
    a syllable back to the library's spelling (its own ``simplify_pinyin``).
    """
    from Pinyin2Hanzi import all_pinyin

    own = {p for p in all_pinyin() if p != "null"}
    return frozenset(own | {p.replace("ve", "ue") for p in own if "ve" in p})


def to_library(syllable: str) -> str:
    from Pinyin2Hanzi import simplify_pinyin

    return simplify_pinyin(syllable)


def segmentations(letters: str, inventory: frozenset[str], limit: int = 8, slack: int = 0) -> list[list[str]]:
    """Splits of ``letters`` into syllables of ``inventory``, fewest syllables first.

    Keeps the splits with at most (fewest + ``slack``) syllables, at most ``limit`` of them;
    order within one syllable count is longest-first-syllable first (deterministic).
    """
    n = len(letters)
    longest = max((len(s) for s in inventory), default=0)

    @lru_cache(maxsize=None)
    def fewest(i: int) -> float:  # fewest syllables covering letters[i:]
        if i == n:
            return 0
        best = float("inf")
        for j in range(min(n, i + longest), i, -1):
            if letters[i:j] in inventory:
                best = min(best, 1 + fewest(j))
        return best

    if fewest(0) == float("inf"):
        return []
    budget = int(fewest(0)) + slack
    out: list[list[str]] = []

    def walk(i: int, prefix: list[str], target: int) -> None:
        if len(out) >= limit:
            return
        if i == n:
            if len(prefix) == target:
                out.append(list(prefix))
            return
        for j in range(min(n, i + longest), i, -1):
            piece = letters[i:j]
            if piece in inventory and len(prefix) + 1 + fewest(j) <= target:
                prefix.append(piece)
                walk(j, prefix, target)
                prefix.pop()

    for target in range(int(fewest(0)), budget + 1):
        walk(0, [], target)
    return out[:limit]


class Pinyin2HanziDag:
    def __init__(self, max_segmentations: int = 8, slack: int = 0, path_num: int = 6):
        from Pinyin2Hanzi import DefaultDagParams

        self.params = DefaultDagParams()
        self.inventory = syllable_inventory()
        self.max_segmentations = max_segmentations
        self.slack = slack
        self.path_num = path_num

    def convert(self, letters: str) -> str:
        from Pinyin2Hanzi import dag

        best_score, best = -1.0, ""
        for seg in segmentations(letters, self.inventory, limit=self.max_segmentations, slack=self.slack):
            result = dag(self.params, [to_library(p) for p in seg], path_num=self.path_num)
            if result and result[0].score > best_score:
                best_score, best = result[0].score, "".join(result[0].path)
        return best


def peak_rss_kb() -> int:
    """VmHWM of this process (kB), as the C harnesses report it; ru_maxrss elsewhere."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks, as benchmarks/engines/peers.py reports."""
    return float(np.percentile(values, 100 * q)) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--timing", "-t", action="store_true", help="append a tab and the CPU ms per line")
    ap.add_argument("--max-segmentations", type=int, default=8, help="splits decoded per item (default 8)")
    ap.add_argument("--slack", type=int, default=0, help="extra syllables allowed over the fewest (default 0)")
    args = ap.parse_args(argv)
    engine = Pinyin2HanziDag(max_segmentations=args.max_segmentations, slack=args.slack)
    for _ in range(2):
        for w in WARMUP:
            engine.convert(w)
    times: list[float] = []
    out = sys.stdout
    for line in sys.stdin:
        letters = line.strip().lower()
        result, elapsed = "", 0.0
        if letters:
            t0 = time.process_time()
            result = engine.convert(letters)
            elapsed = (time.process_time() - t0) * 1e3
        times.append(elapsed)
        out.write(result + (f"\t{elapsed:.4f}" if args.timing else "") + "\n")
        out.flush()
    peak_kb = peak_rss_kb()
    med = statistics.median(times) if times else float("nan")
    print(
        f"# pinyin2hanzi n={len(times)} cpu_ms_median={med:.4f} cpu_ms_p95={percentile(times, 0.95):.4f} "
        f"peak_rss_kb={peak_kb}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
