import pytest

from pinhan.errors import InputError


def _real(api, text):
    return all(api.vocab.char_to_id.get(ch, 0) >= 5 for ch in text)


def test_greedy_beam_and_sampling(api):
    greedy = api.generate("我们明天", max_new_tokens=5)
    assert len(greedy) == 1 and len(greedy[0].text) == 5 and _real(api, greedy[0].text)
    beams = api.generate("我们明天", max_new_tokens=3, num_beams=4)
    assert len(beams) == 4 and len({b.text for b in beams}) == 4
    assert [b.score for b in beams] == sorted((b.score for b in beams), reverse=True)
    assert beams[0].score >= greedy[0].score - 1e9  # both finite
    sampled = api.generate("我们明天", max_new_tokens=6, temperature=1.0, top_p=0.9, seed=7)
    assert sampled == api.generate("我们明天", max_new_tokens=6, temperature=1.0, top_p=0.9, seed=7)  # seeded
    assert len(sampled[0].text) == 6 and _real(api, sampled[0].text)


def test_pinyin_hint_constrains_the_first_characters(api):
    readings = api.lexicon.readings()
    out = api.generate("我们", max_new_tokens=2, pinyin_hint="mingtian", num_beams=2)
    for c in out:
        assert [r.rstrip("12345") for r in readings[c.text[0]]].count("ming") >= 1
        assert "tian" in [r.rstrip("12345") for r in readings[c.text[1]]]
    with pytest.raises(InputError, match="not pinyin only"):
        api.generate("我们", pinyin_hint="ming 2024")


def test_empty_prefix_and_batches(api):
    assert api.generate("") == []
    batch = api.generate_batch(["我们", "", "银行"], max_new_tokens=3)
    single = api.generate("我们", max_new_tokens=3)[0]
    assert batch[1] == [] and batch[0][0].text == single.text  # padding changes sums in the last bits only
    assert batch[0][0].score == pytest.approx(single.score, abs=1e-4)


@pytest.mark.parametrize("options, message", [
    ({"max_new_tokens": 0}, "max_new_tokens"), ({"max_new_tokens": 65}, "max_new_tokens"),
    ({"num_beams": 0}, "num_beams"), ({"temperature": -1}, "temperature"),
    ({"temperature": float("nan")}, "temperature"), ({"top_p": 0}, "top_p"), ({"top_p": "x"}, "top_p"),
])
def test_bad_options_are_clear_errors(api, options, message):
    with pytest.raises(InputError, match=message):
        api.generate("我们", **options)


def test_a_hint_of_separators_only_is_no_hint(api):
    assert api.generate("我们", pinyin_hint="'", max_new_tokens=2) == api.generate("我们", max_new_tokens=2)
    assert api.generate("我们", temperature=1e-300, max_new_tokens=2) == api.generate("我们", max_new_tokens=2)
