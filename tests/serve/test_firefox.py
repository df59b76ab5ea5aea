"""The web input method in Firefox: marionette_driver (PyPI) drives Debian's firefox-esr, headless.

The scenario of test_browser.py (Chromium), in stock Firefox. The set-up (conftest.py) installs
firefox-esr with apt-get when /usr/bin/firefox-esr is missing, or skips the test with the reason.
Screenshots: ``firefox-*.png`` under ``$PINHAN_TEST_ARTIFACTS`` (default build/test-artifacts/),
with Firefox's own log beside them (firefox-gecko.log).

Why Marionette: Playwright drives Firefox only as its own patched build, fetched from its CDN (no
package registry); its experimental WebDriver BiDi mode for stock Firefox (channel "moz-firefox")
sends commands that Firefox ESR 153 does not know (emulation.setMediaFeaturesOverride), and
Selenium needs geckodriver, which neither Debian nor PyPI ships for Linux. Marionette is Firefox's
own remote protocol (``firefox -marionette``); marionette_driver is Mozilla's client for it. It has
no network events, so the page's fetch is wrapped to record the requests, and no viewport
emulation (a Firefox window is at least 500 px wide), so the narrow screen is a 360 px iframe.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path

import pytest

KEYS = {"Enter": "\ue007", "Backspace": "\ue003", "Escape": "\ue00c"}  # WebDriver's codes

# Records what the page sends to v1/convert and its uncaught errors (run after each load).
RECORDER = """
window.__convert = []; window.__errors = [];
const original = window.fetch;
window.fetch = function (url, options) {
  if (String(url).endsWith("v1/convert")) window.__convert.push(JSON.parse(options.body));
  return original.call(window, url, options);
};
window.addEventListener("error", (e) => window.__errors.push(String(e.message)));
window.addEventListener("unhandledrejection", (e) => window.__errors.push(String(e.reason)));
"""


def settle(get, ok, what: str, timeout: float = 10.0):
    """Poll ``get()`` until ``ok(value)``; the value, or a failure that says what it last was."""
    deadline = time.monotonic() + timeout
    while True:
        value = get()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout} s for {what}; last seen: {value!r}")
        time.sleep(0.05)


class Page:
    """The few Playwright-like steps the scenario needs, over a Marionette session."""

    def __init__(self, marionette):
        self.m = marionette

    def js(self, script: str, *args):
        # sandbox=None: the page's own window (no Xray wrappers), so the page sees what the script sets.
        return self.m.execute_script(script, script_args=args, sandbox=None)

    def text(self, selector: str) -> str:
        return self.js("return document.querySelector(arguments[0]).textContent", selector)

    def value(self, selector: str) -> str:
        return self.js("return document.querySelector(arguments[0]).value", selector)

    def expect_text(self, selector: str, expected: str):
        settle(lambda: self.text(selector), lambda v: v == expected, f"{selector} to read {expected!r}")

    def expect_value(self, selector: str, expected: str):
        settle(lambda: self.value(selector), lambda v: v == expected, f"{selector} to hold {expected!r}")

    def type(self, text: str):
        """Key presses (keydown, keypress, input, keyup) from Firefox's own input synthesis."""
        keys = self.m.actions.sequence("key", "keyboard")
        for key in text:
            keys.key_down(key).key_up(key)
        keys.perform()

    def press(self, key: str):
        self.type(KEYS.get(key, key))

    def click(self, selector: str):
        from marionette_driver.by import By

        self.m.find_element(By.CSS_SELECTOR, selector).click()

    def candidates(self) -> list[dict]:
        return self.js("""return Array.from(document.querySelectorAll("#candidates li"), (li) => ({
            text: li.querySelector(".text").textContent, number: li.querySelector(".number").textContent,
            prefix: li.classList.contains("prefix"), visible: li.getClientRects().length > 0}))""")

    def ready(self) -> list[dict]:
        """The candidates shown for the current buffer."""
        settle(lambda: self.js("""const list = document.querySelector("#candidates");
            return [list.querySelectorAll("li").length, list.classList.contains("loading")]"""),
               lambda v: v[0] > 0 and not v[1], "candidates for the buffer")
        found = self.candidates()
        assert found[0]["visible"], found
        return found

    def requests(self) -> list[dict]:
        return self.js("return window.__convert")

    def screenshot(self, path: Path, element=None):
        path.write_bytes(self.m.screenshot(element=element, format="binary", full=False))

    def set_viewport(self, width: int, height: int):
        """The window size whose content area is ``width`` x ``height`` CSS pixels."""
        self.m.set_window_rect(width=width, height=height)
        inner = self.js("return [innerWidth, innerHeight]")
        self.m.set_window_rect(width=2 * width - inner[0], height=2 * height - inner[1])
        inner = self.js("return [innerWidth, innerHeight]")
        assert inner == [width, height], inner


@pytest.fixture
def firefox_page(firefox, artifacts, monkeypatch):
    from marionette_driver.marionette import Marionette

    monkeypatch.setenv("MOZ_HEADLESS_WIDTH", "1600")  # the headless screen: room for a 900 x 700 viewport
    monkeypatch.setenv("MOZ_HEADLESS_HEIGHT", "1200")
    log = artifacts / "firefox-gecko.log"
    try:
        marionette = Marionette(bin=firefox, headless=True, port=0, startup_timeout=60, socket_timeout=60,
                                gecko_log=str(log))
    except OSError as exc:
        tail = log.read_text(errors="replace").splitlines()[-20:] if log.exists() else []
        pytest.fail(f"Firefox did not start: {exc}\n" + "\n".join(tail))
    try:
        marionette.start_session()
        marionette.timeout.page_load = 30
        yield Page(marionette)
    finally:
        marionette.cleanup()


def test_type_pick_commit_and_read_in_firefox(firefox_page, artifacts, server):
    page = firefox_page
    m = page.m
    page.set_viewport(900, 700)
    m.navigate(server + "/")
    page.js(RECORDER)
    assert m.session_capabilities["browserName"] == "firefox"

    # Type nihao, pick the second whole-input candidate with its digit.
    page.click("#editor")
    page.type("nihao")
    page.expect_text("#buffer", "nihao")
    found = page.ready()
    whole = [c for c in found if not c["prefix"]]
    choice = whole[min(1, len(whole) - 1)]
    text, number = choice["text"], choice["number"]
    page.screenshot(artifacts / "firefox-ime-nihao.png")
    page.press(number)
    page.expect_value("#editor", text)
    page.expect_text("#buffer", "")

    # A candidate that covers the first syllable leaves the rest, converted with the new context.
    page.type("nihao")
    found = page.ready()
    prefix = next((c for c in found if c["prefix"]), None)
    assert prefix and prefix["visible"], found
    word = prefix["text"]
    page.press(prefix["number"])
    page.expect_value("#editor", text + word)
    page.expect_text("#buffer", "hao")
    page.ready()
    asked = page.requests()[-1]
    assert asked["pinyin"] == "hao" and asked["context"] == text + word, asked
    page.press(" ")  # space: the first candidate
    page.expect_text("#buffer", "")
    committed = page.value("#editor")
    assert committed.startswith(text + word) and len(committed) > len(text + word)

    # Space typed before the answer arrives still takes the first candidate of that buffer.
    page.type("women ")
    page.expect_text("#buffer", "")
    settle(lambda: page.value("#editor"), lambda v: v != committed, "the space to commit a candidate")
    asked = page.requests()[-1]
    assert asked["pinyin"] == "women" and asked["context"] == committed, asked
    request = urllib.request.Request(server + "/v1/convert", data=json.dumps(asked).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        first = json.load(response)["candidates"][0]["text"]
    page.expect_value("#editor", committed + first)
    committed += first

    # Enter commits the letters; Escape clears; Backspace edits the buffer.
    page.type("ma")
    page.press("Enter")
    page.expect_value("#editor", committed + "ma")
    page.type("zhongx")
    page.press("Backspace")
    page.expect_text("#buffer", "zhong")
    page.press("Escape")
    page.expect_text("#buffer", "")
    page.expect_value("#editor", committed + "ma")

    # Hanzi -> pinyin with tone marks; polyphonic characters are highlighted.
    from marionette_driver.by import By

    page.click("#tab-g2p")
    g2p = m.find_element(By.ID, "g2p-input")
    g2p.clear()
    g2p.send_keys("银行行长")
    page.expect_value("#g2p-input", "银行行长")
    settle(lambda: page.js('return document.querySelectorAll("#g2p-output ruby").length'), lambda n: n == 4,
           "4 characters with readings")
    readings = page.js('return Array.from(document.querySelectorAll("#g2p-output rt"), (rt) => rt.textContent)')
    assert all(re.fullmatch(r"[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+", r) for r in readings), readings
    assert page.js('return document.querySelectorAll("#g2p-output ruby.poly").length') >= 1
    page.screenshot(artifacts / "firefox-g2p.png")

    # Continuation of the text so far.
    page.click("#tab-gen")
    settle(lambda: page.js('const li = document.querySelector("#gen-output li"); return !!li && li.getClientRects().length > 0'),
           bool, "a continuation", timeout=30)
    assert page.js("return window.__errors") == []

    # Narrow screen: nothing wider than the viewport. A Firefox window is at least 500 px wide, so
    # the page runs in a 360 x 700 frame (its own viewport: the media queries see 360 px).
    m.navigate("data:text/html;charset=utf-8,<body style='margin:0'><iframe src='" + server + "/' "
               "style='width:360px;height:700px;border:0;display:block'></iframe></body>")
    frame = m.find_element(By.TAG_NAME, "iframe")
    m.switch_to_frame(frame)
    page.expect_text("#buffer", "")
    page.js(RECORDER)
    assert page.js("return [innerWidth, matchMedia('(max-width: 30rem)').matches]") == [360, True]
    page.click("#tab-ime")
    page.type("nihao")
    page.expect_text("#buffer", "nihao")
    page.ready()
    assert page.js("return document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert page.js("return window.__errors") == []
    m.switch_to_default_content()
    page.screenshot(artifacts / "firefox-ime-narrow.png", element=frame)
