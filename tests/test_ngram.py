import math

import pytest

from pinhan.lm.ngram import CharNgram


def test_kneser_ney_char_ngram():
    lines = ["我们去北京", "我们去上海", "他们去北京", "北京很大"]
    lm = CharNgram.build(lines, order=3)
    p = lambda h, c: math.exp(lm.logprob(h, c))  # noqa: E731
    assert p("们去", "北") > p("们去", "上") > p("们去", "大")  # seen twice > once > never after 们去
    seen = set("".join(lines))
    assert sum(p("们去", c) for c in seen) == pytest.approx(1.0)  # a distribution over the seen characters
    assert p("", "我") > 0 and p("完全没见过", "北") > 0  # backs off to lower orders
    with pytest.raises(ValueError):
        CharNgram(order=0)
