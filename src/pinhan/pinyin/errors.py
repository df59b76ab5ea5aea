"""The one exception the pinyin front-end raises for bad input.

Every failure to read user text ends in :class:`PinyinError`, which carries the
span of the offending text in the *original* input string, so that a service can
underline it and a CLI can point at it. It subclasses :class:`ValueError` so that
callers which already catch ``ValueError`` keep working, and
:class:`~pinhan.errors.PinhanError` so the CLI reports it as one line.
"""

from __future__ import annotations

from pinhan.errors import PinhanError


class PinyinError(PinhanError, ValueError):
    """Input that cannot be read as pinyin.

    Attributes:
        span: ``(start, end)`` character offsets into the original input string
            (``text[start:end]`` is the offending part; ``start == end`` is allowed
            for errors that concern a position rather than a stretch of text).
        text: the offending text itself (may be shortened for very long input).
    """

    def __init__(self, message: str, span: tuple[int, int], text: str = "") -> None:
        super().__init__(message)
        self.span: tuple[int, int] = (int(span[0]), int(span[1]))
        self.text: str = text

    @classmethod
    def unreadable(cls, source: str, start: int, end: int) -> "PinyinError":
        """The standard message: ``cannot read 'iii' at 3..6 as pinyin``."""
        bad = source[start:end]
        shown = bad if len(bad) <= 40 else bad[:37] + "..."
        return cls(f"cannot read {shown!r} at {start}..{end} as pinyin", (start, end), bad)
