"""Line cleaning: NFKC, control and format characters removed, whitespace folded, optional t2s."""

from __future__ import annotations

import re
import unicodedata

from pinhan.errors import ConfigError

_WHITESPACE_RUN = re.compile(r"\s+")
# Control (Cc), format (Cf: zero-width spaces, BOM, bidi marks), surrogates (Cs) and private use
# (Co) carry no text; tabs and newlines become spaces so words stay apart.
_DROP_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co"})


class Cleaner:
    """Normalises one line of text. Holds its own OpenCC converter (no shared global state)."""

    def __init__(self, traditional_to_simplified: bool = False) -> None:
        self._t2s = None
        if traditional_to_simplified:
            try:
                import opencc
            except ImportError:  # pragma: no cover - opencc is a declared dependency
                raise ConfigError("traditional_to_simplified needs the opencc package: pip install opencc") from None
            self._t2s = opencc.OpenCC("t2s")

    def __call__(self, text: str) -> str:
        text = unicodedata.normalize("NFKC", text)
        text = "".join(
            " " if ch.isspace() else ch
            for ch in text
            if ch.isspace() or unicodedata.category(ch) not in _DROP_CATEGORIES
        )
        text = _WHITESPACE_RUN.sub(" ", text).strip()
        if self._t2s is not None and text:
            text = self._t2s.convert(text)
        return text
