"""Dev/test clauses in the benchmark's item format, minus every clause that also occurs in train.

A clause is a maximal run of ``clause_min..clause_max`` hanzi that all have readings (the rule of
shared/bench). The review files repeat many lines verbatim, so a dev clause often stands in some
train line too; measuring on it would reward memorisation. :class:`OverlapFilter` finds those by
streaming the train lines once against an index of the (few) candidate clauses.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from pinhan.data.annotate import HANZI_RUN


def clause_spans(text: str, syllables: list[str | None], min_len: int, max_len: int) -> Iterator[tuple[int, int]]:
    """(start, end) of every maximal hanzi run of an allowed length whose hanzi all have readings."""
    for match in HANZI_RUN.finditer(text):
        start, end = match.span()
        if min_len <= end - start <= max_len and all(s is not None for s in syllables[start:end]):
            yield start, end


class OverlapFilter:
    """Which of a set of clauses occur (as substrings) in a stream of lines.

    Clauses are indexed by their first ``key_len`` characters (every clause is at least that
    long), so each scanned character costs one dict lookup; memory is bounded by the clauses,
    not by the train corpus.
    """

    def __init__(self, clauses: Iterable[str], key_len: int) -> None:
        self.key_len = key_len
        self._by_key: dict[str, set[str]] = {}
        for clause in clauses:
            self._by_key.setdefault(clause[:key_len], set()).add(clause)
        self.found: set[str] = set()

    def scan(self, line: str) -> None:
        k = self.key_len
        by_key = self._by_key
        for i in range(len(line) - k + 1):
            candidates = by_key.get(line[i : i + k])
            if candidates:
                for clause in candidates:
                    if clause not in self.found and line.startswith(clause, i):
                        self.found.add(clause)
