"""pinhan.data.corpora: the general-domain sources that ``pinhan prepare`` knows by name.

``pinhan fetch`` (:mod:`.fetch`) downloads each pinned artifact through its registry's client
into a cache; a reader per format turns the unpacked tree into raw text lines, one paragraph or
document each, which ``prepare`` then cleans, filters by the held-out rule, de-duplicates,
weights and annotates like any corpus. The frequency lists (``wordfreq``, ``jionlp``) are
fetched here too and read by :mod:`pinhan.lm.frequencies`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator

from pinhan.data.corpora import helphtml, inews, manpages, poetry
from pinhan.data.corpora.fetch import DEFAULT_CACHE, source_root

# name -> reader of the unpacked tree: running text that prepare accepts as a source
CORPORA: dict[str, Callable[[Path], Iterator[str]]] = {
    "inews": inews.lines,
    "manpages": manpages.lines,
    "libreoffice-help": helphtml.lines,
    "poetry": poetry.lines,
    "debian-reference": helphtml.lines,  # DocBook HTML: the same block-element reading
    "debian-handbook": helphtml.lines,
}
FREQUENCY_LISTS = ("wordfreq", "jionlp")  # read by pinhan.lm.frequencies


def corpus_lines(name: str, cache: str | os.PathLike = DEFAULT_CACHE) -> Iterator[str]:
    """The raw lines of named corpus ``name`` from the cache ``pinhan fetch`` filled."""
    return CORPORA[name](source_root(name, cache))
