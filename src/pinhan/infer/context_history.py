"""The text before the cursor as a short history that the word lattice mixes in.

Text repeats its own names and terms: a news paragraph names 霍金 again two clauses later, a hotel
review says 房间 and 前台 more than once. The decoder reads the context, but at a weight of 0.1 it
cannot lift a word the n-gram rates far below a homophone. So when a conversion has a context and
no user history of its own, the context's last ``context_history`` characters are cut into
lexicon words (:func:`segment`, each word read as the lexicon most often reads it; a hanzi the
lexicon lacks read by the bundle's annotator, as a phrase of the context's own), learned into a
fresh :class:`~pinhan.infer.user.UserModel`, and the lattice mixes that history in exactly as it
mixes a user's (:mod:`pinhan.infer.search.user_lattice`, weight ``context_weight``). A conversion
with a user history mixes in both: the user's first, then the context's lexicon words (on dev
streams the last 256 characters of the text did more than a long history of the same text).

On dev clauses (benchmarks/RESULTS.md, "The context as a history, and erhua") this raised accurate
mode by 0.3-0.4 (People's Daily), 0.2-0.3 (reviews) and 2-3 (internet news) points of character
accuracy.
Views are kept per context string (an input method sends the same context with every keystroke).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache

from pinhan.data.annotate import HANZI_RUN
from pinhan.infer.search.lattice import WordLattice
from pinhan.infer.search.lattice_search import UserArrays
from pinhan.infer.search.user_lattice import UserView, lexicon_arrays, segment, user_view
from pinhan.infer.user import UserModel, UserSettings

CACHE_SIZE = 64  # contexts whose views are kept: a few sessions typing at once
RUN_CACHE_SIZE = 4096  # hanzi runs whose words are kept: a growing context repeats its earlier runs


class ContextHistories:
    """Context text -> the view of a history learned from it (None: nothing to learn)."""

    def __init__(self, lattice: WordLattice, annotate: Callable[[str], list[str | None]], chars: int,
                 weight: float, cache_size: int = CACHE_SIZE) -> None:
        self.lattice, self.annotate, self.chars = lattice, annotate, chars
        self.settings = UserSettings(weight=weight)
        self.cache_size = cache_size
        self._views: OrderedDict[str, tuple[UserModel, UserView, UserArrays] | None] = OrderedDict()
        self._words = lru_cache(maxsize=RUN_CACHE_SIZE)(self._run_words)
        self._lock = threading.Lock()  # the service converts from several threads

    def view(self, context: str) -> UserView | None:
        """The view for ``context`` (its last ``chars`` characters), built once per context."""
        found = self._built(context)
        return None if found is None else found[1]

    def arrays(self, context: str) -> UserArrays | None:
        """The same history as arrays of lexicon words only, to mix in beside a user's history
        (:func:`~pinhan.infer.search.user_lattice.lexicon_arrays`)."""
        found = self._built(context)
        return None if found is None else found[2]

    def _built(self, context: str) -> tuple[UserModel, UserView, UserArrays] | None:
        if self.chars <= 0 or not context:
            return None
        context = context[-self.chars:]
        with self._lock:
            if context in self._views:
                self._views.move_to_end(context)
                return self._views[context]
        user = self.history(context)
        built = None
        if user is not None:
            view = user_view(user, self.lattice)
            built = (user, view, lexicon_arrays(view, self.lattice))  # the model keeps its view alive
        with self._lock:
            self._views[context] = built
            while len(self._views) > self.cache_size:
                self._views.popitem(last=False)
        return built

    def history(self, context: str) -> UserModel | None:
        """The context's hanzi runs, in order, cut into lexicon words and learned (each run from
        a conversion's start); None when the context holds no hanzi."""
        user = UserModel(self.settings)
        for run in HANZI_RUN.findall(context):
            words = self._words(run)
            if words:
                user.learn(words)
        return user if len(user) else None

    def _run_words(self, run: str) -> list[tuple[str, tuple[str, ...]]]:
        """One hanzi run cut into lexicon words with toneless readings (:func:`segment`); the
        annotator reads only a run with a hanzi the lexicon lacks."""
        if all(map(self.lattice.lexicon.word_id.__contains__, run)):
            # each word read as the lexicon most often reads it: the annotator's readings chose
            # the same words on every dev clause, at 0.3 ms more a new context of 113 characters
            return segment(self.lattice, run, None)
        # a hanzi the lexicon lacks becomes a phrase of the context's own: it needs its reading
        return segment(self.lattice, run, tuple(syllable or "" for syllable in self.annotate(run)))
