"""Fixtures of the browser tests (test_browser.py: Chromium, test_firefox.py: Firefox ESR).

Each browser is Debian's package, installed with apt-get when its binary is missing (once per
session, bounded by APT_TIMEOUT_S; root and apt-get needed; PINHAN_NO_APT=1 forbids it). If it
cannot be installed the test is skipped with the reason. ``server`` runs ``pinhan serve`` with the
tiny model on a free loopback port; ``artifacts`` is where screenshots go
(``$PINHAN_TEST_ARTIFACTS``, default build/test-artifacts/).
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
FIREFOX = "/usr/bin/firefox-esr"
APT_TIMEOUT_S = 600  # one whole install (update + install)
_installs: dict[str, str | None] = {}  # binary -> the outcome, so each install is tried once per session
_apt = {"updated": False}


def apt_install(binary: str, package: str) -> str | None:
    """None if ``binary`` is (now) there, else why not: installs Debian's ``package`` if needed."""
    if binary not in _installs:
        _installs[binary] = _try_install(binary, package)
    return _installs[binary]


def _try_install(binary: str, package: str) -> str | None:
    if os.path.exists(binary):
        return None
    if os.environ.get("PINHAN_NO_APT"):
        return f"{binary} is missing and PINHAN_NO_APT forbids installing it"
    if shutil.which("apt-get") is None:
        return f"{binary} is missing and there is no apt-get to install it"
    if os.geteuid() != 0:
        return f"{binary} is missing; installing it needs root (apt-get install {package})"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    deadline = time.monotonic() + APT_TIMEOUT_S
    steps = [] if _apt["updated"] else [(["apt-get", "update", "-q"], True)]
    # CJK fonts make the screenshots readable; the browsers work without them.
    steps += [(["apt-get", "install", "-y", "-q", "--no-install-recommends", package], True),
              (["apt-get", "install", "-y", "-q", "--no-install-recommends", "fonts-noto-cjk"], False)]
    for cmd, needed in steps:
        left = deadline - time.monotonic()
        try:
            if left < 5:
                raise subprocess.TimeoutExpired(cmd, APT_TIMEOUT_S)
            subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=left, env=env)
            _apt["updated"] = _apt["updated"] or cmd[1] == "update"
        except subprocess.TimeoutExpired:
            if needed:
                return f"`{' '.join(cmd)}` did not finish within the {APT_TIMEOUT_S} s allowed"
        except (subprocess.CalledProcessError, OSError) as exc:
            if needed:
                tail = (getattr(exc, "stderr", "") or str(exc)).strip().splitlines()[-3:]
                return f"`{' '.join(cmd)}` failed: {' | '.join(tail)}"
    return None if os.path.exists(binary) else f"apt-get ran but {binary} is still missing"


def _browser(driver_module: str, driver: str, binary: str, package: str, test: str) -> str:
    """The browser's path once its driver imports and apt-get has it; else the test is skipped."""
    pytest.importorskip(driver_module, reason=f"{driver} (PyPI) is not installed")
    reason = apt_install(binary, package)
    if reason:
        pytest.skip(f"no browser for the {test}: {reason}")
    return binary


@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium, driven by Playwright (PyPI)."""
    return _browser("playwright.sync_api", "playwright", CHROMIUM, "chromium", "browser test")


@pytest.fixture(scope="session")
def firefox():
    """Debian's firefox-esr, driven over Marionette by marionette_driver (PyPI)."""
    return _browser("marionette_driver.marionette", "marionette_driver", FIREFOX, "firefox-esr", "Firefox test")


@pytest.fixture(scope="session")
def artifacts():
    default = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
    path = Path(os.environ.get("PINHAN_TEST_ARTIFACTS") or default)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def serving(model_dir):
    """``pinhan serve`` with ``model_dir`` on a free loopback port (uvicorn picks it: --port 0);
    yields its URL, stops it after."""
    pytest.importorskip("uvicorn", reason="the serve extra (fastapi, uvicorn) is not installed")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # torch: the default (onnx) would first export the model, which is not what these tests test
    command = ["serve", "--model", str(model_dir), "--host", "127.0.0.1", "--port", "0", "--threads", "1", "--backend", "torch"]
    proc = subprocess.Popen([sys.executable, "-m", "pinhan.cli", *command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    lines: queue.Queue = queue.Queue()
    log: list[str] = []

    def drain():  # keep reading, or uvicorn's access log would fill the pipe and block it
        for line in proc.stdout:
            log.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=drain, daemon=True).start()
    url, deadline = None, time.monotonic() + 120
    while url is None and time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line is None:
            break
        match = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", line)
        url = match.group(1) if match else None
    try:
        if url is None:
            pytest.fail("pinhan serve did not start:\n" + "".join(log[-30:]))
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture(scope="session")
def server(model_dir):
    """``pinhan serve`` with the tiny model (see :func:`serving`)."""
    with serving(model_dir) as url:
        yield url
