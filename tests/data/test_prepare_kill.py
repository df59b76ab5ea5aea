"""``pinhan prepare`` stopped in the middle of pass 1, with its pool workers busy: Ctrl-C (SIGINT to
the process group) gives the CLI's one line and leaves nothing; kill -9 of the parent leaves only
the temporary directory, which the next run sweeps. Either way the workers die quietly: no
KeyboardInterrupt or BrokenPipeError tracebacks on stderr, no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pinhan.data.staging import sweep_stale

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="process groups, SIGKILL, fork-started pool workers")


def start_prepare(tmp_path) -> subprocess.Popen:
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(f"第{i}句话：今天天气很好，我们一起去公园散步吧。{i}" for i in range(30_000)), encoding="utf-8")
    command = [sys.executable, "-m", "pinhan.cli", "prepare", str(corpus), "--out", str(tmp_path / "out"), "--quiet",
               "--workers", "2", "chunk_lines=100", "extra_charset=none"]
    # A session of its own (so that SIGINT can go to its process group as a terminal's Ctrl-C
    # does, and whatever goes wrong the group can be ended), with SIGINT handled as in a terminal.
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def children(pid: int) -> list[int]:
    """The live (not zombie) child processes of ``pid`` (Linux; none where /proc cannot tell)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    found = [int(child) for child in path.read_text().split()] if path.exists() else []
    return [child for child in found if _state(child) not in ("Z", None)]


def _state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()[0]


def stop_in_pass_one(proc: subprocess.Popen, tmp_path, how: signal.Signals) -> str:
    """Send ``how`` once pass 1 runs; stderr, read to its end (each worker holds it open)."""
    try:
        deadline = time.monotonic() + 20
        while not list(tmp_path.glob(".out.tmp-*/_annotated-train.tsv")):
            assert proc.poll() is None and time.monotonic() < deadline, "prepare did not start pass 1"
            time.sleep(0.05)
        time.sleep(0.5)  # the workers are busy on queued chunks
        assert proc.poll() is None, "prepare finished before it could be stopped: make the corpus larger"
        if how == signal.SIGINT:
            # Ctrl-C is the parent's to handle: a worker that gets it alone carries on.
            workers = children(proc.pid)
            assert len(workers) == 2 or not Path(f"/proc/{proc.pid}/task/{proc.pid}/children").exists()
            for pid in workers:
                os.kill(pid, signal.SIGINT)
            time.sleep(0.3)
            assert workers == children(proc.pid), "a pool worker died of SIGINT"
            os.killpg(proc.pid, how)
        else:
            os.kill(proc.pid, how)
        _, stderr = proc.communicate(timeout=15)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return stderr.decode("utf-8", "replace")


def test_ctrl_c_gives_one_line_and_leaves_nothing(tmp_path):
    proc = start_prepare(tmp_path)
    stderr = stop_in_pass_one(proc, tmp_path, signal.SIGINT)
    assert stderr == "pinhan prepare: interrupted; nothing half-written was kept\n", stderr[-2000:]
    assert proc.returncode == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.txt"]


def test_kill_9_leaves_no_traceback_and_is_swept(tmp_path):
    proc = start_prepare(tmp_path)
    stderr = stop_in_pass_one(proc, tmp_path, signal.SIGKILL)
    assert stderr == "", stderr[-2000:]
    assert [p.name for p in tmp_path.glob(".out.tmp-*")] == [f".out.tmp-{proc.pid}"]
    assert sweep_stale(tmp_path / "out") == {"removed": 1, "restored": 0}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.txt"]
