"""Build a directory beside its final place, swap it in whole, and sweep what killed runs left.

``prepare`` writes into ``.NAME.tmp-PID`` beside ``NAME`` and renames it when complete; while it
replaces an existing output, the old one waits as ``.NAME.old-PID``. A run killed with -9 cannot
clean up after itself, so each run first sweeps the directories of that pattern (for its own
``NAME`` only: nothing else in the parent is ours) whose process is gone.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

_STAGED = re.compile(r"\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)")
# /proc gives a process's start time to a clock tick but the boot time only to a second, and the
# wall clock may have been stepped since boot: a PID counts as reused only past this margin.
_START_SLACK_S = 5.0


def staging_dir(out: Path, kind: str) -> Path:
    """``.NAME.tmp-PID`` (the build) or ``.NAME.old-PID`` (the replaced output) for this process."""
    return out.parent / f".{out.name}.{kind}-{os.getpid()}"


def sweep_stale(out: Path) -> dict[str, int]:
    """Remove the staging directories of ``out`` left by runs that are no longer alive; an old
    output moved aside by a run killed before it moved the new one in is put back instead.
    Returns how many were removed and how many restored."""
    counts = {"removed": 0, "restored": 0}
    if not out.parent.is_dir():
        return counts
    stale = []
    for path in out.parent.iterdir():
        match = _STAGED.fullmatch(path.name)
        if match and match["name"] == out.name and path.is_dir() and not path.is_symlink() \
                and not _made_by_live_process(int(match["pid"]), path):
            stale.append((match["kind"], path))
    for kind, path in sorted(stale, key=lambda item: item[0] != "old"):  # a restore before removals
        if kind == "old" and not out.exists():
            os.replace(path, out)
            counts["restored"] += 1
        else:
            shutil.rmtree(path, ignore_errors=True)
            counts["removed"] += 1
    return counts


def _made_by_live_process(pid: int, path: Path) -> bool:
    """Whether the process named by ``path``'s PID may still be the live one that made it: it
    exists, is no zombie, and (where /proc tells) did not start after ``path`` last changed."""
    if pid <= 0 or not _pid_exists(pid):
        return False
    state, started = _proc_state(pid)
    if state == "Z":
        return False
    try:
        changed = path.stat().st_mtime
    except OSError:
        return False
    return started is None or started <= changed + _START_SLACK_S


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    except (OSError, OverflowError):  # not a valid PID here
        return False
    return True


def _proc_state(pid: int) -> tuple[str | None, float | None]:
    """(state letter, start time as a Unix time) from /proc on Linux; (None, None) elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        fields = stat[stat.rindex(")") + 2:].split()  # the name, in parentheses, may hold spaces
        return fields[0], boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")  # fields 3 and 22 of proc(5)
    except (OSError, ValueError, IndexError, StopIteration):
        return None, None
