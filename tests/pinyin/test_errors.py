"""PinyinError: a ValueError with the span of the offending text."""

import doctest
import importlib

import pytest

from pinhan.pinyin import PinyinError, parse

MODULES = ["errors", "inventory", "spelling", "normalize", "tones", "fuzzy", "scan", "table", "segments",
           "parser", "__init__"]  # fmt: skip


def test_pinyin_error_is_a_value_error_with_a_span():
    err = PinyinError.unreadable("xi'iii", 3, 6)
    assert isinstance(err, ValueError)
    assert err.span == (3, 6) and err.text == "iii"
    assert str(err) == "cannot read 'iii' at 3..6 as pinyin"


def test_long_offending_text_is_shortened_in_the_message():
    err = PinyinError.unreadable("ǖ" * 100, 0, 100)
    assert len(str(err)) < 80 and err.text == "ǖ" * 100


def test_parse_errors_carry_spans_into_the_original_input():
    text = "你好 zhōngguó ǖiii"
    with pytest.raises(PinyinError) as err:
        parse(text)
    a, b = err.value.span
    assert text[a:b] == "ǖiii"


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module("pinhan.pinyin" if name == "__init__" else f"pinhan.pinyin.{name}")
    failed, _ = doctest.testmod(module)
    assert failed == 0
