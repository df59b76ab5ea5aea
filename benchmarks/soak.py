"""Soak test of ``pinhan serve`` with its defaults: N clients, mixed endpoints, T seconds, loopback only.

Run: ``.venv/bin/python benchmarks/soak.py [--model DIR] [--clients 50] [--duration 60]
[--max-requests 200000] [--think-ms 0] [--out benchmarks/out/soak.md] [key=value ...]``

It starts ``pinhan serve`` with nothing but ``--model`` (default: the shipped default model) and
the ``key=value`` ServeConfig overrides, so the server runs its defaults (onnxruntime int8, one
worker, the default limits and timeouts), on a free loopback port, and stops it afterwards. Each
client repeats, until ``--duration`` seconds have passed or ``--max-requests`` were sent in all: one
request, chosen by a seeded draw (40 % ``/v1/convert`` fast, 30 % convert accurate, 15 %
``/v1/g2p``, 15 % ``/v1/generate``), wait for the answer, pause ``--think-ms`` (0: a closed loop).
Inputs come from ``../shared/bench/pd1998-test.jsonl``: convert sends the item's first 1-8
syllables without tones (an input method's buffer) with its context, g2p its hanzi, generate its
first 4 hanzi (8 new characters). Reported: errors by endpoint and status, p50 / p99 per
endpoint, and the server's resident memory sampled every second (after start, after a warm-up
of every client, at the end, the peak, and the slope over the second half), then whether
``/healthz`` still answers. Appends a Markdown section to ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shlex
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import BENCH, ROOT, Connection, Server  # noqa: E402

OUT = ROOT / "benchmarks" / "out" / "soak.md"
DEFAULT_MODEL = ROOT / "src" / "pinhan" / "assets" / "default_model"
MIX = (("convert fast", 0.40), ("convert accurate", 0.30), ("g2p", 0.15), ("generate", 0.15))


def requests_from(path: Path, seed: int = 0) -> list[tuple[str, str, bytes]]:
    """(endpoint name, path, JSON body) per pd1998-test item, the endpoint drawn from MIX."""
    rng = random.Random(seed)
    names, weights = zip(*MIX)
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        name = rng.choices(names, weights)[0]
        if name.startswith("convert"):
            pinyin = "".join(re.sub(r"\d", "", s) for s in item["pinyin"][: rng.randint(1, 8)])
            body = {"pinyin": pinyin, "context": item.get("context", "")[-256:], "k": 5, "mode": name.split()[1]}
            out.append((name, "/v1/convert", body))
        elif name == "g2p":
            out.append((name, "/v1/g2p", {"text": item["hanzi"][:256]}))
        else:
            out.append((name, "/v1/generate", {"prefix": item["hanzi"][:4], "max_new_tokens": 8}))
    return [(name, route, json.dumps(body, ensure_ascii=False).encode()) for name, route, body in out]


class MemoryLog:
    """The server's VmRSS (MiB) once a second, in a thread, until stopped."""

    def __init__(self, server: Server) -> None:
        self.server, self.samples, self.stopped = server, [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        started = time.monotonic()
        while not self.stopped.wait(1.0):
            self.samples.append((time.monotonic() - started, self.server.memory().get("VmRSS", float("nan"))))

    def slope_second_half(self) -> float:
        """MiB per minute of a least-squares line through the second half of the samples."""
        half = self.samples[len(self.samples) // 2:]
        if len(half) < 3:
            return float("nan")
        t, rss = np.array(half).T
        return float(np.polyfit(t, rss, 1)[0] * 60)


async def soak(url: str, work: list[tuple[str, str, bytes]], args: argparse.Namespace, memory: MemoryLog) -> dict:
    host, port = re.match(r"http://([^:/]+):(\d+)", url).groups()
    connections = [Connection(host, int(port)) for _ in range(args.clients)]
    latencies: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, Counter] = defaultdict(Counter)
    budget = {"sent": 0}
    # Warm-up: every client's connection and each endpoint's first calls.
    await asyncio.gather(*(c.request("POST", work[i][1], work[i][2]) for i, c in enumerate(connections)),
                         return_exceptions=True)
    rss = {"warm": memory.server.memory().get("VmRSS", float("nan"))}
    stop_at = time.perf_counter() + args.duration

    async def one_client(index: int) -> None:
        i = index
        while time.perf_counter() < stop_at and budget["sent"] < args.max_requests:
            budget["sent"] += 1
            name, route, body = work[i % len(work)]
            i += args.clients
            t = time.perf_counter()
            try:
                status, _ = await asyncio.wait_for(connections[index].request("POST", route, body), args.client_timeout)
                statuses[name][status] += 1
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
                statuses[name][type(exc).__name__] += 1
            latencies[name].append(time.perf_counter() - t)
            if args.think_ms:
                await asyncio.sleep(args.think_ms / 1000)

    started = time.perf_counter()
    await asyncio.gather(*(one_client(c) for c in range(args.clients)))
    elapsed = time.perf_counter() - started
    health, _ = await connections[0].request("GET", "/healthz")
    for connection in connections:
        connection.close()
    return {"seconds": elapsed, "latencies": latencies, "statuses": statuses, "rss": rss, "healthz": health}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="ServeConfig overrides for the server")
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="model directory (default: the default model)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (at most 600)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="stop after this many requests in all")
    parser.add_argument("--think-ms", type=float, default=0.0, help="each client's pause between requests")
    parser.add_argument("--client-timeout", type=float, default=60.0, help="seconds before a request counts as failed")
    parser.add_argument("--set", type=Path, default=BENCH, help="pd1998-test.jsonl")
    parser.add_argument("--out", type=Path, default=OUT, help="Markdown file to append to ('-': none)")
    args = parser.parse_args(argv)
    if not 0 < args.duration <= 600 or not 0 < args.max_requests <= 1_000_000 or not 1 <= args.clients <= 1000:
        parser.error("--duration must be in (0, 600], --max-requests in 1..1e6, --clients in 1..1000")
    work = requests_from(args.set)
    # load.Server runs `pinhan serve --backend onnx` (the default; no --int8 flag: int8 is the default too)
    server = Server(SimpleNamespace(workers=1, backend="onnx", overrides=args.overrides, model=args.model, int8=False,
                                    threads=None))
    memory = MemoryLog(server)
    try:
        started_rss = server.memory().get("VmRSS", float("nan"))
        memory.thread.start()
        result = asyncio.run(soak(server.url, work, args, memory))
        result["rss"].update(start=started_rss, end=server.memory().get("VmRSS", float("nan")),
                             peak=server.memory().get("VmHWM", float("nan")), slope=memory.slope_second_half())
    finally:
        memory.stopped.set()
        server.stop()
    report(args, result, argv if argv is not None else sys.argv[1:])
    return 0 if result["healthz"] == 200 and not errors(result) else 1


def errors(r: dict) -> int:
    return sum(n for counts in r["statuses"].values() for status, n in counts.items() if status != 200)


def report(args: argparse.Namespace, r: dict, argv: list[str]) -> None:
    rows = []
    for name, _ in MIX:
        ms = np.array(r["latencies"].get(name) or [float("nan")]) * 1000
        counts = r["statuses"].get(name, Counter())
        bad = {str(k): v for k, v in counts.items() if k != 200}
        rows.append(f"| {name} | {sum(counts.values())} | {np.percentile(ms, 50):.1f} | {np.percentile(ms, 99):.1f} | "
                    f"{ms.max():.0f} | {sum(bad.values())}{' ' + json.dumps(bad) if bad else ''} |")
    total = sum(len(v) for v in r["latencies"].values())
    m = r["rss"]
    text = (f"\n### soak: {args.clients} clients, {args.duration:g} s, think {args.think_ms:g} ms, {args.model}\n\n"
            f"`.venv/bin/python benchmarks/soak.py {shlex.join(argv)}` — {r['seconds']:.1f} s, {total} requests "
            f"({total / r['seconds']:.1f}/s), {errors(r)} errors; /healthz afterwards: {r['healthz']}; load average "
            f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())} after, {os.cpu_count()} cores.\n\n"
            "| endpoint | requests | p50 ms | p99 ms | max ms | errors |\n|---|---:|---:|---:|---:|---:|\n"
            + "\n".join(rows) + "\n\n"
            f"Server RSS MiB: {m['start']:.0f} started, {m['warm']:.0f} after warm-up, {m['end']:.0f} at the end, "
            f"{m['peak']:.0f} peak (VmHWM); second half's trend {m['slope']:+.1f} MiB/min.\n")
    print(text)
    if str(args.out) != "-":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("a", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    sys.exit(main())
