"""The default model's figures as Markdown tables, from the JSON that `pinhan eval` wrote.

Run (after the evaluations in src/pinhan/assets/default_model/MODEL.md):
``.venv/bin/python benchmarks/model_card.py benchmarks/out/default``

Reads ``accurate.json`` (p2h sets + cpp-test), ``fast.json``, ``abbreviated.json``, ``h2p.json``
and ``gen.json`` from the directory (any may be missing) and prints the tables MODEL.md holds,
so that the figures there are copied by a program, not by hand.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

P2H_SETS = ("pd1998-test", "reviews-test", "hsk-test")
ENGINES = {"pd1998-test": "libime 90.6 / 54.2; trigram 92.2 / 59.8", "reviews-test": "libime 92.0 / 61.2; trigram 91.4 / 60.3",
           "hsk-test": "libime 95.3 / 80.6"}
TARGETS = {"pd1998-test": ">= 97.0 / >= 80", "reviews-test": ">= 96.0 / >= 80", "hsk-test": ">= 97.0 / >= 88"}


def _load(directory: Path, name: str) -> dict[tuple[str, str], dict]:
    path = directory / f"{name}.json"
    if not path.is_file():
        return {}
    return {(row["set"], row["task"]): row for row in json.loads(path.read_text(encoding="utf-8"))}


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    args = parser.parse_args()
    acc, fast, abbr = (_load(args.directory, n) for n in ("accurate", "fast", "abbreviated"))
    h2p, gen = _load(args.directory, "h2p"), _load(args.directory, "gen")

    print("| set | n | accurate char / sentence % | top-5 % | fast char / sentence % | abbreviated char % / top-5 % "
          "| best engine (char / sentence %) | target |")
    print("|---|---:|---|---:|---|---|---|---|")
    for name in P2H_SETS:
        a, f, b = acc.get((name, "p2h")), fast.get((name, "p2h")), abbr.get((name, "p2h"))
        if not a:
            continue
        print(f"| {name} | {a['n']:,} | {pct(a['char_acc'])} / {pct(a['sentence_acc'])} | {pct(a['top5_acc'])} "
              f"| {pct(f and f['char_acc'])} / {pct(f and f['sentence_acc'])} "
              f"| {pct(b and b['char_acc'])} / {pct(b and b['top5_acc'])} | {ENGINES[name]} | {TARGETS[name]} |")
    print()
    print("| set | task | n | figure |")
    print("|---|---|---:|---|")
    cpp = acc.get(("cpp-test", "cpp"))
    if cpp:
        print(f"| cpp-test | polyphones | {cpp['n']:,} | {pct(cpp['polyphone_acc'])} % (g2pM 97.31 measured, g2pW 99.08 "
              "published; target >= 99.1) |")
    for (name, task), row in sorted(h2p.items()):
        print(f"| {name} | h2p | {row['n']:,} | syllables {pct(row['syllable_acc'])} % with tone, "
              f"{pct(row['syllable_acc_toneless'])} % without; clauses exact {pct(row['clause_exact'])} % |")
    for (name, task), row in sorted(gen.items()):
        print(f"| {name} | continuation | {row['n']:,} | perplexity {row['perplexity']:.1f}; next character top-1 "
              f"{pct(row['next_char_top1'])} %, top-5 {pct(row['next_char_top5'])} % |")
    print()
    print("| run | set | latency p50 / p95 ms (per request, as `pinhan eval` ran it) |")
    print("|---|---|---|")
    for label, rows in (("accurate", acc), ("fast", fast), ("abbreviated", abbr), ("h2p", h2p), ("gen", gen)):
        for (name, task), row in sorted(rows.items()):
            lat = row.get("latency_ms") or {}
            if lat:
                print(f"| {label} ({task}) | {name} | {lat['p50']:.1f} / {lat['p95']:.1f} |")


if __name__ == "__main__":
    main()
