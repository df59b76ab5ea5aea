"""Which script candidates are shown in: simplified (the default), traditional, or as the model
gives them.

The models and the word lexicon are simplified (traditional forms that dictionaries list are
filtered out of the lexicon at build time), but the character decoder can still emit a
traditional hanzi that the corpus held (``zhe4`` -> 這). A simplified-script user should not see
it; a traditional-script user wants every candidate in traditional form. Both are one OpenCC
conversion of the finished candidates (phrase-aware: 头发 -> 頭髮, 发展 -> 發展), after which
duplicates are dropped, the first (best) kept. A conversion that changes a candidate's length
(rare phrase rewrites) is not applied to it: its per-character pinyin must still line up.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from pinhan.errors import InputError
from pinhan.infer.results import Candidate

SCRIPTS = ("simplified", "traditional", "any")
_OPENCC = {"simplified": "t2s", "traditional": "s2t"}


def check_script(script: str) -> str:
    if script not in SCRIPTS:
        raise InputError(f"script must be one of {', '.join(SCRIPTS)}, got {script!r}")
    return script


@lru_cache(maxsize=2)
def _converter(name: str):
    import opencc

    return opencc.OpenCC(name)


def in_script(candidates: list[Candidate], script: str) -> list[Candidate]:
    """``candidates`` written in ``script`` (``"any"``: unchanged), without duplicates."""
    if check_script(script) == "any":
        return candidates
    convert = _converter(_OPENCC[script]).convert
    out, seen = [], set()
    for candidate in candidates:
        text = convert(candidate.text)
        if len(text) != len(candidate.text):
            text = candidate.text
        if text in seen:
            continue
        seen.add(text)
        out.append(candidate if text == candidate.text else replace(candidate, text=text))
    return out
