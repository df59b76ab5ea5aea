import pytest

from pinhan.data.annotate import annotate, char_readings, is_hanzi
from pinhan.data.clean import Cleaner


@pytest.mark.parametrize(
    "raw, cleaned",
    [
        ("１２月３１日", "12月31日"),  # NFKC folds full-width forms
        ("你\u200b好\ufeff", "你好"),  # zero-width space and BOM are format characters
        ("a\x07b\tc\n d", "ab c d"),  # control characters go, whitespace folds to one space
        ("  \u3000 ", ""),
    ],
)
def test_cleaner(raw, cleaned):
    assert Cleaner()(raw) == cleaned


def test_traditional_to_simplified():
    assert Cleaner(traditional_to_simplified=True)("銀行行長說") == "银行行长说"
    assert Cleaner()("銀行") == "銀行"


def test_annotate_aligns_and_resolves_polyphones_by_phrase():
    text = "银行行长说:OK,12月"
    syllables = annotate(text)
    assert len(syllables) == len(text)
    assert syllables[:5] == ["yin2", "hang2", "hang2", "zhang3", "shuo1"]
    assert syllables[5:11] == [None] * 6  # punctuation, Latin, digits pass through
    assert syllables[-1] == "yue4"
    assert annotate("绿了") == ["lv4", "le5"]  # ü as v, neutral tone 5


def test_annotate_drops_readings_outside_the_known_set():
    assert annotate("中国", known=frozenset({"zhong1"})) == ["zhong1", None]


def test_is_hanzi_and_readings():
    assert is_hanzi("中") and is_hanzi("〇") and is_hanzi("\U00020000")
    assert not is_hanzi("a") and not is_hanzi("，") and not is_hanzi("")
    assert "hang2" in char_readings("行") and "xing2" in char_readings("行")
    assert char_readings("a") == []
