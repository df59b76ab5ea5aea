"""Conversion over the word lattice, with the Transformer scoring the lattice's N best.

The stages::

    letters     typed pinyin -> letters and apostrophe boundaries (input with tone digits, marks,
                fuzzy rules or pass-through text goes to the character decoder instead)
    lattice     every word that spells or abbreviates a stretch of the letters, searched under the
                word n-gram -> N best paths (pinhan.infer.search.lattice)
    rescore     accurate mode: the decoder's summed raw logits of each path's hanzi, teacher-forced,
                in context, and the homophone chooser's log-probability of each hanzi read from
                both sides (:mod:`pinhan.lm.homophones`, when the model directory has one); fast
                mode: the encoder head's, one encoder pass per segmentation; each added with a
                weight chosen on dev clauses (``pinhan lm``)
    assemble    whole-input candidates within ``margin`` (``abbreviated_margin`` where initials are
                read) of the best, then prefixes (the best
                path's first words, longest first; then words and characters that start the
                input), then the other whole-input candidates; no duplicates, cut to k
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from collections.abc import Callable, Iterator
from functools import cached_property, lru_cache, partial
from itertools import chain

import numpy as np

from pinhan import ids
from pinhan.infer.bundle import ModelBundle
from pinhan.infer.config import InferenceConfig
from pinhan.infer.context_history import ContextHistories
from pinhan.infer.inputs import ContextEncoder, P2HRequest, encode_p2h
from pinhan.infer.results import Candidate
from pinhan.infer.search.beam import forced_logits
from pinhan.infer.search.constraints import P2HConstraint
from pinhan.infer.search.lattice import COPY, LatticePath, WordLattice
from pinhan.infer.search.lattice_search import NO_USER, start_scores
from pinhan.infer.search.user_lattice import UserView, path_text, user_nbest, user_view
from pinhan.infer.user import UserModel

_TYPED = re.compile(r"[A-Za-zÜüVv']*[A-Za-zÜüVv][A-Za-zÜüVv']*")
WORD_KEYS_CACHE = 100_000  # (reading, abbreviated) pairs whose encoder keys are kept


@dataclass(frozen=True)
class Typed:
    """Typed pinyin as the lattice reads it: ``letters`` (lower case, ü as v), the input offset
    after each letter (for ``consumed``) and the letter offsets apostrophes fix as boundaries."""

    pinyin: str
    letters: str
    ends: tuple[int, ...]
    boundaries: frozenset[int]


def typed_letters(pinyin: str) -> Typed | None:
    """The letters of input made only of letters and apostrophes; None for any other input."""
    if not isinstance(pinyin, str) or not _TYPED.fullmatch(pinyin):
        return None
    letters, ends, bounds = [], [], set()
    for at, ch in enumerate(pinyin):
        if ch == "'":
            bounds.add(len(letters))
            continue
        letters.append("v" if ch in "üÜVv" else ch.lower())
        ends.append(at + 1)
    return Typed(pinyin, "".join(letters), tuple(ends), frozenset(b for b in bounds if 0 < b < len(letters)))


@dataclass
class _Option:
    text: str
    score: float
    pinyin: tuple[str, ...] | Callable[[], tuple[str, ...]]  # or how to make it: most options are never shown
    consumed: int
    kind: str

    def candidate(self) -> Candidate:
        pinyin = self.pinyin() if callable(self.pinyin) else self.pinyin
        return Candidate(self.text, self.score, pinyin, self.consumed, self.kind)


class WordConverter:
    """Candidates from the bundle's word lattice (see the module docstring)."""

    def __init__(self, bundle: ModelBundle, config: InferenceConfig, contexts: ContextEncoder, lattice: WordLattice) -> None:
        self.bundle, self.config, self.contexts, self.lattice = bundle, config, contexts, lattice
        info = self.lattice.lm.info
        self.model_weight = info.get("model_weight", 0.0) if config.word_model_weight is None else config.word_model_weight
        self.head_weight = info.get("head_weight", 0.0) if config.word_head_weight is None else config.word_head_weight
        # (reading, abbreviated) -> encoder keys per syllable: the same words come back in every path
        self._word_keys = lru_cache(maxsize=WORD_KEYS_CACHE)(self._reading_keys)
        self.context_histories = ContextHistories(lattice, contexts.annotator, config.context_history, config.context_weight)

    def convert(self, typed: Typed, context: str, k: int, mode: str, prefixes: bool,
                abbreviations: bool = True, user: UserModel | None = None, wide: bool = False) -> list[Candidate]:
        """Candidates for typed letters; ``user``: a history mixed into the lattice's scores
        (:mod:`pinhan.infer.search.user_lattice`), and so are the context's own words
        (:mod:`pinhan.infer.context_history`: alone, or after a user's history); ``wide``: input
        typed as initials, searched with ``word_abbreviated_beam`` states."""
        context_arrays = None
        if user is not None and len(user):
            view = user_view(user, self.lattice)
            context_arrays = self.context_histories.arrays(context)
        else:
            view = self.context_histories.view(context)
        beam = self.config.word_abbreviated_beam if wide else self.config.word_beam
        if view is None:
            paths = self.lattice.nbest(typed.letters, self.config.word_nbest, typed.boundaries, abbreviations, beam=beam)
        else:
            paths = user_nbest(self.lattice, view, typed.letters, self.config.word_nbest, typed.boundaries, abbreviations,
                               beam=beam, context=NO_USER if context_arrays is None else context_arrays)
        whole = self._whole(typed, paths, context, mode, view, wide)
        if not prefixes or not whole:
            return [o.candidate() for o in whole[:k]]
        best = whole[0].score
        margin = self.config.abbreviated_margin if abbreviations else self.config.margin
        first = [o for o in whole if o.score >= best - margin]
        rest = whole[len(first):]
        # prefixes and first words are made only as far as k needs them (a long clause's
        # prefixes usually fill k before the first words are looked up)
        options = chain(first, self._prefixes(typed, paths[0], view), self._first_words(typed, abbreviations), rest)
        seen, out = set(), []
        for option in options:
            if option.text and option.text not in seen:
                seen.add(option.text)
                out.append(option.candidate())
            if len(out) == k:
                break
        return out

    # --- whole input --------------------------------------------------------------------------
    def _whole(self, typed: Typed, paths: list[LatticePath], context: str, mode: str,
               view: UserView | None = None, wide: bool = False) -> list[_Option]:
        unique: dict[str, LatticePath] = {}
        for path in paths:  # best first: the first path of a text is its best segmentation
            unique.setdefault(path_text(self.lattice, view, path, typed.letters), path)
        weight = self.model_weight if mode == "accurate" else self.head_weight
        read = list(unique.values())[: self.config.word_rescore]
        model = self._model_scores(read, context, mode, view, wide) if weight > 0 else {}
        added = {key: weight * value for key, value in model.items()}  # id(path) -> what rescoring adds
        homophones = mode == "accurate" and self.homophone_weight > 0  # read on first use: fast mode never needs it
        if homophones:  # the paths the decoder read (all of the first word_rescore when it reads none)
            scored = [p for p in read if COPY not in p.words and (weight == 0 or id(p) in model)]
            chosen = self._homophone_scores(scored, context, view)
            for path in scored:
                added[id(path)] = added.get(id(path), 0.0) + self.homophone_weight * chosen.get(id(path), 0.0)
        options, unread = [], set()
        for text, path in unique.items():
            options.append(_Option(text, path.score + added.get(id(path), 0.0), partial(self._pinyin, path, typed.letters),
                                   len(typed.pinyin), "whole"))
            if (weight > 0 or homophones) and id(path) not in added and COPY not in path.words:
                unread.add(text)  # not read (word_rescore, word_head_rows): after the paths the model read
        return sorted(options, key=lambda o: (o.text in unread, -o.score))  # stable: the lattice's order on ties

    def _model_scores(self, paths: list[LatticePath], context: str, mode: str,
                      view: UserView | None = None, wide: bool = False) -> dict[int, float]:
        """id(path) -> summed raw logits of its hanzi (decoder or encoder head); paths that copy
        letters are not scored (they rank last anyway). All paths share one encoder batch (a row
        per distinct segmentation, padded) and, in accurate mode, one teacher-forced decoder run
        whose shorter rows stop counting at their end (a causal decoder: the padding after a
        row's end cannot change its earlier steps)."""
        segmentations: dict[tuple, int] = {}  # distinct keys -> encoder row, best paths' first
        members: list[tuple[int, LatticePath]] = []
        limit = self.config.word_abbreviated_head_rows if wide else self.config.word_head_rows
        rows_left = limit if mode == "fast" and limit else len(paths)
        for path in paths:
            if COPY in path.words:
                continue
            keys = self._keys(path)
            if keys not in segmentations:
                if rows_left == 0:
                    continue
                rows_left -= 1
                segmentations[keys] = len(segmentations)
            members.append((segmentations[keys], path))
        if not members:
            return {}
        vocab, runner = self.bundle.vocab, self.bundle.runner
        key_arrays = [np.array(keys, dtype=np.int64).reshape(-1, 3) for keys in segmentations]  # (L_g, 3) each
        if mode == "fast":  # the encoder's time grows with its positions: the head reads less context
            context = context[-self.config.word_head_context:] if self.config.word_head_context else ""
        enc = encode_p2h([P2HRequest(k, context) for k in key_arrays], vocab, self.bundle.tables,
                         self.contexts.max_context, self.contexts)
        encoded = runner.encode(enc)
        rows = np.array([row for row, _ in members], dtype=np.int64)  # (H,) encoder row of each path
        texts = [[vocab.char_id(ch) for ch in self._text(p, view)] for _, p in members]
        targets = np.full((len(members), max(map(len, texts))), -1, dtype=np.int64)  # (H, T), -1 past a row's end
        for h, chars in enumerate(texts):
            targets[h, : len(chars)] = chars
        if mode == "accurate":
            constraint = P2HConstraint([key_arrays[r] for r in rows], self.bundle.index, self.bundle.tables)
            totals = forced_logits(runner, encoded, constraint, targets, rows)
        else:
            first = np.argmax(enc["segments"] == ids.SEG_TARGET, axis=1)  # (G,) each row's first typed position
            member, step = np.nonzero(targets >= 0)  # (N,) row-major: each path's characters in order
            at_row, chars = rows[member], targets[member, step]  # (N,) each
            positions = first[at_row] + step  # (N,)
            # paths of one segmentation mostly differ in a word or two: each (row, position,
            # hanzi) is read once
            width, n_chars = enc["segments"].shape[1], len(vocab.chars)
            unique, back = np.unique((at_row * width + positions) * n_chars + chars, return_inverse=True)  # (U,), (N,)
            logits = runner.nar_logits_at(encoded, unique // (width * n_chars), unique // n_chars % width,
                                          (unique % n_chars)[:, None])  # (U, 1)
            totals = np.bincount(member, weights=logits[back.reshape(-1), 0].astype(np.float64), minlength=len(members))
        return {id(p): float(t) for (_, p), t in zip(members, totals)}

    @cached_property
    def homophones(self):
        """The model directory's homophone chooser, or None (none there, or ``homophone_weight=0``)."""
        return self.bundle.homophones if self.config.homophone_weight != 0 else None

    @cached_property
    def homophone_weight(self) -> float:
        if self.homophones is None:
            return 0.0
        return self.homophones.weight if self.config.homophone_weight is None else float(self.config.homophone_weight)

    def _homophone_scores(self, paths: list[LatticePath], context: str, view: UserView | None) -> dict[int, float]:
        """id(path) -> the homophone chooser's summed log-probability of its hanzi, each read from
        the characters on both sides (:mod:`pinhan.lm.homophones`). A path whose text does not
        spell one syllable a character (a user's phrase written otherwise) cannot be read: it gets
        the lowest score of the others, so that it gains nothing from that."""
        texts, syllables, kept = [], [], []
        for path in paths:
            text = self._text(path, view)
            reading = [s for word in path.readings for s in word]
            if len(reading) == len(text):
                texts.append(text)
                syllables.append(reading)
                kept.append(path)
        history = context[-(self.homophones.layout.window + self.homophones.layout.far):]
        scores = dict(zip(map(id, kept), self.homophones.scores(history, texts, syllables))) if texts else {}
        lowest = min(scores.values(), default=0.0)
        return {id(p): scores.get(id(p), lowest) for p in paths}

    def _keys(self, path: LatticePath) -> tuple[tuple[int, int, int], ...]:
        """What was typed for each syllable of a path: toneless factors, or the initial alone."""
        return tuple(key for reading, abbreviated in zip(path.readings, path.abbreviated)
                     for key in self._word_keys(reading, abbreviated))

    def _reading_keys(self, reading: tuple[str, ...], abbreviated: bool) -> tuple[tuple[int, int, int], ...]:
        out = []
        for syllable in reading:
            initial, final, _ = self.bundle.vocab.factors(syllable.rstrip("012345"))
            out.append((initial, ids.UNKNOWN, ids.UNKNOWN) if abbreviated else (initial, final, ids.UNKNOWN))
        return tuple(out)

    # --- prefixes -----------------------------------------------------------------------------
    def _prefixes(self, typed: Typed, best: LatticePath, view: UserView | None = None) -> Iterator[_Option]:
        """The best path's first words, longest first (我喜欢, 我 for woxihuanchi), made as
        they are asked for (a long clause has many; k candidates take a few)."""
        for j in range(len(best.words) - 1, 0, -1):
            part = LatticePath(best.words[:j], best.spans[:j], best.readings[:j], best.abbreviated[:j], best.score)
            if COPY not in part.words:
                yield _Option(self._text(part, view), best.score, self._pinyin(part, typed.letters),
                              typed.ends[best.spans[j - 1][1] - 1], "prefix")

    def _first_words(self, typed: Typed, abbreviations: bool) -> Iterator[_Option]:
        """Words, then characters, that start the input, by the n-gram's score; looked up when
        the first is asked for."""
        lattice = self.lattice
        arcs = lattice.arcs_at(typed.letters, 0, typed.boundaries, abbreviations)
        real = arcs.word != COPY
        if not real.any():
            return
        lm = start_scores(lattice.arrays, arcs.word[real].astype(np.int64), lattice.lm.BOS) + arcs.cost[real]
        words = arcs.word[real]
        ends, readings = arcs.end[real], [r for r, keep in zip(arcs.readings, real) if keep]
        order = sorted(range(len(words)), key=lambda i: (len(lattice.lexicon.words[words[i]]) == 1, -lm[i]))
        for i in order:
            yield _Option(lattice.lexicon.words[words[i]], float(lm[i]), tuple(readings[i]), typed.ends[ends[i] - 1], "prefix")

    # --- text ---------------------------------------------------------------------------------
    def _text(self, path: LatticePath, view: UserView | None = None) -> str:
        if view is not None:
            return "".join(view.text(w, self.lattice) for w in path.words)
        return "".join(self.lattice.lexicon.words[w] for w in path.words)

    def _pinyin(self, path: LatticePath, letters: str) -> tuple[str, ...]:
        out: list[str] = []
        for word, (start, end), reading in zip(path.words, path.spans, path.readings):
            out += list(letters[start:end]) if word == COPY else list(reading)
        return tuple(out)
