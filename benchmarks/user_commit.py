"""What one commit costs a user with a full history (issue 18): learning the words, bringing the
lattice's view of the history up to date (the first conversion after a commit waits for it) and
saving the user file, with ``max_words`` words and ``max_bigrams`` bigrams learned from dev text.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.user_commit [--dev FILE] [--commits 100] [--service]``
(``--service``: the service's way, ``UserRegistry.learn`` on a copy without a user directory, then
the view, timed together)
(medians and maxima in ms over the commits; run old and new code in one sitting to compare).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dev", type=Path, default=REPO / "data" / "release-general" / "dev.jsonl")
    parser.add_argument("--commits", type=int, default=100)
    parser.add_argument("--service", action="store_true", help="time UserRegistry.learn + the view instead")
    args = parser.parse_args()
    import pinhan
    from pinhan.infer.search.user_lattice import segment, user_view
    from pinhan.infer.user import UserModel, UserStore

    model = pinhan.load()
    lattice = model.converter.by_lattice.lattice
    user = UserModel()
    need = 7 * (user.settings.max_words + user.settings.max_bigrams) // 2 + 10 * args.commits  # enough text to fill both
    words = []
    with open(args.dev, encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            words += segment(lattice, item["hanzi"], tuple(item["pinyin"]))
            if len(words) > need:
                break
    history, commits = words[: -10 * args.commits], words[-10 * args.commits :]
    for at in range(0, len(history), 500):  # in long runs: code that sorts at every learn past the caps fills it too
        user.learn(history[at : at + 500])
    user_view(user, lattice)
    if args.service:
        service(user, lattice, commits)
        return
    store = UserStore(tempfile.mkdtemp())
    times: dict[str, list[float]] = {"learn": [], "view": [], "save": []}
    for at in range(0, len(commits), 10):
        started = time.perf_counter()
        user.learn(commits[at : at + 3])
        learned = time.perf_counter()
        user_view(user, lattice)
        viewed = time.perf_counter()
        store.save(user)
        times["learn"].append(learned - started)
        times["view"].append(viewed - learned)
        times["save"].append(time.perf_counter() - viewed)
    print(f"history: {len(user.words):,} words, {len(user.bigrams):,} bigrams; {len(times['learn'])} commits")
    for name, values in times.items():
        values = sorted(values)
        print(f"{name}: median {1000 * values[len(values) // 2]:.1f} ms, max {1000 * values[-1]:.1f} ms")


def service(user, lattice, commits) -> None:
    """One commit as the service makes it: learn on a copy, swap it in; then the view."""
    from pinhan.infer.search.user_lattice import user_view
    from pinhan.serve.users import UserRegistry

    registry = UserRegistry(10)
    registry._keep("benchmark-user", user, None)
    times = []
    for at in range(0, len(commits), 10):
        started = time.perf_counter()
        learned = registry.learn("benchmark-user", lattice, [("".join(t for t, _ in commits[at : at + 3]),
                                                              [s for _, r in commits[at : at + 3] for s in r])])
        user_view(learned, lattice)
        times.append(time.perf_counter() - started)
    times.sort()
    print(f"history: {len(user.words):,} words, {len(user.bigrams):,} bigrams; {len(times)} commits")
    print(f"service learn + view: median {1000 * times[len(times) // 2]:.1f} ms, max {1000 * times[-1]:.1f} ms")


if __name__ == "__main__":
    main()
