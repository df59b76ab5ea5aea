"""Load test of ``POST /v1/convert``: N concurrent clients for T seconds, loopback only.

Run: ``.venv/bin/python benchmarks/load.py [--model DIR] [--clients 50] [--duration 20]
[--max-requests 20000] [--mode accurate|fast] [--think-ms 0] [--backend torch|onnx [--int8]]
[--threads 1] [--workers 1] [--url http://127.0.0.1:PORT] [--out benchmarks/out/load.md]
[key=value ...]``

Without ``--url`` it starts ``pinhan serve`` (with ``--model``, default ``$PINHAN_MODEL``, and the
``key=value`` ServeConfig overrides) on a free loopback port and stops it afterwards; a ``--url``
must be a loopback address. Inputs are ``../shared/bench/pd1998-test.jsonl`` items as an input
method sends them: the syllables without tone digits, joined (``zhongguowenhua``), with the item's
context (its last ``max_context_chars`` characters); items over 128 letters are left out.
``--syllables N`` sends only each item's first N syllables, the size of a typical input-method
buffer.

Each client sends one request, waits for the answer, waits ``--think-ms`` (0: a closed loop, the
heaviest load N clients can make), and repeats (with a pause, the clients start spread evenly over
one pause, as users do not type in step) until ``--duration`` seconds have passed or
``--max-requests`` have been sent in all. Reported: requests, throughput, latency p50/p90/p99/max
of all answers, errors by status, from the server's /metrics the mean batch size and the share of
the time the inference thread was busy, the CPU time per request of the server's processes and of
the load generator (they share the machine's cores), and the server's resident memory (VmRSS at
the end, VmHWM peak). Appends a Markdown section to ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import queue
import re
import shlex
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "bench" / "pd1998-test.jsonl"
OUT = ROOT / "benchmarks" / "out" / "load.md"
MAX_PINYIN = 128
MAX_CONTEXT = 256


def load_inputs(path: Path, syllables: int = 0) -> tuple[list[dict], int]:
    """(request bodies without k/mode, number of items left out for being too long); with
    ``syllables`` > 0 only each item's first syllables (what an input method's buffer holds)."""
    bodies, skipped = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        pinyin = "".join(re.sub(r"\d", "", s) for s in item["pinyin"][: syllables or None])
        if len(pinyin) > MAX_PINYIN:
            skipped += 1
            continue
        bodies.append({"pinyin": pinyin, "context": item.get("context", "")[-MAX_CONTEXT:]})
    return bodies, skipped


def check_loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        sys.exit(f"load.py only targets loopback addresses (127.0.0.0/8, ::1, localhost), not {host!r}")


def _healthy(url: str, deadline: float) -> bool:
    """Poll ``url``/healthz until it answers 200 or ``deadline`` (time.monotonic) passes."""
    import urllib.request

    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


class Server:
    """``pinhan serve`` in a subprocess on a free loopback port."""

    def __init__(self, args: argparse.Namespace) -> None:
        cmd = [sys.executable, "-m", "pinhan.cli", "serve", "--host", "127.0.0.1", "--port", "0",
               "--workers", str(args.workers), "--backend", args.backend, "--no-access-log", *args.overrides]
        if args.model:
            cmd += ["--model", args.model]
        if args.int8:
            cmd.append("--int8")
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads or os.environ.get("OMP_NUM_THREADS", ""))}
        env = {k: v for k, v in env.items() if v != ""}
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
        self.lines: queue.Queue = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        self.url = self._wait_for_url(timeout=300)

    def _drain(self) -> None:
        for line in self.proc.stdout:
            self.log.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def _wait_for_url(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                break
            match = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", line)
            if match:  # with --workers > 1 the parent says so before its workers listen: ask /healthz
                if _healthy(match.group(1), deadline):
                    return match.group(1)
                break
        self.stop()
        sys.exit("pinhan serve did not start:\n" + "".join(self.log[-30:]))

    def memory(self) -> dict[str, float]:
        """VmRSS and VmHWM (MiB) of the server and its worker processes."""
        pids = [self.proc.pid] + _children(self.proc.pid)
        total = Counter()
        for pid in pids:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for key in ("VmRSS", "VmHWM"):
                match = re.search(rf"^{key}:\s+(\d+) kB", status, re.M)
                if match:
                    total[key] += int(match.group(1)) / 1024
        return dict(total)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server and its worker processes so far."""
        total = 0.0
        for pid in [self.proc.pid] + _children(self.proc.pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
        return total

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(15)


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(c) for c in found] + [g for c in found for g in _children(int(c))]


class Connection:
    """A minimal keep-alive HTTP/1.1 client on one socket. httpx's pool costs the load generator
    more CPU than the server spends per request (about 140 req/s at 50 connections on 2 cores,
    where this client makes 3,000), so it would measure itself."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is not None:
            try:
                return await self._send(method, path, body)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                if isinstance(exc, asyncio.IncompleteReadError) and exc.partial:
                    raise
                # The server closed the idle keep-alive connection (uvicorn: after 5 s): reconnect once.
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return await self._send(method, path, body)

    async def _send(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        try:
            self.writer.write(head + body)
            header = await self.reader.readuntil(b"\r\n\r\n")
            status = int(header[9:12])
            length = re.search(rb"(?im)^content-length:\s*(\d+)", header)
            data = await self.reader.readexactly(int(length.group(1))) if length else b""
            if re.search(rb"(?im)^connection:\s*close", header):
                self.close()
            return status, data
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def run_load(url: str, bodies: list[dict], args: argparse.Namespace,
                   server_cpu: Callable[[], float] | None = None) -> dict:
    """Run the clients; ``server_cpu`` (CPU seconds of the server so far) gives the server's CPU
    cost per request when the server was started here."""
    parsed = urlparse(url)
    host, port = parsed.hostname, parsed.port or 80
    payloads = [json.dumps({**b, "k": args.k, "mode": args.mode}, ensure_ascii=False).encode() for b in bodies]
    latencies: list[float] = []
    statuses: Counter = Counter()
    budget = {"sent": 0}
    connections = [Connection(host, port) for _ in range(args.clients)]
    # Warm-up: every client's connection, and the model's first calls.
    await asyncio.gather(*(c.request("POST", "/v1/convert", payloads[i % len(payloads)]) for i, c in enumerate(connections)),
                         return_exceptions=True)
    _, before = await connections[0].request("GET", "/metrics")
    cpu_before = (server_cpu() if server_cpu else float("nan"), time.process_time())
    started = time.perf_counter()
    stop_at = started + args.duration

    async def one_client(index: int) -> None:
        connection, i = connections[index], index
        if args.think_ms:  # spread the clients over one pause: users do not type in step
            await asyncio.sleep(args.think_ms / 1000 * index / args.clients)
        while time.perf_counter() < stop_at and budget["sent"] < args.max_requests:
            budget["sent"] += 1
            payload = payloads[i % len(payloads)]
            i += args.clients
            t = time.perf_counter()
            try:
                status, _ = await asyncio.wait_for(connection.request("POST", "/v1/convert", payload), args.client_timeout)
                statuses[status] += 1
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
                statuses[type(exc).__name__] += 1
            latencies.append(time.perf_counter() - t)
            if args.think_ms:
                await asyncio.sleep(args.think_ms / 1000)

    await asyncio.gather(*(one_client(c) for c in range(args.clients)))
    elapsed = time.perf_counter() - started
    cpu_after = (server_cpu() if server_cpu else float("nan"), time.process_time())
    _, after = await connections[0].request("GET", "/metrics")
    for connection in connections:
        connection.close()

    def delta(pattern: str) -> float:
        return _metric(after.decode(), pattern) - _metric(before.decode(), pattern)

    ms = np.array(latencies) * 1000
    batch_sum = delta(r'pinhan_inference_batch_size_sum\{task="convert"\}')
    batch_count = delta(r'pinhan_inference_batch_size_count\{task="convert"\}')
    busy = delta(r'pinhan_inference_duration_seconds_sum\{task="convert"\}') / elapsed
    errors = sum(n for status, n in statuses.items() if status != 200)
    return {
        "requests": len(latencies), "seconds": elapsed, "throughput": len(latencies) / elapsed,
        "p50": float(np.percentile(ms, 50)), "p90": float(np.percentile(ms, 90)), "p99": float(np.percentile(ms, 99)),
        "max": float(ms.max()), "errors": errors, "statuses": dict(statuses),
        "mean_batch": batch_sum / batch_count if batch_count else float("nan"), "busy": busy,
        # CPU milliseconds per answered request: the server's processes, and this load generator's
        "server_cpu_ms": 1000 * (cpu_after[0] - cpu_before[0]) / max(len(latencies), 1),
        "client_cpu_ms": 1000 * (cpu_after[1] - cpu_before[1]) / max(len(latencies), 1),
    }


def _metric(text: str, pattern: str) -> float:
    match = re.search(pattern + r" (\S+)", text)
    return float(match.group(1)) if match else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="ServeConfig overrides for the server started")
    parser.add_argument("--model", help="model directory (default: $PINHAN_MODEL)")
    parser.add_argument("--url", help="an already running server (loopback only) instead of starting one")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load (at most 600)")
    parser.add_argument("--max-requests", type=int, default=20_000, help="stop after this many requests in all")
    parser.add_argument("--think-ms", type=float, default=0.0, help="each client's pause between requests")
    parser.add_argument("--mode", choices=("accurate", "fast"), default="accurate")
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--backend", choices=("torch", "onnx"), default="torch")
    parser.add_argument("--int8", action="store_true")
    parser.add_argument("--threads", type=int, default=1, help="server intra-op threads (default: 1)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--client-timeout", type=float, default=60.0, help="seconds before a request counts as failed")
    parser.add_argument("--set", type=Path, default=BENCH, help="pd1998-test.jsonl")
    parser.add_argument("--syllables", type=int, default=0, help="send only each item's first N syllables (0: all)")
    parser.add_argument("--out", type=Path, default=OUT, help="Markdown file to append to ('-': none)")
    parser.add_argument("--label", default="", help="a note for the results table")
    args = parser.parse_args(argv)
    if not 0 < args.duration <= 600 or not 0 < args.max_requests <= 1_000_000 or not 1 <= args.clients <= 1000:
        parser.error("--duration must be in (0, 600], --max-requests in 1..1e6, --clients in 1..1000")
    bodies, skipped = load_inputs(args.set, args.syllables)
    load_before = os.getloadavg()
    server = None
    if args.url:
        check_loopback(args.url)
        url = args.url
    else:
        server = Server(args)
        url = server.url
    try:
        result = asyncio.run(run_load(url, bodies, args, server.cpu_seconds if server else None))
        memory = server.memory() if server else {}
    finally:
        if server:
            server.stop()
    result.update(rss_mib=memory.get("VmRSS", float("nan")), peak_mib=memory.get("VmHWM", float("nan")),
                  load_before=load_before, load_after=os.getloadavg(), skipped=skipped, inputs=len(bodies))
    report(args, result, argv if argv is not None else sys.argv[1:])
    return 0


def report(args: argparse.Namespace, r: dict, argv: list[str]) -> None:
    model = args.model or os.environ.get("PINHAN_MODEL", "(default model)")
    row = (f"| {args.clients} | {args.think_ms:g} | {args.mode} | {r['requests']} | {r['throughput']:.1f} | {r['p50']:.1f} | "
           f"{r['p90']:.1f} | {r['p99']:.1f} | {r['max']:.0f} | {r['errors']} | {r['mean_batch']:.1f} | "
           f"{100 * r['busy']:.0f} % | {r['server_cpu_ms']:.1f} / {r['client_cpu_ms']:.1f} | "
           f"{r['rss_mib']:.0f} / {r['peak_mib']:.0f} |")
    header = ("| clients | think ms | mode | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | "
              "mean batch | inference busy | CPU ms per request, server / client | server RSS / peak MiB |\n"
              "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    before, after = (" / ".join(f"{x:.2f}" for x in r[key]) for key in ("load_before", "load_after"))
    load = f"{before} before, {after} after"
    text = (f"\n### {args.label or 'load'}: {model}, {args.backend}{' int8' if args.int8 else ''}, "
            f"{args.threads} thread(s), {args.workers} worker(s)\n\n"
            f"`.venv/bin/python benchmarks/load.py {shlex.join(argv)}` — {r['seconds']:.1f} s; "
            f"{r['inputs']} pd1998-test inputs{f' (first {args.syllables} syllables)' if args.syllables else ''} "
            f"({r['skipped']} over {MAX_PINYIN} letters left out); statuses {r['statuses']}; "
            f"load average (1/5/15 min) {load} on {os.cpu_count()} cores.\n\n{header}\n{row}\n")
    print(text)
    if str(args.out) != "-":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("a", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    sys.exit(main())
