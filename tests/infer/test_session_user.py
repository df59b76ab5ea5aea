"""Sessions learn from their commits (pinhan.infer.tasks.session + pinhan.infer.user)."""

from __future__ import annotations

import pytest

import pinhan
from pinhan.infer.user import UserModel, UserStore


@pytest.fixture(scope="module")
def words(word_model_dir):
    return pinhan.load(word_model_dir)


def pick_other(session, pinyin):
    """Type, then pick the best whole candidate that is not the first (what a user corrects to)."""
    candidates = session.type(pinyin)
    return next(c for c in candidates[1:] if c.kind == "whole" and not any(ch.isascii() for ch in c.text))


def test_a_pick_comes_first_next_time_and_convert_stays_stateless(words, tmp_path):
    session = words.session(k=9, predict=False, user=tmp_path / "user")
    pinyin = "shi"  # 是 first; 世, 十, 始, 时 after it
    before = [c.text for c in words.convert(pinyin, k=9)]
    other = pick_other(session, pinyin)
    session.commit(other)
    session.clear()
    assert session.type(pinyin)[0].text == other.text
    assert [c.text for c in words.convert(pinyin, k=9)] == before  # convert learns nothing
    again = words.session(k=9, predict=False, user=tmp_path / "user")  # saved after the commit
    assert again.type(pinyin)[0].text == other.text
    off = words.session(k=9, predict=False, user=tmp_path / "user", learn=False)
    assert [c.text for c in off.type(pinyin)] == before and off.user is None


def test_a_phrase_picked_in_pieces_is_learned_whole(words):
    user = UserModel()
    session = words.session(k=20, predict=False, user=user)
    candidates = session.type("yinhanghangzhang")
    piece = next(c for c in candidates if c.kind == "prefix" and 0 < c.consumed < len("yinhanghangzhang"))
    session.commit(piece)
    rest = session.candidates[0]
    session.commit(rest)
    assert session.buffer == "" and piece.text + rest.text in user.words
    assert user.words[piece.text + rest.text][2] == tuple(s.rstrip("012345") for s in piece.pinyin + rest.pinyin)


def test_raw_commits_are_not_learned(words):
    user = UserModel()
    session = words.session(predict=False, user=user)
    session.type("yinhang")
    session.commit_raw()
    assert len(user) == 0
    UserStore  # the store is exercised in test_user.py
