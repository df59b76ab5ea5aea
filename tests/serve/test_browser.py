"""The web input method in a real browser: Playwright (PyPI) drives Debian's chromium.

The set-up (conftest.py) installs chromium with apt-get when /usr/bin/chromium is missing, or
skips the test with the reason; it starts ``pinhan serve`` with the tiny model on a free loopback
port. The test types ``nihao``, picks candidates, checks the committed text and the context of the
next request, checks the g2p and continuation tabs and a narrow screen, and saves screenshots
under ``$PINHAN_TEST_ARTIFACTS`` (default: build/test-artifacts/). test_firefox.py runs the same
scenario in Firefox ESR. A second server, the tiny model with a word model, serves the
predictions test: after a commit the next words (联想) are offered and picked with digits / space.
"""

from __future__ import annotations

import contextlib
import json
import re

import pytest


@contextlib.contextmanager
def browser_page(chromium):
    """A headless Chromium page and the list its page errors are collected in."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 900, "height": 700})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page, errors
        finally:
            browser.close()


@pytest.fixture(scope="module")
def word_server(word_model_dir):
    """``pinhan serve`` with the tiny model and its word model on a free loopback port."""
    from .conftest import serving

    with serving(word_model_dir) as url:
        yield url


def test_predictions_after_a_commit_are_picked_with_digits_and_space(chromium, artifacts, word_server):
    from playwright.sync_api import expect

    with browser_page(chromium) as (page, errors):
        asked: list[dict] = []
        page.on("request", lambda r: asked.append(json.loads(r.post_data)) if r.url.endswith("/v1/predict") else None)
        page.goto(word_server + "/")
        editor, buffer, candidates = page.locator("#editor"), page.locator("#buffer"), page.locator("#candidates")

        def predictions_for(context: str) -> list[str]:
            expect(candidates).to_have_class(re.compile("predictions"))
            expect(candidates.locator("li").first).to_be_visible()
            want = page.request.post(word_server + "/v1/predict", data={"context": context, "k": 18}).json()
            expected = [c["text"] for c in want["candidates"]][:9]
            expect(candidates.locator("li.prediction .text")).to_have_text(expected)
            return expected

        editor.click()
        page.keyboard.type("womenmingtianqu")
        expect(buffer).to_have_text("womenmingtianqu")
        expect(candidates.locator("li").first).to_be_visible()
        expect(candidates).not_to_have_class(re.compile("loading"))
        page.keyboard.press(" ")  # the first candidate; the buffer is empty: predictions follow
        expect(buffer).to_have_text("")
        committed = editor.input_value()
        assert committed
        shown = predictions_for(committed)
        assert asked[-1]["context"] == committed
        page.screenshot(path=str(artifacts / "ime-predictions.png"))

        page.keyboard.press("2")  # a digit picks a prediction, which is committed and predicted after
        committed += shown[1]
        expect(editor).to_have_value(committed)
        shown = predictions_for(committed)
        page.keyboard.press(" ")  # space: the first prediction
        committed += shown[0]
        expect(editor).to_have_value(committed)
        predictions_for(committed)

        page.keyboard.press("Escape")  # dismissed; the text stays
        expect(candidates.locator("li")).to_have_count(0)
        expect(editor).to_have_value(committed)
        page.keyboard.press(" ")  # no predictions shown: an ordinary space
        expect(editor).to_have_value(committed + " ")

        page.keyboard.press("Backspace")
        page.keyboard.type("wo")  # a letter replaces predictions with the buffer's candidates
        page.keyboard.press(" ")
        expect(buffer).to_have_text("")
        predictions_for(editor.input_value())
        page.keyboard.type("m")
        expect(buffer).to_have_text("m")
        expect(candidates).not_to_have_class(re.compile("predictions"))
        assert not errors, errors


def test_type_pick_commit_and_read_in_the_browser(chromium, artifacts, server):
    from playwright.sync_api import expect

    with browser_page(chromium) as (page, errors):
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


def test_a_picked_phrase_comes_first_after_one_pick_and_a_reload(chromium, artifacts, word_server):
    """Learning (issue 18): pick the second candidate of ``shi`` once; typing ``shi`` again shows it
    first, also after the page is reloaded (the page keeps its user id in localStorage); the
    forget button drops it."""
    from playwright.sync_api import expect

    with browser_page(chromium) as (page, errors):
        page.goto(word_server + "/")
        editor, buffer, candidates = page.locator("#editor"), page.locator("#buffer"), page.locator("#candidates")

        def type_shi() -> None:
            editor.click()
            page.keyboard.type("shi")
            expect(buffer).to_have_text("shi")
            expect(candidates.locator("li").first).to_be_visible()
            expect(candidates).not_to_have_class(re.compile("loading"))

        type_shi()
        first = candidates.locator("li .text").first.inner_text()
        second = candidates.locator("li").nth(1)
        picked, number = second.locator(".text").inner_text(), second.locator(".number").inner_text()
        assert picked != first
        with page.expect_response(lambda r: r.url.endswith("/v1/learn")) as learned:
            page.keyboard.press(number)
        assert learned.value.ok
        page.keyboard.press("Escape")  # dismiss the predictions
        type_shi()
        expect(candidates.locator("li .text").first).to_have_text(picked)
        page.screenshot(path=str(artifacts / "ime-learned.png"))

        page.reload()
        editor, buffer, candidates = page.locator("#editor"), page.locator("#buffer"), page.locator("#candidates")
        type_shi()
        expect(candidates.locator("li .text").first).to_have_text(picked)

        page.keyboard.press("Escape")
        page.locator("details.options summary").click()
        with page.expect_response(lambda r: "/v1/user/" in r.url) as forgot:
            page.locator("#forget").click()
        assert forgot.value.ok
        type_shi()
        expect(candidates.locator("li .text").first).to_have_text(first)
        assert not errors, errors
