import pytest

from pinhan.errors import InputError


def test_commit_a_prefix_converts_the_rest_with_the_new_context(api):
    session = api.session(k=20)
    candidates = session.type("womenmingtian")
    assert candidates and session.buffer == "womenmingtian"
    prefix = next(c for c in candidates if c.kind == "prefix" and c.consumed == 5)  # wo'men
    assert session.commit(prefix) == prefix.text
    assert session.context == prefix.text and session.buffer == "mingtian"
    assert session.candidates == api.convert("mingtian", context=prefix.text, k=20)
    final = session.candidates[0]
    assert session.commit() == final.text
    assert session.context == prefix.text + final.text and session.buffer == "" and session.candidates == []


def test_typing_backspace_raw_commit_and_clear(api):
    session = api.session(context="我们", k=5)
    session.append("ni")
    first = session.append("hao")
    assert session.buffer == "nihao"
    session.backspace()
    assert session.buffer == "niha"
    assert session.append("o") is first  # the same (context, buffer): served from the cache
    assert session.commit_raw() == "nihao" and session.context == "我们nihao"
    session.type("ni")
    session.clear()
    assert session.buffer == "" and session.candidates == [] and session.context == "我们nihao"


def test_bad_commits(api):
    session = api.session()
    with pytest.raises(InputError, match="no candidate"):
        session.commit(0)
    session.type("nihao")
    with pytest.raises(InputError, match="no candidate"):
        session.commit(99)
