"""Pinyin -> ranked hanzi candidates, as an input method shows them.

The stages, one function each::

    parse       keystrokes -> the parser's top segmentations (xian -> xian | xi'an | ...)
    split       each segmentation -> runs of convertible segments, pass-through text between
    decode      every run of every input in one batch: constrained beam search (accurate) or the
                encoder head (fast), remembering the best partial hypotheses for prefixes
    assemble    whole-input candidates (runs joined, best first, across segmentations), then
                prefix candidates (words and characters covering the first syllables), no
                duplicates, cut to k

Whole-input candidates of the best segmentation whose score is within ``margin`` of the best come
first; prefix candidates follow; the other whole-input candidates (the rest of that segmentation's,
then the other segmentations') close the list: an input method shows one or two sentences, then
words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial

import numpy as np

from pinhan.data.vocab import Vocab
from pinhan.errors import InputError
from pinhan.infer.bundle import ModelBundle
from pinhan.infer.config import InferenceConfig
from pinhan.infer.inputs import ContextEncoder, P2HRequest, encode_p2h, segment_keys
from pinhan.infer.results import Candidate, Rescored
from pinhan.infer.search.beam import beam_search, teacher_forced
from pinhan.infer.search.common import Hypothesis, Trace
from pinhan.infer.search.constraints import P2HConstraint, Slot
from pinhan.infer.search.fast import nar_fused_search, nar_log_probs
from pinhan.infer.search.fusion import Fusion, lm_contexts
from pinhan.infer.tasks.words import WordConverter, typed_letters
from pinhan.pinyin import Path, PinyinParser, Segment
from pinhan.pinyin.fuzzy import resolve_rules
from pinhan.pinyin.parser import MAX_PATHS_LIMIT

MODES = ("accurate", "fast")
COPY_PENALTY = -30.0  # score of a syllable copied as typed (no known hanzi reads so): below any real reading


@dataclass
class _Run:
    """A stretch of convertible segments of one segmentation of one input."""

    item: int
    path: int
    segments: tuple[Segment, ...]
    context: str
    keys: np.ndarray = field(init=False)  # (L, 3)
    slots: list[Slot] = field(init=False)

    def finish(self, vocab: Vocab) -> _Run:
        self.keys = segment_keys(vocab, self.segments)
        self.slots = [(seg.syllables, seg.tone) for seg in self.segments]
        return self


@dataclass
class _Decoded:
    hyps: list[Hypothesis]  # whole-run hypotheses, best first
    trace: Trace  # best partial hypotheses per step (empty unless prefixes were asked for)


def check_k(k) -> int:
    """``k`` (candidates asked for), or a clear error."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InputError(f"k must be a positive integer, got {k!r}")
    return k


class Converter:
    """Converts pinyin with a loaded model's shared parts (:class:`~pinhan.infer.bundle.ModelBundle`)
    under its settings (:class:`~pinhan.infer.config.InferenceConfig`: paths, beams, margin,
    scoring, n-gram weights; their reasons are documented there)."""

    def __init__(self, bundle: ModelBundle, config: InferenceConfig) -> None:
        runner = bundle.runner
        if config.max_syllables + 1 > runner.max_positions:
            raise InputError(f"max_syllables {config.max_syllables} does not fit the model's {runner.max_positions} positions")
        self.runner, self.vocab, self.lexicon = runner, bundle.vocab, bundle.lexicon
        self.max_context = max(0, min(config.max_context, runner.max_positions - config.max_syllables))
        self.max_paths, self.beam_size, self.margin = config.max_paths, config.beam_size, config.margin
        self.max_syllables, self.fast_beam_size = config.max_syllables, config.fast_beam_size
        self.words = bundle.words
        self.lm = bundle.lm
        self.lm_weight = config.ngram_weight("lm_weight", bundle.lm)
        self.fast_lm_weight = config.ngram_weight("fast_lm_weight", bundle.lm)
        self.batch_rows, self.scoring = config.batch_rows, config.scoring
        self.index, self.tables = bundle.index, bundle.tables
        self.contexts = ContextEncoder(self.vocab, self.tables, self.max_context, annotator=bundle.annotate)
        self._parsers: dict[tuple, PinyinParser] = {}
        self._bundle, self._config = bundle, config

    @cached_property
    def by_lattice(self) -> WordConverter | None:
        """Conversion over the word lattice (None: the model has no word model, or ``words`` is off)."""
        lattice = self._bundle.lattice(self._config.word_beam) if self._config.words else None
        return None if lattice is None else WordConverter(self._bundle, self._config, self.contexts, lattice)

    # --- parse --------------------------------------------------------------------------------
    def parser(self, fuzzy: Sequence[str] = (), abbreviations: bool = True) -> PinyinParser:
        try:
            rules = tuple(sorted(resolve_rules(fuzzy if isinstance(fuzzy, str) else tuple(fuzzy))))
        except (ValueError, TypeError) as err:
            raise InputError(str(err)) from None
        key = (rules, bool(abbreviations))
        if key not in self._parsers:
            self._parsers[key] = PinyinParser(fuzzy=rules, abbreviations=abbreviations, max_paths=self.max_paths)
        return self._parsers[key]

    def parse(self, pinyin: str, parser: PinyinParser) -> list[Path]:
        """The parser's top segmentations; [] for empty input. Raises on invalid or too long input."""
        if not isinstance(pinyin, str):
            raise InputError(f"pinyin must be a string, got {type(pinyin).__name__}")
        if not pinyin.strip():
            return []
        # PinyinError names the offending span. More readings than decoded, to skip the junk ones:
        paths = parser.parse(pinyin, max_paths=min(max(4, 2 * self.max_paths), MAX_PATHS_LIMIT))
        n = sum(seg.kind != "passthrough" for seg in paths[0]) if paths else 0
        if n > self.max_syllables:
            raise InputError(f"input has {n} syllables; the limit is {self.max_syllables} (max_syllables)")
        # A reading with a syllable no known hanzi has (hm, ea) would be copied as typed: one
        # whose every syllable converts goes first (hm -> h m, 好吗), the parser's order otherwise.
        paths.sort(key=lambda path: sum(seg.kind != "passthrough" and not self._convertible(seg) for seg in path))
        return _worth_decoding(paths)[: self.max_paths]

    def _convertible(self, seg: Segment) -> bool:
        """A segment the model converts: pinyin that some hanzi of the lexicon reads as. Others
        (pass-through text, a syllable no known hanzi has) are copied as typed."""
        return seg.kind != "passthrough" and len(self.index.candidates_for(seg.syllables, seg.tone)) > 0

    # --- convert ------------------------------------------------------------------------------
    def convert_batch(self, inputs: Sequence[str | tuple[str, str]], *, k: int = 5, mode: str = "accurate",
                      fuzzy: Sequence[str] = (), abbreviations: bool = True, prefixes: bool = True,
                      words: bool = True, user=None) -> list[list[Candidate]]:
        """Ranked candidates for each input (a pinyin string, or (pinyin, context)); over the word
        lattice where the model has one and the input is letters only (unless ``words`` is False),
        with ``user``'s history (a :class:`~pinhan.infer.user.UserModel`) mixed into its scores."""
        if mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        check_k(k)
        parser = self.parser(fuzzy, abbreviations)
        items = [(x, "") if isinstance(x, str) else tuple(x) for x in inputs]
        for pinyin, context in items:
            if not isinstance(context, str):
                raise InputError(f"context must be a string, got {type(context).__name__}")
        parsed = [self.parse(pinyin, parser) for pinyin, _ in items]  # also checks every input
        by_words = self._by_words(items, parsed, parser, k, mode, prefixes, abbreviations, user) if words else {}
        if by_words:  # the rest (tones, fuzzy rules, pass-through text) go to the character decoder
            rest = [i for i in range(len(items)) if i not in by_words]
            done = self.convert_batch([items[i] for i in rest], k=k, mode=mode, fuzzy=fuzzy, abbreviations=abbreviations,
                                      prefixes=prefixes, words=False) if rest else []
            by_words.update(zip(rest, done))
            return [by_words[i] for i in range(len(items))]
        runs = [run for i, paths in enumerate(parsed) for p, path in enumerate(paths)
                for run in _split(i, p, path, items[i][0], items[i][1], self.vocab, self._convertible)]
        width = min(16, max(k, self.beam_size)) if prefixes else 0
        decoded = self._decode(runs, mode, width)
        by_item: list[list[tuple[_Run, _Decoded]]] = [[] for _ in items]  # one pass: batches may hold thousands
        for run, dec in zip(runs, decoded):
            by_item[run.item].append((run, dec))
        return [self._assemble(pinyin, parsed[i], by_item[i], k, prefixes) for i, (pinyin, _) in enumerate(items)]

    def _by_words(self, items, parsed, parser, k, mode, prefixes, abbreviations, user=None) -> dict[int, list[Candidate]]:
        """Item index -> candidates, for the items the word lattice converts."""
        if self.by_lattice is None or parser.fuzzy:
            return {}
        out = {}
        for i, (pinyin, context) in enumerate(items):
            typed = typed_letters(pinyin) if parsed[i] else None
            if typed is not None:
                # Input the parser reads as full syllables needs no abbreviated arcs: the same
                # dev accuracy at two thirds of the lattice's time (benchmarks/RESULTS.md).
                partial = sum(not _full_syllable(seg) for seg in parsed[i][0])
                short = abbreviations and partial > 0
                out[i] = self.by_lattice.convert(typed, context, k, mode, prefixes, short, user,
                                                 wide=abbreviations and partial >= 2)
        return out

    def top1_batch(self, inputs: Sequence[str | tuple[str, str]], **options) -> list[str]:
        """The best whole-input text for each input ("" for empty input)."""
        return [c[0].text if c else "" for c in self.convert_batch(inputs, k=1, prefixes=False, **options)]

    def rescore(self, pinyin: str, texts: list[str], context: str = "") -> list[Rescored]:
        """Given texts scored as readings of the parser's best segmentation of ``pinyin``: the
        decoder's summed full-softmax log-probability (teacher-forced) and the n-gram's."""
        if not isinstance(context, str):
            raise InputError(f"context must be a string, got {type(context).__name__}")
        paths = self.parse(pinyin, self.parser())
        if not paths or not all(self._convertible(seg) for seg in paths[0]):
            raise InputError(f"rescore needs pinyin that converts throughout, got {pinyin!r}")
        run = _Run(0, 0, tuple(paths[0]), context).finish(self.vocab)
        for text in texts:
            if not isinstance(text, str) or len(text) != len(run.keys):
                raise InputError(f"{text!r} is not {len(run.keys)} characters, one per syllable of {pinyin!r}")
        if not texts:
            return []
        targets = [np.array([self.vocab.char_id(ch) for ch in text], dtype=np.int64) for text in texts]
        enc = encode_p2h([P2HRequest(run.keys, run.context)], self.vocab, self.tables, self.max_context, self.contexts)
        constraint = P2HConstraint([run.keys] * len(texts), self.index, self.tables, [run.slots] * len(texts))
        scored = teacher_forced(self.runner, self.runner.encode(enc), constraint, targets,
                                rows=np.zeros(len(texts), dtype=np.int64))
        return [Rescored(text, float(logp.sum()), self._ngram_logprob(tokens, context))
                for text, tokens, (logp, _) in zip(texts, targets, scored)]

    def _ngram_logprob(self, tokens: np.ndarray, context: str) -> float:
        if self.lm is None or not len(tokens):
            return 0.0
        width = self.lm.order - 1
        seq = np.concatenate([self._lm_contexts([context])[0], tokens])  # (width + L,)
        histories = np.stack([seq[i : i + width] for i in range(len(tokens))])  # (L, width)
        return float(self.lm.logprob_ids(histories, tokens).sum())

    # --- decode -------------------------------------------------------------------------------
    def _decode(self, runs: list[_Run], mode: str, trace_width: int) -> list[_Decoded]:
        rows_per_run = self.beam_size if mode == "accurate" else 1
        chunk = max(1, self.batch_rows // rows_per_run)
        out: list[_Decoded] = []
        for start in range(0, len(runs), chunk):
            part = runs[start : start + chunk]
            enc = encode_p2h([P2HRequest(r.keys, r.context) for r in part], self.vocab, self.tables,
                             self.max_context, self.contexts)
            encoded = self.runner.encode(enc)
            constraint = P2HConstraint([r.keys for r in part], self.index, self.tables, [r.slots for r in part])
            if mode == "accurate":
                fusion = None
                if self.lm is not None and self.lm_weight > 0:
                    fusion = Fusion(self.lm, self.lm_weight, self._lm_contexts([r.context for r in part]))
                hyps, traces = beam_search(self.runner, encoded, constraint, len(part), self.beam_size, fusion, trace_width,
                                           scoring=self.scoring)
                out += [_Decoded(h, t) for h, t in zip(hyps, traces)]
            else:
                allowed = [[constraint.allowed(r, t) for t in range(len(run.keys))] for r, run in enumerate(part)]
                scored = nar_log_probs(self.runner, encoded, enc["segments"], allowed, scoring=self.scoring)
                if self.lm is not None and self.fast_lm_weight > 0:
                    fusion = Fusion(self.lm, self.fast_lm_weight, self._lm_contexts([r.context for r in part]))
                    searched = nar_fused_search(scored, fusion, max(self.fast_beam_size, 1), trace_width)
                    out += [_Decoded(hyps, trace) for hyps, trace in searched]
                else:
                    out += [_fast_hypotheses(row, max(self.beam_size, 1), trace_width) for row in scored]
        return out

    def _lm_contexts(self, contexts: list[str]) -> np.ndarray:
        return lm_contexts(contexts, self.vocab, self.lm.order)

    # --- assemble -----------------------------------------------------------------------------
    def _assemble(self, pinyin: str, paths: list[Path], decoded: list[tuple[_Run, _Decoded]], k: int,
                  prefixes: bool) -> list[Candidate]:
        per_path = [self._whole(pinyin, path, [(r, d) for r, d in decoded if r.path == p]) for p, path in enumerate(paths)]
        if self.scoring == "softmax":  # log-probabilities: comparable across segmentations
            whole = sorted((c for cands in per_path for c in cands), key=lambda c: -c.score)  # stable: parser order on ties
        else:  # logits rank the readings of one segmentation; segmentations keep the parser's order
            whole = [c for cands in per_path for c in sorted(cands, key=lambda c: -c.score)]
        whole = _unique(whole)
        if not prefixes or not whole:
            return [c.candidate() for c in whole[:k]]
        best = whole[0].score
        lead = per_path[0] if self.scoring == "logits" and per_path[0] else whole  # the segmentation the best came from
        in_lead = {id(c) for c in lead}
        first = [c for c in whole if id(c) in in_lead and c.score >= best - self.margin]
        taken = {id(c) for c in first}
        rest = [c for c in whole if id(c) not in taken]
        prefix = [c for r, d in decoded if r.segments[0].start == 0 for c in self._prefixes(r, d)]
        prefix.sort(key=lambda c: (-c.consumed, -c.score))
        return [c.candidate() for c in _unique(first + prefix + rest)[:k]]

    def _whole(self, pinyin: str, path: Path, decoded: list[tuple[_Run, _Decoded]]) -> list[_Pending]:
        """Whole-input candidates of one segmentation: its runs' best hypotheses joined, then
        variants that take another hypothesis in one run."""
        pieces: list[list[tuple[str, Callable[[], tuple[str, ...]], float]]] = []  # per piece: (text, pinyin, score)
        runs = iter(decoded)
        for group in _pieces(path, self._convertible):
            if not self._convertible(group[0]):
                text = pinyin[group[0].start : group[-1].end]
                # Copied text costs nothing under the model, so a syllable copied because no hanzi
                # reads so is charged a log-probability floor: readings that convert it win.
                cost = COPY_PENALTY * sum(seg.kind != "passthrough" for seg in group)
                pieces.append([(text, partial(tuple, text), cost)])  # one entry per character
                continue
            run, dec = next(runs)
            options = [(self._text(h.tokens), partial(self._pinyin, h.tokens, run), h.score)
                       for h in dec.hyps if len(h.tokens) == len(run.keys)]
            if not options:
                return []
            pieces.append(options)
        base = [opts[0] for opts in pieces]
        combos = [base]
        for j, opts in enumerate(pieces):
            combos += [base[:j] + [alt] + base[j + 1 :] for alt in opts[1:]]
        return [_Pending("".join(t for t, _, _ in combo), sum(s for _, _, s in combo), partial(_joined, combo),
                         len(pinyin), "whole") for combo in combos]

    def _prefixes(self, run: _Run, dec: _Decoded) -> list[_Pending]:
        """Words (multi-character, in the word list) and single characters covering the first
        syllables of a run that starts the input."""
        result = []
        for n, entries in enumerate(dec.trace.steps[: len(run.keys) - 1], start=1):
            consumed = run.segments[n - 1].end
            for tokens, score in entries:
                text = self._text(tokens)
                if n == 1 or text in self.words:
                    result.append(_Pending(text, score, partial(self._pinyin, tokens, run), consumed, "prefix"))
        return result

    def _text(self, tokens: Sequence[int]) -> str:
        return "".join(self.vocab.chars[c] for c in tokens)

    def _pinyin(self, tokens: Sequence[int], run: _Run) -> tuple[str, ...]:
        return tuple(self.vocab.syllables[self.index.reading_for(c, *run.slots[t])] for t, c in enumerate(tokens))


@dataclass
class _Pending:
    """A candidate before the cut to k: its pinyin (one reading lookup per character) is worked
    out only for the k shown, not for the dozens of hypotheses and prefixes ranked."""

    text: str
    score: float
    pinyin: Callable[[], tuple[str, ...]]
    consumed: int
    kind: str

    def candidate(self) -> Candidate:
        return Candidate(self.text, self.score, self.pinyin(), self.consumed, self.kind)


def _joined(combo: list[tuple[str, Callable[[], tuple[str, ...]], float]]) -> tuple[str, ...]:
    return tuple(s for _, pinyin, _ in combo for s in pinyin())


def _full_syllable(seg: Segment) -> bool:
    """A segment typed as a whole syllable with a vowel (ng, hm, m, n may be initials instead)."""
    return seg.kind == "syllable" and any(v in seg.text.lower() for v in "aeiouvü")


def _one_letter(path: Path) -> int:
    return sum(seg.kind != "passthrough" and seg.end - seg.start == 1 for seg in path)


def _worth_decoding(paths: list[Path]) -> list[Path]:
    """The best segmentation and the alternatives that split off no more one-letter segments
    than it (a lone a / o / e, an initial alone): ``ni ha o`` for nihao, ``wo me n`` for women
    are almost never what was typed, and each segmentation costs a model row (RESULTS.md,
    "Service load test"); xi an (xian), fan gan (fangan), ke neng (bukeneng) stay."""
    if not paths:
        return paths
    limit = _one_letter(paths[0])
    return [paths[0]] + [p for p in paths[1:] if _one_letter(p) <= limit]


def _unique(candidates: list[_Pending]) -> list[_Pending]:
    seen: set[str] = set()
    out = []
    for c in candidates:
        if c.text and c.text not in seen:
            seen.add(c.text)
            out.append(c)
    return out


def _pieces(path: Path, convertible) -> list[tuple[Segment, ...]]:
    """Consecutive segments grouped into convertible runs and stretches copied as typed."""
    groups: list[list[Segment]] = []
    for seg in path:
        if groups and convertible(groups[-1][0]) == convertible(seg):
            groups[-1].append(seg)
        else:
            groups.append([seg])
    return [tuple(g) for g in groups]


def _split(item: int, p: int, path: Path, pinyin: str, context: str, vocab: Vocab, convertible) -> list[_Run]:
    """The convertible runs of a segmentation; each sees the context plus the pass-through text
    typed before it (earlier runs are converted in the same batch, so their hanzi are unknown)."""
    runs, before = [], context
    for group in _pieces(path, convertible):
        if not convertible(group[0]):
            before += pinyin[group[0].start : group[-1].end]
        else:
            runs.append(_Run(item, p, group, before).finish(vocab))
    return runs


def _fast_hypotheses(row: list[tuple[np.ndarray, np.ndarray]], n: int, trace_width: int) -> _Decoded:
    """The encoder head's per-position distributions -> the best hypothesis, variants that change
    one position (best first), and a trace of the best one's prefixes plus the top first characters."""
    if not row:
        return _Decoded([Hypothesis([], 0.0)], Trace())
    best = [int(c[0]) for c, _ in row]
    total = float(sum(lp[0] for _, lp in row))
    variants = []
    for t, (cands, lp) in enumerate(row):
        for j in range(1, min(n, len(cands))):
            tokens = best.copy()
            tokens[t] = int(cands[j])
            variants.append(Hypothesis(tokens, total - float(lp[0]) + float(lp[j])))
    variants.sort(key=lambda h: -h.score)
    trace = Trace()
    if trace_width:
        cands, lp = row[0]
        trace.steps.append([((int(c),), float(s)) for c, s in zip(cands[:trace_width], lp[:trace_width])])
        running = float(lp[0])
        for t in range(1, len(row)):
            running += float(row[t][1][0])
            trace.steps.append([(tuple(best[: t + 1]), running)])
    return _Decoded([Hypothesis(best, total)] + variants[: n - 1], trace)

