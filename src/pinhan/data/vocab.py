"""Vocabularies (characters, toned syllables, factored pinyin) and the syllable -> hanzi lexicon.

Ids 0..4 of the character and syllable vocabularies are the special tokens below; the factored
pinyin vocabularies (initials, finals, tones) start with PAD=0 and UNKNOWN=1 so that abbreviated
(``zh``: final unknown) and toneless input are ordinary ids.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from pinhan.data.annotate import char_readings, is_hanzi
from pinhan.errors import DataError
from pinhan.ids import BOS, EOS, MASK, PAD, UNK, UNKNOWN  # noqa: F401  (the id layout is shared)
from pinhan.pinyin import FINALS, INITIALS, TONED_SYLLABLES, split_syllable

SPECIALS = ("[PAD]", "[UNK]", "[MASK]", "[BOS]", "[EOS]")  # names of ids PAD..EOS
FACTOR_SPECIALS = ("[PAD]", "[UNKNOWN]")  # names of ids NONE (= PAD) and UNKNOWN
TONES = ("1", "2", "3", "4", "5")

VOCAB_FORMAT = "pinhan-vocab"
LEXICON_FORMAT = "pinhan-lexicon"


def _index(items: Iterable[str], what: str) -> dict[str, int]:
    table: dict[str, int] = {}
    for i, item in enumerate(items):
        if item in table:
            raise DataError(f"vocabulary {what} lists {item!r} twice")
        table[item] = i
    return table


@dataclass
class Vocab:
    """Characters and syllables with their ids; see the module docstring for the id layout."""

    chars: list[str]
    syllables: list[str] = field(default_factory=lambda: list(SPECIALS) + list(TONED_SYLLABLES))
    # "" is the zero initial (a, e, er, ...): a real, known initial, not an unknown one.
    initials: list[str] = field(default_factory=lambda: list(FACTOR_SPECIALS) + [""] + [i for i in INITIALS if i])
    finals: list[str] = field(default_factory=lambda: list(FACTOR_SPECIALS) + list(FINALS))
    tones: list[str] = field(default_factory=lambda: list(FACTOR_SPECIALS) + list(TONES))

    def __post_init__(self) -> None:
        for name in ("chars", "syllables"):
            if tuple(getattr(self, name)[:5]) != SPECIALS:
                raise DataError(f"vocabulary {name} must start with {', '.join(SPECIALS)}")
        for name in ("initials", "finals", "tones"):
            if tuple(getattr(self, name)[:2]) != FACTOR_SPECIALS:
                raise DataError(f"vocabulary {name} must start with {', '.join(FACTOR_SPECIALS)}")
        self.char_to_id = _index(self.chars, "chars")
        self.syllable_to_id = _index(self.syllables, "syllables")
        self.initial_to_id = _index(self.initials, "initials")
        self.final_to_id = _index(self.finals, "finals")
        self.tone_to_id = _index(self.tones, "tones")

    def char_id(self, ch: str) -> int:
        return self.char_to_id.get(ch, UNK)

    def syllable_id(self, syllable: str | None) -> int:
        """Toned syllable -> id; ``None`` (a pass-through position) -> PAD."""
        if syllable is None:
            return PAD
        return self.syllable_to_id.get(syllable, UNK)

    def factors(self, syllable: str | None) -> tuple[int, int, int]:
        """(initial, final, tone) ids of a toned or toneless syllable; PADs for a pass-through."""
        if syllable is None:
            return PAD, PAD, PAD
        tone = UNKNOWN
        if syllable[-1].isdigit():
            tone = self.tone_to_id.get(syllable[-1], UNKNOWN)
            syllable = syllable[:-1]
        initial, final = split_syllable(syllable)
        return self.initial_to_id.get(initial, UNKNOWN), self.final_to_id.get(final, UNKNOWN), tone

    def to_dict(self) -> dict:
        return {
            "format": VOCAB_FORMAT,
            "version": 1,
            "chars": self.chars,
            "syllables": self.syllables,
            "initials": self.initials,
            "finals": self.finals,
            "tones": self.tones,
            # Informational: the toneless inventory (each toned syllable without its digit).
            "toneless_syllables": sorted({s.rstrip("12345") for s in self.syllables[len(SPECIALS):]}),
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "Vocab":
        data = _read_json(path, VOCAB_FORMAT)
        try:
            return cls(**{k: list(data[k]) for k in ("chars", "syllables", "initials", "finals", "tones")})
        except (KeyError, TypeError) as exc:
            raise DataError(f"{path}: vocabulary is missing or mangles a field ({exc})") from None


def build_vocab(char_counts: Mapping[str, int], *, vocab_size: int, min_count: int, extra_charset: str) -> Vocab:
    """Characters by frequency in train.

    Hanzi that pypinyin can read are always kept (the lexicon must reach them), plus, with
    ``extra_charset="gb2312"``, every readable GB2312 hanzi never seen in train. Other characters
    need ``min_count`` occurrences and fill the room left under ``vocab_size``.
    """
    readable = {ch for ch in char_counts if is_hanzi(ch) and char_readings(ch)}
    ranked = sorted(char_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = [ch for ch, _ in ranked if ch in readable]
    room = vocab_size - len(SPECIALS) - len(kept)
    others = [ch for ch, n in ranked if ch not in readable and n >= min_count][: max(room, 0)]
    chars = sorted(kept + others, key=lambda ch: (-char_counts[ch], ch))
    if extra_charset == "gb2312":
        present = set(chars)
        chars += [ch for ch in gb2312_hanzi() if ch not in present and char_readings(ch)]
    return Vocab(chars=list(SPECIALS) + chars)


def gb2312_hanzi() -> list[str]:
    """The 6,763 hanzi of GB2312 (rows 16-87), in code order."""
    result = []
    for row in range(0xB0, 0xF8):
        for col in range(0xA1, 0xFF):
            try:
                ch = bytes((row, col)).decode("gb2312")
            except UnicodeDecodeError:
                continue
            if is_hanzi(ch):
                result.append(ch)
    return result


@dataclass
class Lexicon:
    """Toned syllable -> {hanzi: count in train}; count 0 marks a dictionary-only reading."""

    entries: dict[str, dict[str, int]]

    def candidates(self, syllable: str) -> list[str]:
        """Hanzi readable as ``syllable`` (toned ``zhong1`` or toneless ``zhong``), most frequent first."""
        if syllable[-1:].isdigit():
            counts = self.entries.get(syllable, {})
        else:
            merged: Counter[str] = Counter()
            for tone in TONES:
                merged.update(self.entries.get(syllable + tone, {}))
            counts = merged
        return sorted(counts, key=lambda ch: (-counts[ch], ch))

    def readings(self) -> dict[str, list[str]]:
        """Inverse table: hanzi -> toned syllables, most frequent first."""
        by_char: dict[str, list[tuple[int, str]]] = {}
        for syllable, chars in self.entries.items():
            for ch, n in chars.items():
                by_char.setdefault(ch, []).append((n, syllable))
        return {ch: [s for _, s in sorted(pairs, key=lambda p: (-p[0], p[1]))] for ch, pairs in by_char.items()}

    def top_shares(self, min_count: int = 1) -> dict[str, float]:
        """hanzi -> share of its most frequent reading among its train counts, for hanzi seen at
        least ``min_count`` times in train."""
        totals: Counter[str] = Counter()
        tops: Counter[str] = Counter()
        for chars in self.entries.values():
            for ch, n in chars.items():
                totals[ch] += n
                tops[ch] = max(tops[ch], n)
        return {ch: tops[ch] / total for ch, total in totals.items() if total >= max(1, min_count)}

    def save(self, path: str | Path) -> None:
        data = {"format": LEXICON_FORMAT, "version": 1, "entries": self.entries}
        Path(path).write_text(json.dumps(data, ensure_ascii=False, sort_keys=True), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "Lexicon":
        data = _read_json(path, LEXICON_FORMAT)
        entries = data.get("entries")
        if not isinstance(entries, dict) or not all(isinstance(v, dict) for v in entries.values()):
            raise DataError(f"{path}: lexicon 'entries' must map syllables to {{hanzi: count}}")
        return cls(entries)


def build_lexicon(pair_counts: Mapping[tuple[str, str], int], vocab: Vocab) -> Lexicon:
    """Train annotation counts, completed by pypinyin's readings of every hanzi in the vocabulary."""
    known = set(vocab.syllables[len(SPECIALS):])
    entries: dict[str, dict[str, int]] = {}
    for (syllable, ch), n in pair_counts.items():
        if ch in vocab.char_to_id and syllable in known:
            entries.setdefault(syllable, {})[ch] = int(n)
    for ch in vocab.chars[len(SPECIALS):]:
        if is_hanzi(ch):
            for syllable in char_readings(ch):
                if syllable in known:
                    entries.setdefault(syllable, {}).setdefault(ch, 0)
    return Lexicon({s: dict(sorted(c.items())) for s, c in sorted(entries.items())})


def _read_json(path: str | Path, expected_format: str) -> dict:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path} is not a readable JSON file: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != expected_format:
        raise DataError(f"{path} is not a {expected_format} file (format tag missing or different)")
    return data
