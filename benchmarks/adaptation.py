"""Learning from the user (issue 18): a simulated user types a text clause by clause, with the
user history on and off, in pinhan and in libime (fcitx5), on the same stream.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.adaptation [--limit 1000] [--streams pd1998 reviews]
[--settings '{"weight": 0.2}' ...] [--out benchmarks/out/adaptation.json]``. libime needs its harness
(``make -C benchmarks/engines build/libime_learn_harness``); without it its rows are left out.

Streams: the dev split of each bundled corpus (``data/bundled/dev.jsonl``: lines ``i % 10 == 8``
of People's Daily 1998 and of the product reviews, never trained on; not a benchmark test set),
its clauses in file order, the first ``--limit`` of each; ``--dev`` names another prepared dev file
(a fetched source's, ``pinhan prepare manpages --out DIR``: ``--dev DIR/dev.jsonl --streams manpages``).
``benchmarks/adaptation_streams.sh`` fetches, prepares and runs every stream, among them the two
texts no training stage reads (the Debian Reference and the Debian Administrator's Handbook).
Each clause is typed as its toneless pinyin without separators; the text before it on its line is
the session's context.

The simulated user, precisely (pinhan: a :class:`~pinhan.infer.tasks.session.Session` with
``k=50`` candidates, ``predict=False``; libime: ``benchmarks/engines/src/libime_learn_harness.cpp``,
its whole candidate list):

1. type the clause's pinyin; **top-1** is whether the first candidate is the gold clause;
2. pick, among the candidates for what is left of the input, the first whose text is the rest of
   the gold, else the longest whose text begins the rest of the gold (earliest on ties); repeat
   until the gold is committed;
3. when no candidate begins the rest of the gold, the user types that rest some other way: the
   clause is not learned and counts its letters again plus one key per hanzi left (``fallback``).

**Keystrokes**: the pinyin's letters, plus per pick 1 + rank // 5 (a page of 5, as fcitx5 shows:
page-down presses). Reported per gold character. Learning on: pinhan's session learns every pick
(``pinhan.infer.user``); libime's context calls ``learn()`` once the clause is fully picked
(history bigram + user dictionary). Learning off: neither learns. Each setting starts with an
empty history at the start of each stream.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEV = REPO / "data" / "bundled" / "dev.jsonl"
HARNESS = REPO / "benchmarks" / "engines" / "build" / "libime_learn_harness"
STREAMS = ("pd1998", "reviews")  # the corpus names that begin item ids (``pd1998-8-6``)
PAGE = 5
CUTS = (100, 500)
Typed = tuple[bool, int, bool, str]  # per clause: top-1 right, keystrokes, fallback, the first candidate's text


def load_stream(name: str, limit: int, skip: int = 0, dev: Path = DEV) -> list[dict]:
    """The first ``limit`` clauses (after ``skip``) of ``dev`` whose id begins with ``name-``, in file order."""
    out, seen = [], 0
    with open(dev, encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            if item["id"].startswith(f"{name}-"):
                seen += 1
                if seen <= skip:
                    continue
                out.append({"pinyin": "".join(s.rstrip("012345") for s in item["pinyin"]).replace("ü", "v"),
                            "gold": item["hanzi"], "context": item.get("context", "")})
                if len(out) == limit:
                    break
    return out


def type_clause(session, item: dict) -> Typed:
    """(top-1 right, keystrokes, fallback, the first candidate's text) for one clause (steps 1-3
    of the module docstring)."""
    session.clear()
    session.context = item["context"]
    candidates = session.type(item["pinyin"])
    first = candidates[0].text if candidates else ""
    top1 = first == item["gold"]
    keys, rest = len(item["pinyin"]), item["gold"]
    while rest:
        pick, best = None, 0
        for rank, c in enumerate(session.candidates):
            if c.text == rest and c.consumed == len(session.buffer):
                pick = rank
                break
            if c.consumed and len(c.text) > best and rest.startswith(c.text):
                pick, best = rank, len(c.text)
        if pick is None:
            session.clear()
            return top1, keys + len(item["pinyin"]) + len(rest), True, first
        rest = rest[len(session.candidates[pick].text):]
        keys += 1 + pick // PAGE
        session.commit(pick)
    session.clear()
    return top1, keys, False, first


def memory_ceiling(results: list[Typed], items: list[dict], start: int = CUTS[1], longest: int = 6) -> float:
    """Clauses from ``start`` on that were wrong at top-1 and that remembering could have put right
    (% of those clauses): every character the first candidate got wrong (same length) lies in a run
    of 2-``longest`` gold characters that an earlier clause of the stream committed. An upper
    bound on what learning can add to the learning-off row, however it learns."""
    seen: set[str] = set()
    fixable = 0
    for n, (result, item) in enumerate(zip(results, items)):
        gold, first = item["gold"], result[3]
        runs = [(at, at + size) for size in range(2, longest + 1) for at in range(len(gold) - size + 1)]
        if n >= start and not result[0] and len(first) == len(gold):
            covered = {i for lo, hi in runs if gold[lo:hi] in seen for i in range(lo, hi)}
            fixable += all(i in covered for i in range(len(gold)) if gold[i] != first[i])
        seen.update(gold[lo:hi] for lo, hi in runs)
    return round(100.0 * fixable / max(1, len(items) - start), 1)


def run_pinhan(model, items: list[dict], learn: bool, overrides: dict | None = None) -> list[Typed]:
    from pinhan.infer.user import UserModel, UserSettings

    settings = UserSettings(**(overrides or {}))
    user = UserModel(settings)
    session = model.session(k=50, predict=False, user=user if learn else None, learn=learn)
    return [type_clause(session, item) for item in items]


def run_libime(items: list[dict], learn: bool) -> list[Typed] | None:
    if not HARNESS.exists():
        return None
    env = dict(os.environ, LIBIME_LEARN="1" if learn else "0")
    text = "".join(f"{i['pinyin']}\t{i['gold']}\n" for i in items)
    done = subprocess.run([str(HARNESS)], input=text, capture_output=True, text=True, env=env, check=True)
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    return [(top1 == item["gold"], int(keys), flag == "1", top1) for (top1, keys, flag), item in zip(rows, items)]


def summary(results: list[Typed], items: list[dict]) -> dict:
    def top1(lo: int, hi: int | None) -> float:
        part = results[lo:hi]
        return round(100.0 * sum(r[0] for r in part) / max(1, len(part)), 1)

    chars = sum(len(i["gold"]) for i in items)
    return {"first100": top1(0, 100), "first500": top1(0, 500), "after500": top1(500, None), "all": top1(0, None),
            "keys_per_char": round(sum(r[1] for r in results) / chars, 3), "fallbacks": sum(r[2] for r in results),
            "n": len(results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--skip", type=int, default=0, help="start after this many clauses (a tuning slice)")
    parser.add_argument("--streams", nargs="+", default=list(STREAMS),
                        help="corpus names of --dev's item ids (default: pd1998 reviews)")
    parser.add_argument("--dev", type=Path, default=DEV,
                        help="prepared dev clauses (default data/bundled/dev.jsonl; e.g. the dev.jsonl of "
                             "`pinhan prepare manpages --out DIR`)")
    parser.add_argument("--settings", nargs="+", type=json.loads, default=[{}],
                        help="learning-on variants, each a JSON object of UserSettings fields (default: {}, UserSettings' own)")
    parser.add_argument("--config", type=json.loads, default={},
                        help="InferenceConfig overrides for every row, a JSON object (e.g. {\"context_history\": 0})")
    parser.add_argument("--no-off", action="store_true", help="leave out pinhan's learning-off row")
    parser.add_argument("--no-libime", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    import pinhan
    from pinhan.errors import PinhanError
    from pinhan.infer.user import UserSettings

    for overrides in args.settings:
        try:
            UserSettings(**overrides)
        except (TypeError, PinhanError) as err:
            parser.error(f"--settings {json.dumps(overrides)}: {err}")

    from pinhan.infer.config import InferenceConfig

    try:
        config = InferenceConfig(**args.config)
    except (TypeError, PinhanError) as err:
        parser.error(f"--config {json.dumps(args.config)}: {err}")
    model = pinhan.load(args.model, config=config)
    rows = []
    for name in args.streams:
        items = load_stream(name, args.limit, args.skip, args.dev)
        if not items:
            parser.error(f"{args.dev} has no clause of stream {name!r} (ids beginning {name}-)")
        settings = [] if args.no_off else [("pinhan, learning off", False, None)]
        settings += [(f"pinhan, learning on{f' {json.dumps(o)}' if o else ''}", True, o) for o in args.settings]
        for label, learn, overrides in settings:
            start = time.time()
            found = run_pinhan(model, items, learn, overrides)
            rows.append({"stream": name, "system": label, **summary(found, items),
                         "memory_ceiling": memory_ceiling(found, items), "seconds": round(time.time() - start)})
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
        for learn in ([] if args.no_libime else [False, True]):
            found = run_libime(items, learn)
            if found is not None:
                rows.append({"stream": name, "system": f"libime, history {'on' if learn else 'off'}", **summary(found, items),
                             "memory_ceiling": memory_ceiling(found, items)})
                print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    print("\n| stream | system | top-1 first 100 | first 500 | after 500 | all | keys / char | fallbacks | clauses "
          "| after 500: wrong, fixable by memory |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['stream']} | {r['system']} | {r['first100']} | {r['first500']} | {r['after500']} | {r['all']} "
              f"| {r['keys_per_char']} | {r['fallbacks']} | {r['n']} | {r['memory_ceiling']} |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
