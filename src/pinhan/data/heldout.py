"""The held-out rule for every added training source (``../shared/bench/README.md``): a line is
dropped when one of its maximal hanzi runs of 5 or more characters (after NFKC and
traditional -> simplified) hashes into the published list of held-out clauses."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path

from pinhan.errors import DataError

HANZI_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]+")  # the rule's ranges
MIN_RUN = 5
DEFAULT_LIST = Path("../shared/bench/heldout-clauses.txt")  # beside a checkout of this project


class HeldoutRule:
    """``rule.hits(text)``: True when ``text`` must be dropped from a training source."""

    def __init__(self, path: str | os.PathLike) -> None:
        import opencc

        path = Path(path)
        try:
            self.hashes = frozenset(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read the held-out list {path}: {exc}") from None
        self.path, self._t2s = path, opencc.OpenCC("t2s")

    def hits(self, text: str) -> bool:
        text = self._t2s.convert(unicodedata.normalize("NFKC", text))
        return any(len(run) >= MIN_RUN and hashlib.sha256(run.encode("utf-8")).hexdigest()[:16] in self.hashes
                   for run in HANZI_RUN.findall(text))
