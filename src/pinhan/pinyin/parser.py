"""Pinyin parser: raw keystrokes -> the k best readings (:class:`Path`) by a prior.

Pipeline, one stage per function: :func:`~pinhan.pinyin.scan.scan` (characters ->
runs) -> :meth:`PinyinParser._lattice` (runs -> segment edges) -> :func:`_k_best`
(k-best dynamic programme over the lattice) -> :meth:`PinyinParser._paths` (edges ->
:class:`Segment` / :class:`Path`).

Rules (each one tested in ``tests/pinyin/test_parser.py``):

* **Boundaries.** Apostrophes and whitespace are hard syllable boundaries and belong
  to no segment (``xi'an`` and ``xi an`` both read ``xi an``). Segment spans let a
  caller recover them from the input.
* **Case, ü, tone marks, tone digits** are read as described in :mod:`.scan`. A tone
  digit (0 and 5 = neutral) gives the tone of the segment it follows, abbreviations
  included (``zh1``); a tone mark gives the tone of the syllable containing it; a
  syllable may carry only one tone.
* **Abbreviations** (``abbreviations=True``): any initial alone (``zh``, ``g``) is a
  segment anywhere; the last segment of the input may also be a *partial* syllable,
  an initial plus the start of a final (``zhon``, ``we``). With
  ``abbreviations=False`` only full syllables are read.
* **Passthrough.** Text that is not pinyin letters (digits other than tone digits,
  punctuation, CJK, symbols) passes through unchanged as ``"passthrough"`` segments.
  A run of letters with no reading at all (``iphone``: nothing starts with ``i``)
  is a Latin word and passes through whole, *unless* it is written with notation
  that only pinyin uses (tone marks, ü, ê, ``u:``): then it is a mistake and
  :class:`PinyinError` names the part that cannot be read (``nǚiii`` -> ``'iii' at
  2..5``). With abbreviations on nearly every Latin word has *some* pinyin reading
  (``hello`` = he l lo); it is the model's job to score such readings.
* **Errors.** Only :class:`PinyinError` escapes :meth:`PinyinParser.parse` for str
  input (also for input longer than ``max_length``); a non-str raises TypeError.
  Empty or all-separator input gives ``[]``.
* **Ranking** (deterministic): fewer pinyin segments, then fewer incomplete ones,
  then higher prior score (syllable frequencies), then the reading whose first
  differing segment is longer / complete. At most ``max_paths`` paths, best first,
  all distinct. The k-best search is exact: the result is the first ``max_paths``
  entries of the ranking of *all* readings.
"""

from __future__ import annotations

from functools import lru_cache
from operator import itemgetter
from typing import Iterable, Mapping, Sequence

from .errors import PinyinError
from .fuzzy import resolve_rules
from .scan import Scan, scan
from .segments import Path, Segment
from .table import Costs, Entry, SpellingTable, syllable_weights

_first = itemgetter(0)

# Upper bound on max_paths: the search keeps up to max_paths partial paths per letter,
# so this bounds memory and time (about 0.3 s for 256 letters at the limit).
MAX_PATHS_LIMIT = 1024

# An edge of the lattice: (from node, packed cost incl. tie-break, entry or None for a
# passed-through run, tone, to node, original end offset).
Edge = tuple[int, int, "Entry | None", "int | None", int, int]


class PinyinParser:
    """A configured parser. Build once, call :meth:`parse` many times (thread-safe:
    all state is fixed in ``__init__``).

    Args:
        fuzzy: fuzzy rule names (see :data:`~pinhan.pinyin.FUZZY_RULES`), one name,
            or ``"all"``. Unknown names raise ValueError.
        abbreviations: read initials alone (``zgwh``) and a partial last syllable.
        max_paths: default number of paths :meth:`parse` returns (1..1024).
        syllable_freq: counts per syllable (any spelling, toned or not) for the prior;
            None = uniform, with interjections (m, n, ng, hm, hng, ê) rare.
        max_length: longest input accepted, in characters; longer input raises
            :class:`PinyinError`. Bounds the work per call.
    """

    def __init__(
        self,
        *,
        fuzzy: str | Iterable[str] = (),
        abbreviations: bool = True,
        max_paths: int = 8,
        syllable_freq: Mapping[str, float] | None = None,
        max_length: int = 256,
    ) -> None:
        self.fuzzy: tuple[str, ...] = resolve_rules(fuzzy)
        self.abbreviations = bool(abbreviations)
        self.max_paths = _positive("max_paths", max_paths, MAX_PATHS_LIMIT)
        self.max_length = _positive("max_length", max_length)
        self._costs = Costs.for_length(self.max_length)
        weights = syllable_weights(syllable_freq)
        self._table = SpellingTable(self.fuzzy, self.abbreviations, weights, self._costs)

    def __repr__(self) -> str:
        return (
            f"PinyinParser(fuzzy={self.fuzzy!r}, abbreviations={self.abbreviations}, "
            f"max_paths={self.max_paths}, max_length={self.max_length})"
        )

    # -- public API ---------------------------------------------------------------

    def parse(self, text: str, *, max_paths: int | None = None) -> list[Path]:
        """The best readings of ``text``, best first (see the module docstring)."""
        k = self.max_paths if max_paths is None else _positive("max_paths", max_paths, MAX_PATHS_LIMIT)
        found = self._scan(text)
        if not found.letters and not found.other:
            return []
        incoming, passed = self._lattice(found)
        finals = _k_best(incoming, len(found.letters), k)
        return self._paths(found, finals, passed)

    def read_as(self, text: str, texts: Sequence[str]) -> Path:
        """The :class:`Path` that reads ``text`` as the given segment texts, in order
        (``read_as("xian", ["xi", "an"])``), with its score and rank key as
        :meth:`parse` would give them. Texts are canonical segment texts, as in
        :attr:`Segment.text`; passthrough text is implied, not listed. A text
        that is a syllable is taken as one (``m`` and ``n`` alone are always the
        abbreviation, which covers the syllables m and n too). Raises :class:`PinyinError` if that is not a reading.

        With :meth:`parse` this answers "is this segmentation reachable, and did it
        lose only to better-ranked readings?" without enumerating all readings.
        """
        found = self._scan(text)
        incoming, passed = self._lattice(found)
        n = len(found.letters)
        outgoing: list[list[Edge]] = [[] for _ in range(n + 1)]
        for edges in incoming:
            for edge in edges:
                outgoing[edge[0]].append(edge)
        node, key, chain, wanted = 0, 0, [], list(texts)
        while node < n:
            options = outgoing[node]
            skip = [e for e in options if e[2] is None]
            if skip:  # a run passed through as a Latin word
                edge = skip[0]
            else:
                at = found.starts[node]
                if not wanted:
                    raise PinyinError(f"{text[at:]!r} at {at}..{len(text)} is left over", (at, len(text)))
                want = wanted.pop(0)
                fits = [e for e in options if e[2] is not None and e[2].text == want]
                fits.sort(key=lambda e: e[2].kind != "syllable")  # a syllable before an abbreviation
                if not fits:
                    message = f"cannot read {text[at:]!r} at {at}..{len(text)} as {want!r}"
                    raise PinyinError(message, (at, len(text)))
                edge = fits[0]
            key += edge[1]
            chain.append(edge)
            node = edge[4]
        if wanted:
            raise PinyinError(f"input ends before {wanted[0]!r}", (len(text), len(text)))
        return self._paths(found, [(key, chain)], passed)[0]

    # -- stages ---------------------------------------------------------------------

    def _scan(self, text: str) -> Scan:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}")
        if len(text) > self.max_length:
            raise PinyinError(
                f"input of {len(text)} characters is longer than the limit of {self.max_length}",
                (self.max_length, len(text)),
            )
        return scan(text)

    def _lattice(self, found: Scan) -> tuple[list[list[Edge]], list[tuple[int, int]]]:
        """Edges of the segment lattice, indexed by end node; plus the spans of runs
        that pass through. Nodes are internal letter positions 0..len(letters)."""
        letters, starts, ends, marks = found.letters, found.starts, found.ends, found.marks
        marked = found.marked
        n = len(letters)
        width = 2 * n + 2  # tie-break bits: 2 per node (boundary, incomplete)
        full, partial, longest = self._table.full, self._table.partial, self._table.max_len
        incoming: list[list[Edge]] = [[] for _ in range(n + 1)]
        passed: list[tuple[int, int]] = []
        for run in found.runs:
            lo, hi = run.lo, run.hi
            run_end = run.digit_end if run.digit_end >= 0 else ends[hi - 1]
            reach = [False] * (hi - lo + 1)
            reach[0] = True
            edges: list[Edge] = []
            for i in range(lo, hi):
                if not reach[i - lo]:
                    continue
                for j in range(i + 1, min(hi, i + longest) + 1):
                    entries = full.get(letters[i:j])
                    if entries is None:
                        continue
                    digit = run.tone if j == hi else 0
                    for entry in entries:
                        # The common case (no marks, no digit) skips the tone check.
                        tone = _tone(entry, marks, i, j, marked, digit) if marked or digit else None
                        if tone is not False:
                            tie = (2 + (entry.kind != "syllable")) << (2 * (n - j))
                            end = run_end if j == hi else ends[j - 1]
                            edges.append((i, (entry.high << width) + tie, entry, tone, j, end))
                            reach[j - lo] = True
                if run.at_end and partial and hi - i <= longest:
                    entry = partial.get(letters[i:hi])
                    if entry is not None:
                        tone = _tone(entry, marks, i, hi, marked, 0)
                        if tone is not False:
                            tie = 3 << (2 * (n - hi))  # boundary + incomplete
                            edges.append((i, (entry.high << width) + tie, entry, tone, hi, run_end))
                            reach[hi - lo] = True
            if reach[hi - lo]:
                for edge in edges:
                    incoming[edge[4]].append(edge)
                continue
            if run.notation:  # written as pinyin but unreadable: name what cannot be read
                furthest = max(x for x in range(hi - lo + 1) if reach[x])
                raise PinyinError.unreadable(found.text, starts[lo + furthest], run_end)
            incoming[hi].append((lo, 0, None, None, hi, run_end))  # a Latin word
            passed.append((starts[lo], run_end))
        return incoming, passed

    def _paths(
        self, found: Scan, finals: list[tuple[int, list[Edge]]], passed: list[tuple[int, int]]
    ) -> list[Path]:
        """Turn edge chains into :class:`Path` objects, passthrough segments merged in."""
        text, starts = found.text, found.starts
        spans = sorted(found.other + passed)
        through: list[Segment] = []
        for a, b in spans:
            if through and through[-1].end == a:  # adjacent pieces are one segment
                a = through.pop().start
            through.append(Segment("passthrough", text[a:b], a, b))
        width = 2 * len(found.letters) + 2
        made: dict[int, Segment] = {}
        paths = []
        for key, chain in finals:
            segments = list(through)
            for edge in chain:
                entry = edge[2]
                if entry is None:
                    continue
                seg = made.get(id(edge))
                if seg is None:
                    seg = Segment(entry.kind, entry.text, starts[edge[0]], edge[5], edge[3],
                                  entry.initial, entry.final, entry.syllables)
                    made[id(edge)] = seg
                segments.append(seg)
            if through:
                segments.sort(key=_start)
            q = self._costs.q_of(key >> width)
            paths.append(Path(tuple(segments), -q / 1e6))
        return paths


def _start(seg: Segment) -> int:
    return seg.start


def _tone(entry: Entry, marks: list[int], i: int, j: int, marked: bool, digit: int) -> int | None | bool:
    """Tone of a segment over letters i..j, None if none, False if the tones conflict."""
    tone = None
    if marked:
        found = [m for m in marks[i:j] if m]
        if found:
            if len(found) > 1 or (entry.kind == "abbrev" and entry.text not in entry.syllables):
                return False  # two marks in one syllable, or a mark on an initial (ḿ, ń: the syllables m, n)
            tone = found[0]
    if digit:
        if tone is not None and tone != digit:
            return False
        tone = digit
    return tone


def _k_best(incoming: list[list[Edge]], n: int, k: int) -> list[tuple[int, list[Edge]]]:
    """Exact k-best paths from node 0 to node n, as (packed key, edge chain).

    ``best[j]`` keeps the k cheapest partial paths ending at node j as
    (key, previous node, rank there, edge). Costs are additive and keys unique, so
    the k best full paths extend only the k best partial paths of each node.
    Work is O(edges * k log k), never the number of readings.
    """
    best: list[list | None] = [None] * (n + 1)
    best[0] = [(0, -1, 0, None)]
    for j in range(1, n + 1):
        candidates = []
        for edge in incoming[j]:
            before = best[edge[0]]
            if before is None:
                continue
            add, i = edge[1], edge[0]
            candidates += [(b[0] + add, i, r, edge) for r, b in enumerate(before)]
        if candidates:
            candidates.sort(key=_first)
            best[j] = candidates[:k]
    out = []
    for entry in best[n] or ():
        chain = []
        cur = entry
        while cur[3] is not None:
            chain.append(cur[3])
            cur = best[cur[1]][cur[2]]
        chain.reverse()
        out.append((entry[0], chain))
    return out


def _positive(name: str, value: int, limit: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or (limit and value > limit):
        bound = f" and <= {limit}" if limit else ""
        raise ValueError(f"{name} must be an int >= 1{bound}, not {value!r}")
    return value


@lru_cache(maxsize=32)
def _cached_parser(fuzzy: tuple[str, ...], abbreviations: bool, max_length: int) -> PinyinParser:
    # Parsers are immutable, so sharing one per configuration is safe; building one
    # costs a few milliseconds, parsing tens of microseconds.
    return PinyinParser(fuzzy=fuzzy, abbreviations=abbreviations, max_length=max_length)


def parse(
    text: str,
    *,
    fuzzy: str | Iterable[str] = (),
    abbreviations: bool = True,
    max_paths: int = 8,
    syllable_freq: Mapping[str, float] | None = None,
    max_length: int = 256,
) -> list[Path]:
    """Parse ``text`` with a parser of the given configuration (see :class:`PinyinParser`).

    >>> [str(p) for p in parse("xian", max_paths=2)]
    ['xian', 'xi an']

    Parsers without ``syllable_freq`` are cached per configuration; with it, one is
    built per call, so build a :class:`PinyinParser` once for repeated use.
    """
    if syllable_freq is not None:
        parser = PinyinParser(
            fuzzy=fuzzy, abbreviations=abbreviations, syllable_freq=syllable_freq, max_length=max_length
        )
    else:
        limit = _positive("max_length", max_length)
        parser = _cached_parser(resolve_rules(fuzzy), bool(abbreviations), limit)
    return parser.parse(text, max_paths=max_paths)
