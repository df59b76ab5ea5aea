"""Pin the default model's behaviour: conversions, g2p and continuations of 300 dev inputs.

    .venv/bin/python scripts/behaviour_fixture.py data/bundled/dev.jsonl tests/fixtures/behaviour.json

Reads held-out dev clauses (never a benchmark test set), derives three kinds of typed input from
them (the whole clause toneless, its first three syllables, its first four as initials), and
records through the public API only (``pinhan.load()``, ``convert`` in both modes, ``g2p``,
``generate``) what the default model answers, with the commit that produced it. The test
``tests/test_behaviour.py`` replays the inputs and asserts identical answers, so a refactoring
that changes behaviour fails.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

N_ITEMS = 300
K = 5
GEN_TOKENS = 4


def typed_inputs(item: dict, index: int) -> tuple[str, str]:
    """(kind, pinyin): a deterministic mix of whole clauses, short prefixes and abbreviations."""
    toneless = [s.rstrip("12345") for s in item["pinyin"]]
    kind = ("clause", "prefix", "initials")[index % 3]
    if kind == "clause":
        return kind, "".join(toneless)
    if kind == "prefix":
        return kind, "".join(toneless[:3])
    return kind, "".join(s[:2] if s[:2] in ("zh", "ch", "sh") else s[0] for s in toneless[:4])


def candidates(cands) -> list[list]:
    return [[c.text, round(c.score, 4), list(c.pinyin), c.consumed, c.kind] for c in cands]


def record(model, item: dict, index: int) -> dict:
    kind, pinyin = typed_inputs(item, index)
    context = item.get("context", "")
    half = item["hanzi"][: max(1, len(item["hanzi"]) // 2)]
    g2p = model.g2p(item["hanzi"])
    return {
        "id": item["id"], "kind": kind, "pinyin": pinyin, "context": context, "hanzi": item["hanzi"],
        "syllables": item["pinyin"],
        "accurate": candidates(model.convert(pinyin, context=context, k=K, mode="accurate")),
        "fast": candidates(model.convert(pinyin, context=context, k=K, mode="fast")),
        "g2p": g2p.syllables(),
        "prefix": half,
        "generate": [[c.text, round(c.score, 4)] for c in model.generate(half, max_new_tokens=GEN_TOKENS)],
    }


def select(dev_path: Path) -> list[dict]:
    items = [json.loads(line) for line in dev_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    stride = max(1, len(items) // N_ITEMS)
    return items[::stride][:N_ITEMS]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    import torch

    import pinhan

    torch.set_num_threads(1)
    model = pinhan.load()
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    rows = [record(model, item, i) for i, item in enumerate(select(Path(argv[0])))]
    out = Path(argv[1])
    header = json.dumps({"commit": commit, "k": K, "gen_tokens": GEN_TOKENS}, ensure_ascii=False)[:-1]
    body = ",\n".join(json.dumps(row, ensure_ascii=False) for row in rows)  # one item a line: readable diffs
    out.write_text(f'{header}, "items": [\n{body}\n]}}\n', encoding="utf-8")
    print(f"{len(rows)} items from {argv[0]} at {commit[:10]} -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
