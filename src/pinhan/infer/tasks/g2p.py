"""Hanzi -> pinyin with polyphones resolved (h2p), deciding only what is ambiguous.

Each hanzi takes, in order:

1. its only reading, when the lexicon (or pypinyin, for a hanzi outside the vocabulary) has one;
2. the reading a phrase of pypinyin's phrase dictionary fixes (``g2p_phrases``,
   :class:`~pinhan.lm.phrases.PhraseReadings`; forward maximum matching), unless CC-CEDICT's
   phrases, matched the same way, give the character another reading (``g2p_phrase_agreement``):
   two dictionaries that disagree leave the choice to the head (差价: pypinyin ``cha4``,
   CC-CEDICT ``cha1``); and a polyphonic verb split from its object by 了 / 过 takes the reading
   of the phrase the two make (``g2p_separable``: 还了书 as 还书 ``huan2``, 着了火 as 着火 ``zhao2``);
   and 地 after an adverbial is the particle ``de5`` (``g2p_adverbial_de``: 慢慢地走, 认真地学习);
   and function words outside dictionary words by rules over their context (``g2p_function_words``,
   :mod:`pinhan.infer.tasks.function_words`: 应 ``ying1``, 为 ``wei4``, 得 ``dei3`` / ``de5``, ...);
3. its most frequent reading when that reading has at least ``g2p_settled_share`` of the
   character's train counts, and these are at least ``g2p_settled_count`` (年 ``nian2``: its other
   reading ``ning4`` never occurs in 62,917), without the encoder;
4. the polyphone head's choice among its readings (``g2p_head``, ``polyphone.safetensors``,
   :mod:`pinhan.model.polyphone`), read off the encoder's states at the character and at the
   head's ``window`` of neighbours, after the encoder's first ``encoder_layers`` layers (the
   head's own setting; the rest of the encoder is never run, and its last layer runs at the
   positions the head reads only, :meth:`~pinhan.infer.runner.Runner.encode_at`): every run of
   hanzi holding such a character is one h2p encoder row (``g2p_context`` characters before it are
   its context) and the rows of a batch go through the encoder together, once; the reading a
   CC-CEDICT phrase gives the character adds ``g2p_dictionary_weight`` to its score;
5. otherwise its most frequent reading (the lexicon's train counts): the frequency backoff for a
   character the head was not trained on.

The decided readings are then written with a dictionary's tones (``g2p_dictionary_tones``,
:mod:`pinhan.pinyin.conventions`): the neutral tone and erhua ``r5`` where a CC-CEDICT word has
them, 一 and 不 in their citation tones.

A model without a head (or ``g2p_head=false``) decodes its runs with the h2p decoder instead,
greedily, constrained to the readings steps 1-2 leave open. Everything that is not a hanzi is
passed through, one entry per character.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from pinhan.data.annotate import char_readings, is_hanzi
from pinhan.errors import InputError
from pinhan.infer.bundle import ModelBundle
from pinhan.infer.config import InferenceConfig
from pinhan.infer.inputs import ContextEncoder, encode_h2p
from pinhan.infer.results import G2PResult
from pinhan.infer.search.beam import beam_search
from pinhan.infer.search.constraints import H2PConstraint
from pinhan.infer.tasks import function_words
from pinhan.pinyin import mark_syllable
from pinhan.pinyin.conventions import dictionary_tones

TONE_STYLES = ("number", "mark", "none")


@dataclass
class _Run:
    item: int
    start: int  # offset of the run in its text
    chars: np.ndarray  # (L,) hanzi ids (UNK outside the vocabulary)
    readings: list[np.ndarray]  # per position: toned-syllable ids, most frequent first (narrowed by phrases)
    polyphonic: list[bool]  # per position: more than one reading in the lexicon


class G2P:
    """Hanzi -> pinyin with a loaded model's shared parts under its settings (``max_chars``,
    ``max_run``, ``g2p_context``, ``batch_rows``, ``g2p_phrases``, ``g2p_head`` of
    :class:`~pinhan.infer.config.InferenceConfig`)."""

    def __init__(self, bundle: ModelBundle, config: InferenceConfig) -> None:
        runner = bundle.runner
        self.runner, self.vocab, self.bundle = runner, bundle.vocab, bundle
        self.max_chars, self.batch_rows = config.max_chars, config.batch_rows
        self.max_run = max(1, min(config.max_run, runner.max_positions - 1))
        self.use_phrases, self.use_head = config.g2p_phrases, config.g2p_head
        self.phrase_agreement, self.separable = config.g2p_phrase_agreement, config.g2p_separable
        self.adverbial_de = config.g2p_adverbial_de
        self.use_function_words = config.g2p_function_words
        self.use_memory = config.g2p_memory and config.g2p_head
        self.second_weight = config.g2p_dictionary_weight
        self.use_dictionary_tones = config.g2p_dictionary_tones
        shares = bundle.lexicon.top_shares(config.g2p_settled_count)
        self.settled = frozenset(self.vocab.char_id(ch) for ch, share in shares.items()
                                 if share >= config.g2p_settled_share and ch in self.vocab.char_to_id)
        self.tables = bundle.tables
        context = min(config.g2p_context, config.max_context, runner.max_positions - self.max_run)
        self.contexts = ContextEncoder(self.vocab, self.tables, max(0, context), annotator=bundle.annotate)
        self._readings: dict[str, np.ndarray] = dict(bundle.readings)  # grows with pypinyin's readings of other hanzi

    def readings(self, ch: str) -> np.ndarray:
        """Toned-syllable ids ``ch`` may read as, most frequent first (empty: not a readable hanzi)."""
        if ch not in self._readings:
            found = []
            if is_hanzi(ch):  # outside the lexicon: pypinyin's readings
                found = [self.vocab.syllable_to_id[s] for s in char_readings(ch) if s in self.vocab.syllable_to_id]
            self._readings[ch] = np.asarray(found, dtype=np.int64)
        return self._readings[ch]

    def g2p_batch(self, texts: Sequence[str], tones: str = "number") -> list[G2PResult]:
        if tones not in TONE_STYLES:
            raise InputError(f"tones must be one of {', '.join(TONE_STYLES)}, got {tones!r}")
        for text in texts:
            if not isinstance(text, str):
                raise InputError(f"text must be a string, got {type(text).__name__}")
            if len(text) > self.max_chars:
                raise InputError(f"text has {len(text)} characters; the limit is {self.max_chars} (max_chars)")
        second: dict[int, list[str | None]] = {}  # text -> CC-CEDICT's readings, computed once per text
        runs = [run for i, text in enumerate(texts) for run in self._runs(i, text, second)]
        head = self.bundle.polyphone if self.use_head else None
        ambiguous = [r for r in runs if any(len(x) > 1 for x in r.readings)]
        chosen = {(r.item, r.start): [int(x[0]) for x in r.readings] for r in runs}  # first = most frequent
        decide = partial(self._decide_with_head, second=second) if head is not None else self._decide_with_decoder
        for start in range(0, len(ambiguous), self.batch_rows):
            part = ambiguous[start : start + self.batch_rows]
            for r, syllables in zip(part, decide(part, texts)):
                chosen[(r.item, r.start)] = syllables
        results = []
        for i, text in enumerate(texts):
            toned: list[str | None] = [None] * len(text)
            hanzi, poly = [False] * len(text), [False] * len(text)
            for r in (r for r in runs if r.item == i):
                for offset, (syllable, several) in enumerate(zip(chosen[(i, r.start)], r.polyphonic)):
                    at = r.start + offset
                    toned[at] = self.vocab.syllables[syllable]
                    hanzi[at], poly[at] = True, several
            written = toned
            if self.use_dictionary_tones and any(hanzi):
                written = dictionary_tones(text, toned, self._second(second, i, text), self.bundle.second_phrases)
            results.append(G2PResult(text, _styled(text, written, tones), tuple(hanzi), tuple(poly),
                                     _styled(text, toned, tones)))
        return results

    def fixed_readings(self, text: str, second: Callable[[], list[str | None]] | None = None) -> list[str | None]:
        """Per character of ``text``, the reading g2p's second step fixes (None: left open): a
        pypinyin phrase's where CC-CEDICT does not disagree, a separable verb's, and over both
        the reading the polyphone head's memory gives beside a neighbour (the head is trained on
        the open positions only; training loads g2p without the head, so without its memory);
        then the function-word rules' at positions still open (都 after its subject over a phrase
        too), and 地's after an adverbial.
        ``second``: gives CC-CEDICT's readings of ``text`` (cached by the caller), asked only
        when the first dictionary fixed something."""
        fixed: list[str | None] = [None] * len(text)
        if self.use_phrases:
            fixed = self.bundle.phrases.fixed(text)
            if self.phrase_agreement and any(f is not None for f in fixed):
                other = self.bundle.second_phrases.fixed(text) if second is None else second()
                fixed = [None if f is not None and o is not None and o != f else f for f, o in zip(fixed, other)]
            if self.separable and ("了" in text or "过" in text):
                fixed = self._separable(text, fixed)
        if self.use_memory:
            fixed = self._remembered(text, fixed)
        if self.use_function_words:
            fixed = function_words.apply(text, fixed, self.in_phrases)
        if self.adverbial_de and "地" in text:
            fixed = function_words.adverbial_de(text, fixed, self.in_phrases)
        return fixed

    def in_phrases(self, word: str) -> bool:
        """Whether ``word`` is a phrase of either dictionary (pypinyin's, CC-CEDICT's)."""
        return word in self.bundle.phrases or word in self.bundle.second_phrases

    def _remembered(self, text: str, fixed: list[str | None]) -> list[str | None]:
        """``fixed`` with each polyphone whose neighbours the head's labelled examples agree on
        (:class:`~pinhan.model.reading_memory.ReadingMemory`) given that reading."""
        head = self.bundle.polyphone
        memory = head.memory if head is not None else None
        if memory is None or not len(memory):
            return fixed
        chars = [self.vocab.char_id(ch) for ch in text]
        out = list(fixed)
        for at, ch in enumerate(text):
            options = self.readings(ch)
            if len(options) < 2:
                continue
            reading = memory.vote(chars, at)
            if reading is not None and (options == reading).any():
                out[at] = self.vocab.syllables[reading]
        return out

    def _separable(self, text: str, fixed: list[str | None]) -> list[str | None]:
        """Separable verbs (离合词): a polyphone X left open before 了 / 过 and a character Y takes
        X's reading in the phrase XY (还了钱 -> 还钱 ``huan2``, 中了招 -> 中招 ``zhong4``), unless
        the character before X makes a word with it (进行了规定: 行 belongs to 进行, not 行规) or
        Y repeats X (查了查). On 14,635 inews lines the rule changed 26 readings the head gave,
        21 of them to the right one (RESULTS.md, "Polyphones, sixth part")."""
        out = list(fixed)
        for at in range(len(text) - 2):
            x, particle, y = text[at], text[at + 1], text[at + 2]
            if particle not in "了过" or x == y or x in "一不" or out[at] is not None or len(self.readings(x)) < 2:
                continue
            if at > 0 and self.in_phrases(text[at - 1] + x):
                continue
            joined = self.bundle.phrases.readings(x + y)
            if joined is not None and joined[0] is not None:
                out[at] = joined[0]
        return out

    def _second(self, cache: dict[int, list[str | None]], item: int, text: str) -> list[str | None]:
        """CC-CEDICT's reading per character of ``text`` (None outside its words), once per text."""
        if item not in cache:
            cache[item] = self.bundle.second_phrases.fixed(text)
        return cache[item]

    def _decide_with_head(self, part: list[_Run], texts: Sequence[str],
                          second: dict[int, list[str | None]]) -> list[list[int]]:
        """Head choices for the open positions of characters it was trained on, the most frequent
        reading elsewhere; one encoder pass for the runs that hold such a position."""
        head = self.bundle.polyphone
        out = [[int(x[0]) for x in r.readings] for r in part]
        todo = [(k, at) for k, r in enumerate(part) for at, x in enumerate(r.readings)
                if len(x) > 1 and int(r.chars[at]) in head.trained_chars and int(r.chars[at]) not in self.settled]
        states = self._states(part, texts, todo, head.config.window, head.config.layers)
        options = [part[k].readings[at] for k, at in todo]
        all_scores = head.scores_many(states, [int(part[k].chars[at]) for k, at in todo], options) if todo else []
        for (k, at), scores, candidates in zip(todo, all_scores, options):
            if self.second_weight > 0:
                item = part[k].item
                reading = self._second(second, item, texts[item])[part[k].start + at]
                if reading is not None:
                    scores = scores + self.second_weight * (candidates == self.vocab.syllable_to_id.get(reading, -1))
            out[k][at] = int(candidates[int(np.argmax(scores))])
        return out

    def _states(self, part: list[_Run], texts: Sequence[str], wanted: list[tuple[int, int]], window: int = 0,
                layers: int | None = None) -> np.ndarray:
        """Encoder states (N, d * (2 * window + 1)) at ``wanted`` (run index in ``part``, offset in
        the run): the position's own state, then its neighbours' ``-1, +1, ..., -window, +window``
        (zeros beyond the run), after the encoder's first ``layers`` layers (None: all). The runs
        holding them go through the encoder in groups of similar length (:func:`_length_groups`),
        its last layer run at the positions read only (:meth:`Runner.encode_at`)."""
        rows = sorted({k for k, _ in wanted})
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        contexts = {k: texts[part[k].item][: part[k].start] for k in rows}
        width = {k: len(self.contexts(c)[0]) for k, c in contexts.items()}  # context positions come first
        offsets = [0] + [sign * step for step in range(1, window + 1) for sign in (-1, 1)]  # slot order of a state
        read: dict[int, dict[int, None]] = {k: {} for k in rows}  # run -> its row's positions to read (a set, in order)
        for k, at in wanted:
            read[k].update((width[k] + at + o, None) for o in offsets if 0 <= at + o < len(part[k].chars))
        slot: dict[tuple[int, int], np.ndarray] = {}  # (run, position in its row) -> state (d,)
        for group in _length_groups(rows, {k: width[k] + len(part[k].chars) for k in rows}):
            batch = encode_h2p([part[k].chars for k in group], [contexts[k] for k in group], self.contexts)
            pairs = [(j, p) for j, k in enumerate(group) for p in read[k]]
            states = _numpy(self.runner.encode_at(batch, np.array([j for j, _ in pairs], dtype=np.int64),
                                                  np.array([p for _, p in pairs], dtype=np.int64), layers=layers))  # (N, d)
            slot.update(((group[j], p), state) for (j, p), state in zip(pairs, states))
        d = next(iter(slot.values())).shape[-1]
        out = np.zeros((len(wanted), len(offsets), d), dtype=np.float32)  # (N, 2w + 1, d)
        for n, (k, at) in enumerate(wanted):
            for m, o in enumerate(offsets):
                if 0 <= at + o < len(part[k].chars):
                    out[n, m] = slot[(k, width[k] + at + o)]
        return out.reshape(len(wanted), -1)

    def encoder_states(self, texts: Sequence[str], positions: Sequence[Sequence[int]], window: int = 0,
                       layers: int | None = None) -> list[np.ndarray]:
        """Per text, the encoder states (len(positions[i]), d * (2 * window + 1)) at the given
        character offsets (hanzi only) with ``window`` neighbours each side, after the encoder's
        first ``layers`` layers, exactly as a polyphone head of that window and depth reads them at
        inference (training uses this)."""
        runs = [r for i, text in enumerate(texts) for r in self._runs(i, text)]
        wanted, where = [], {}
        for k, r in enumerate(runs):
            for at in positions[r.item]:
                if r.start <= at < r.start + len(r.chars):
                    where[(r.item, at)] = len(wanted)
                    wanted.append((k, at - r.start))
        states = []
        for start in range(0, len(wanted), 4 * self.batch_rows):  # bounded memory: batches of positions
            chunk = wanted[start : start + 4 * self.batch_rows]
            states.extend(self._states(runs, texts, chunk, window, layers))
        out = []
        for i, offsets in enumerate(positions):
            missing = [at for at in offsets if (i, at) not in where]
            if missing:
                raise InputError(f"text {i}: offsets {missing} are not readable hanzi")
            out.append(np.stack([states[where[(i, at)]] for at in offsets]) if offsets else np.zeros((0, 0), np.float32))
        return out

    def _decide_with_decoder(self, part: list[_Run], texts: Sequence[str]) -> list[list[int]]:
        """Greedy h2p decoding of each run; positions after its last open one take their only reading."""
        enc = encode_h2p([r.chars for r in part], [texts[r.item][: r.start] for r in part], self.contexts)
        constraint = H2PConstraint([r.chars for r in part], [r.readings for r in part], self.tables)
        hyps, _ = beam_search(self.runner, self.runner.encode(enc), constraint, len(part), beam_size=1)
        return [h[0].tokens + [int(x[0]) for x in r.readings[len(h[0].tokens):]] for r, h in zip(part, hyps)]

    def _runs(self, item: int, text: str, second: dict[int, list[str | None]] | None = None) -> list[_Run]:
        cache = {} if second is None else second
        fixed = self.fixed_readings(text, lambda: self._second(cache, item, text))
        every = [self.readings(ch) for ch in text]  # per character: its readings (empty: not a readable hanzi)
        runs, start = [], None
        for at in range(len(text) + 1):
            readable = at < len(text) and len(every[at]) > 0
            if readable and start is None:
                start = at
            if start is not None and (not readable or at - start == self.max_run):
                chars = np.array([self.vocab.char_id(ch) for ch in text[start:at]], dtype=np.int64)
                options = every[start:at]
                narrowed = [self._narrow(x, f) for x, f in zip(options, fixed[start:at])]
                runs.append(_Run(item, start, chars, narrowed, [len(x) > 1 for x in options]))
                start = at if readable else None
        return runs

    def _narrow(self, options: np.ndarray, syllable: str | None) -> np.ndarray:
        """A character's readings, cut to the one a phrase fixes when that is one of them."""
        if syllable is None or len(options) < 2:
            return options
        sid = self.vocab.syllable_to_id.get(syllable)
        return options[options == sid] if sid is not None and (options == sid).any() else options


# One encoder call costs about as much as this many padded positions (onnxruntime int8, one
# thread, Zen 1: ~0.27 ms a call; a padded position only gives keys and values, ~0.0065 ms, as the
# last layer runs at the positions read only), so a run joins a group only if padding it to the
# group's longest wastes fewer positions than a call of its own would cost. On 2,000 cpp-dev
# sentences (min of 3 passes) 40 gave p95 2.45 ms, 14 2.51, one call per run 2.88.
PADDING_PER_CALL = 40


def _length_groups(rows: list[int], lengths: dict[int, int]) -> list[list[int]]:
    """``rows`` in groups to encode together, longest first: a row joins the current group while
    the group's longest row is at most ``PADDING_PER_CALL`` positions longer."""
    groups: list[list[int]] = []
    for k in sorted(rows, key=lambda k: -lengths[k]):
        if groups and lengths[groups[-1][0]] - lengths[k] <= PADDING_PER_CALL:
            groups[-1].append(k)
        else:
            groups.append([k])
    return groups


def _numpy(memory) -> np.ndarray:
    """Encoder states as float32 numpy, whichever backend produced them."""
    if hasattr(memory, "detach"):  # torch
        memory = memory.detach().float().cpu().numpy()
    return np.asarray(memory, dtype=np.float32)


def _styled(text: str, syllables: list[str | None], tones: str) -> tuple[str, ...]:
    """One entry per character: its syllable in the tone style, or the character itself."""
    return tuple(ch if syllable is None else _style(syllable, tones) for ch, syllable in zip(text, syllables))


def _style(syllable: str, tones: str) -> str:
    """A toned syllable (``hang2``) in the requested style."""
    if tones == "number":
        return syllable
    letters, digit = syllable[:-1], syllable[-1]
    if tones == "none":
        return letters
    return mark_syllable(letters, int(digit))
