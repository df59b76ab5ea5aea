"""The web input method in a real browser: Playwright (PyPI) drives Debian's chromium.

The set-up (conftest.py) installs chromium with apt-get when /usr/bin/chromium is missing, or
skips the test with the reason; it starts ``pinhan serve`` with the tiny model on a free loopback
port. The test types ``nihao``, picks candidates, checks the committed text and the context of the
next request, checks the g2p and continuation tabs and a narrow screen, and saves screenshots
under ``$PINHAN_TEST_ARTIFACTS`` (default: build/test-artifacts/). test_firefox.py runs the same
scenario in Firefox ESR.
"""

from __future__ import annotations

import json
import re


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
