"""An input-method session: a pinyin buffer, its candidates, and the text committed so far.

::

    s = model.session()
    s.type("zhongguowenhua")     # candidates for the buffer
    s.commit(1)                  # pick 中国 (covers "zhongguo"): context 中国, buffer "wenhua",
                                 # whose candidates are converted with the new context
    s.commit()                   # the first candidate: 文化; the buffer is empty, and the
                                 # candidates are the next words after 中国文化 (联想)
    s.commit(0)                  # pick a prediction: it joins the context; predict again
    s.append("de")               # a keystroke: candidates for the buffer again

Committed text becomes the context of every later conversion, and the session learns it (see
:mod:`pinhan.infer.user`): each commit's words (and their bigrams) join the user history that
the word lattice mixes into its scores, and a phrase picked in pieces (意大利, then 面) is learned
whole once the buffer empties, so that it comes first next time. ``user`` is a
:class:`~pinhan.infer.user.UserModel` or a user directory (loaded, and saved atomically after
every commit); None: a fresh history that lives as long as the session. ``learn=False`` converts
without a history and learns nothing. After a commit that empties the
buffer, the candidates are predictions (``kind="prediction"``, ``consumed`` 0: whole next words,
:meth:`~pinhan.infer.api.Pinhan.predict`) until the next keystroke; a model without a word model
predicts nothing (``predict`` is then False). What can be reused is: the
conversion of a (context, buffer) pair seen before (backspacing, retyping, re-showing a page)
comes from a small LRU cache, and the context's pinyin annotation is cached by the converter.
The model's encoder reads the whole input bidirectionally, so a new letter or a new context
means a new encoder pass; there is no cached state that stays exact across them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

import os

from pinhan.errors import InputError
from pinhan.infer.results import Candidate
from pinhan.infer.user import START, UserModel, UserStore

if TYPE_CHECKING:
    from pinhan.infer.api import Pinhan


class Session:
    """The state of one input method: ``context`` (committed text), ``buffer`` (pinyin typed and
    not yet committed) and ``candidates`` (for the buffer, or the predicted next words after a
    commit; ``predict`` None: whenever the model can predict)."""

    def __init__(self, model: Pinhan, *, context: str = "", k: int = 9, mode: str = "accurate",
                 fuzzy: Sequence[str] = (), cache_size: int = 128, predict: bool | None = None,
                 user: UserModel | str | os.PathLike | None = None, learn: bool = True) -> None:
        self.model, self.k, self.mode, self.fuzzy = model, k, mode, tuple(fuzzy)
        self.store = None if user is None or isinstance(user, UserModel) else UserStore(user)
        self.user: UserModel | None = None
        if learn:
            self.user = self.store.load() if self.store is not None else (user if user is not None else UserModel())
        self._pieces: list[tuple[str, tuple[str, ...]]] = []  # committed since the buffer was last empty
        self._previous = START  # the last word learned in this session
        self.predict = model.predictor.available if predict is None else predict
        self.context = context
        self.buffer = ""
        self.candidates: list[Candidate] = []
        self._cache: OrderedDict[tuple[str, str, int], list[Candidate]] = OrderedDict()
        self._cache_size = cache_size

    def type(self, pinyin: str) -> list[Candidate]:
        """Set the buffer to ``pinyin`` (everything typed since the last commit) and convert it."""
        if not isinstance(pinyin, str):
            raise InputError(f"pinyin must be a string, got {type(pinyin).__name__}")
        self.buffer = pinyin
        self.candidates = self._convert()
        return self.candidates

    def append(self, letters: str) -> list[Candidate]:
        """Add keystrokes to the buffer."""
        return self.type(self.buffer + letters)

    def backspace(self) -> list[Candidate]:
        return self.type(self.buffer[:-1])

    def commit(self, choice: int | Candidate = 0) -> str:
        """Commit a candidate (its index in ``candidates`` or the candidate itself): its text joins
        the context, the input it covers leaves the buffer, and the rest is converted again.
        Returns the committed text."""
        if isinstance(choice, Candidate):
            candidate = choice
        elif isinstance(choice, int) and not isinstance(choice, bool) and 0 <= choice < len(self.candidates):
            candidate = self.candidates[choice]
        else:
            raise InputError(f"no candidate {choice!r} to commit ({len(self.candidates)} shown)")
        if candidate.consumed > len(self.buffer):
            raise InputError(f"the candidate covers {candidate.consumed} characters; the buffer has {len(self.buffer)}")
        self.context += candidate.text
        self._learn(candidate)
        self.type(self.buffer[candidate.consumed :].lstrip("' "))
        if not self.buffer:
            self._learn_phrase()
        if not self.buffer and self.predict:
            self.candidates = self._predictions()
        return candidate.text

    def commit_raw(self) -> str:
        """Commit the buffer's letters as typed (Enter in an input method)."""
        text = self.buffer
        self.context += text
        self._pieces, self._previous = [], START
        self.type("")
        return text

    def clear(self) -> None:
        """Drop the buffer (Escape); the context stays."""
        self._pieces = []
        self.type("")

    # --- learning -----------------------------------------------------------------------------
    def _learn(self, candidate: Candidate) -> None:
        """The committed candidate's words join the history (after the last word learned)."""
        lattice = self._lattice
        if self.user is None or lattice is None:
            return
        from pinhan.infer.search.user_lattice import segment

        words = segment(lattice, candidate.text, candidate.pinyin)
        if words:
            self.user.learn(words, self._previous)
            self._previous = words[-1][0]
            if candidate.consumed:
                self._pieces.append((candidate.text, tuple(r for _, reading in words for r in reading)))
            self._save()

    def _learn_phrase(self) -> None:
        """A conversion picked in pieces is learned whole (one unit, at a conversion's start)."""
        pieces, self._pieces = self._pieces, []
        if self.user is None or len(pieces) < 2:
            return
        text = "".join(t for t, _ in pieces)
        reading = tuple(r for _, rs in pieces for r in rs)
        if len(reading) == len(text):
            self.user.add_phrase(text, reading)
            self._save()

    def _save(self) -> None:
        if self.store is not None and self.user is not None:
            self.store.save(self.user)

    @property
    def _lattice(self):
        by_lattice = self.model.converter.by_lattice
        return None if by_lattice is None else by_lattice.lattice

    def _predictions(self) -> list[Candidate]:
        """The next words after the context, as candidates that cover no input."""
        predictor = self.model.predictor
        return [Candidate(p.text, p.score, tuple(predictor.reading(predictor.lexicon.word_id[p.text])), 0, "prediction")
                for p in self.model.predict(self.context[-self.model.config.max_chars:], k=self.k)]

    def _convert(self) -> list[Candidate]:
        if not self.buffer:
            return []
        read = max(self.model.config.max_context, self.model.config.context_history)  # what conversion reads of the context
        key = (self.context[-read:], self.buffer, self.user.version if self.user else -1)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        result = self.model.convert(self.buffer, context=self.context, k=self.k, mode=self.mode, fuzzy=self.fuzzy,
                                    user=self.user)
        self._cache[key] = result
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return result
