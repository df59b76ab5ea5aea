"""The web input method in a real browser: Playwright (PyPI) drives Debian's chromium.

The set-up installs chromium with apt-get when /usr/bin/chromium is missing (once per session,
bounded by APT_TIMEOUT_S; root and apt-get needed; PINHAN_NO_APT=1 forbids it). If it cannot be
installed the test is skipped with the reason. It starts ``pinhan serve`` with the tiny model on
a free loopback port, types ``nihao``, picks candidates, checks the committed text and the
context of the next request, checks the g2p tab, and saves screenshots under
``$PINHAN_TEST_ARTIFACTS`` (default: build/test-artifacts/).
"""

from __future__ import annotations

import json
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
APT_TIMEOUT_S = 600  # the whole install (update + install)
_install: dict[str, str | None] = {}  # the outcome, so the install is tried once per session


def install_chromium() -> str | None:
    """None if chromium is (now) installed, else why not."""
    if "reason" in _install:
        return _install["reason"]
    _install["reason"] = reason = _try_install()
    return reason


def _try_install() -> str | None:
    if os.path.exists(CHROMIUM):
        return None
    if os.environ.get("PINHAN_NO_APT"):
        return f"{CHROMIUM} is missing and PINHAN_NO_APT forbids installing it"
    if shutil.which("apt-get") is None:
        return f"{CHROMIUM} is missing and there is no apt-get to install it"
    if os.geteuid() != 0:
        return f"{CHROMIUM} is missing; installing it needs root (apt-get install chromium)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    deadline = time.monotonic() + APT_TIMEOUT_S
    # CJK fonts make the screenshots readable; chromium works without them.
    for cmd, needed in ((["apt-get", "update", "-q"], True),
                        (["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"], True),
                        (["apt-get", "install", "-y", "-q", "--no-install-recommends", "fonts-noto-cjk"], False)):
        left = deadline - time.monotonic()
        try:
            if left < 5:
                raise subprocess.TimeoutExpired(cmd, APT_TIMEOUT_S)
            subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=left, env=env)
        except subprocess.TimeoutExpired:
            if needed:
                return f"`{' '.join(cmd)}` did not finish within the {APT_TIMEOUT_S} s allowed"
        except (subprocess.CalledProcessError, OSError) as exc:
            if needed:
                tail = (getattr(exc, "stderr", "") or str(exc)).strip().splitlines()[-3:]
                return f"`{' '.join(cmd)}` failed: {' | '.join(tail)}"
    return None if os.path.exists(CHROMIUM) else f"apt-get ran but {CHROMIUM} is still missing"


@pytest.fixture(scope="session")
def chromium():
    pytest.importorskip("playwright.sync_api", reason="playwright (PyPI) is not installed")
    reason = install_chromium()
    if reason:
        pytest.skip(f"no browser for the browser test: {reason}")
    return CHROMIUM


@pytest.fixture(scope="session")
def artifacts():
    default = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
    path = Path(os.environ.get("PINHAN_TEST_ARTIFACTS") or default)
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def server(model_dir):
    """``pinhan serve`` with the tiny model on a free loopback port (uvicorn picks it: --port 0)."""
    pytest.importorskip("uvicorn", reason="the serve extra (fastapi, uvicorn) is not installed")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "pinhan.cli", "serve", "--model", str(model_dir), "--host", "127.0.0.1",
                             "--port", "0", "--threads", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
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


def test_type_pick_commit_and_read_in_the_browser(chromium, artifacts, server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 900, "height": 700})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            requests: list[dict] = []
            page.on("request", lambda r: requests.append(json.loads(r.post_data)) if r.url.endswith("/v1/convert") else None)
            page.goto(server + "/")
            editor, buffer, candidates = page.locator("#editor"), page.locator("#buffer"), page.locator("#candidates")

            def ready():  # candidates shown for the current buffer
                expect(candidates.locator("li").first).to_be_visible()
                expect(candidates).not_to_have_class(re.compile("loading"))

            # Type nihao, pick the second whole-input candidate with its digit.
            editor.click()
            page.keyboard.type("nihao")
            expect(buffer).to_have_text("nihao")
            ready()
            whole = candidates.locator("li:not(.prefix)")
            choice = whole.nth(min(1, whole.count() - 1))
            text, number = choice.locator(".text").inner_text(), choice.locator(".number").inner_text()
            page.screenshot(path=str(artifacts / "ime-nihao.png"))
            page.keyboard.press(number)
            expect(editor).to_have_value(text)
            expect(buffer).to_have_text("")

            # A candidate that covers the first syllable leaves the rest, converted with the new context.
            page.keyboard.type("nihao")
            ready()
            prefix = candidates.locator("li.prefix").first
            expect(prefix).to_be_visible()
            word, number = prefix.locator(".text").inner_text(), prefix.locator(".number").inner_text()
            page.keyboard.press(number)
            expect(editor).to_have_value(text + word)
            expect(buffer).to_have_text("hao")
            ready()
            assert requests[-1]["pinyin"] == "hao" and requests[-1]["context"] == text + word
            page.keyboard.press(" ")  # space: the first candidate
            expect(buffer).to_have_text("")
            committed = editor.input_value()
            assert committed.startswith(text + word) and len(committed) > len(text + word)

            # Space typed before the answer arrives still takes the first candidate of that buffer.
            page.keyboard.type("women ")
            expect(buffer).to_have_text("")
            expect(editor).not_to_have_value(committed)
            asked = requests[-1]
            assert asked["pinyin"] == "women" and asked["context"] == committed
            first = page.request.post(server + "/v1/convert", data=asked).json()["candidates"][0]["text"]
            expect(editor).to_have_value(committed + first)
            committed += first

            # Enter commits the letters; Escape clears; Backspace edits the buffer.
            page.keyboard.type("ma")
            page.keyboard.press("Enter")
            expect(editor).to_have_value(committed + "ma")
            page.keyboard.type("zhongx")
            page.keyboard.press("Backspace")
            expect(buffer).to_have_text("zhong")
            page.keyboard.press("Escape")
            expect(buffer).to_have_text("")
            expect(editor).to_have_value(committed + "ma")

            # Hanzi -> pinyin with tone marks; polyphonic characters are highlighted.
            page.click("#tab-g2p")
            page.fill("#g2p-input", "银行行长")
            rubies = page.locator("#g2p-output ruby")
            expect(rubies).to_have_count(4)
            readings = page.locator("#g2p-output rt").all_inner_texts()
            assert all(re.fullmatch(r"[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+", r) for r in readings), readings
            assert page.locator("#g2p-output ruby.poly").count() >= 1
            page.screenshot(path=str(artifacts / "g2p.png"))

            # Continuation of the text so far.
            page.click("#tab-gen")
            expect(page.locator("#gen-output li").first).to_be_visible(timeout=30_000)

            # Narrow screen: nothing wider than the viewport.
            page.set_viewport_size({"width": 360, "height": 700})
            page.click("#tab-ime")
            page.keyboard.type("nihao")
            ready()
            assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
            page.screenshot(path=str(artifacts / "ime-narrow.png"))
            assert not errors, errors
        finally:
            browser.close()
