"""Fuzzy pinyin (模糊音): pairs of sounds that many speakers do not tell apart.

A rule is a pair of typed initials (``z-zh``) or typed finals (``an-ang``). With a rule
on, either member of the pair may be typed for the other. Rules act on the *typed*
split of :mod:`pinhan.pinyin.inventory`, so with ``an-ang`` on, ``yan`` and ``yang``
also stand for each other (``y`` + ``an``), and with ``uan-uang`` ``wan``/``wang`` do.

Rules apply in one step and do not chain: with ``n-l`` and ``l-r`` both on, ``lu``
may mean ``nu``, ``lu`` or ``ru``, but ``nu`` means ``nu`` or ``lu``, never ``ru``.
An initial rule and a final rule may combine (``zan`` -> ``zhang`` with ``z-zh`` and
``an-ang``). The interjections (m, n, ng, hm, hng, ê) take no fuzzy variants.

A fuzzy variant need not be a syllable: with ``z-zh`` on, ``zuang`` is a valid
*spelling* of ``zhuang``, which is how users who merge z/zh type it.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Iterable, Mapping

from .inventory import MARGINAL, SYLLABLES, split_typed

# Rule name -> (one member, the other member).
FUZZY_RULES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "z-zh": ("z", "zh"),
        "c-ch": ("c", "ch"),
        "s-sh": ("s", "sh"),
        "n-l": ("n", "l"),
        "l-r": ("l", "r"),
        "f-h": ("f", "h"),
        "an-ang": ("an", "ang"),
        "en-eng": ("en", "eng"),
        "in-ing": ("in", "ing"),
        "ian-iang": ("ian", "iang"),
        "uan-uang": ("uan", "uang"),
    }
)
_INITIAL_RULES = frozenset({"z-zh", "c-ch", "s-sh", "n-l", "l-r", "f-h"})


def resolve_rules(fuzzy: str | Iterable[str]) -> tuple[str, ...]:
    """Validate rule names; return them sorted and without repeats.

    ``fuzzy`` is ``"all"``, one rule name, or an iterable of rule names (which may
    include ``"all"``: the CLI and the service pass lists). An unknown
    name raises a plain :class:`ValueError` (a configuration mistake, not bad user
    text, so deliberately not a :class:`~pinhan.pinyin.PinyinError`).
    """
    if isinstance(fuzzy, str):
        names: list[str] = list(FUZZY_RULES) if fuzzy == "all" else [fuzzy]
    else:
        try:
            names = list(fuzzy)
        except TypeError:
            raise ValueError(f"fuzzy must be 'all', a rule name or rule names, not {fuzzy!r}") from None
    if "all" in names:
        names = list(FUZZY_RULES)
    for name in names:
        if not isinstance(name, str) or name not in FUZZY_RULES:
            known = ", ".join(FUZZY_RULES)
            raise ValueError(f"unknown fuzzy rule {name!r}; known rules: {known} (or 'all')")
    return tuple(sorted(set(names)))


def _partners(part: str, rules: Iterable[str], initial: bool) -> set[str]:
    """``part`` plus its partner under every rule of the right kind (one step)."""
    found = {part}
    for name in rules:
        if (name in _INITIAL_RULES) != initial:
            continue
        a, b = FUZZY_RULES[name]
        if part == a:
            found.add(b)
        elif part == b:
            found.add(a)
    return found


def initial_variants(initial: str, rules: tuple[str, ...]) -> frozenset[str]:
    """Initials an abbreviation typed as ``initial`` may stand for."""
    return frozenset(_partners(initial, rules, initial=True))


def spelling_variants(syllable: str, rules: tuple[str, ...]) -> frozenset[str]:
    """Every spelling that may be typed for ``syllable`` under ``rules`` (itself included)."""
    if not rules or syllable in MARGINAL:
        return frozenset((syllable,))
    ini, fin = split_typed(syllable)
    return frozenset(a + b for a in _partners(ini, rules, True) for b in _partners(fin, rules, False))


def spelling_table(rules: tuple[str, ...]) -> dict[str, frozenset[str]]:
    """Map every typed spelling (syllables and their fuzzy variants) to the syllables
    it may stand for. Without rules every syllable maps to itself alone."""
    table: dict[str, set[str]] = {}
    for syllable in SYLLABLES:
        for spelling in spelling_variants(syllable, rules):
            table.setdefault(spelling, set()).add(syllable)
    return {k: frozenset(v) for k, v in table.items()}
