"""Learning from the user: a per-user history of committed words and phrases, and where it is kept.

::

    user = UserModel()                          # or UserStore("~/.pinhan/user").load()
    user.learn([("意大利", ("yi", "da", "li")), ("面", ("mian",))])
    user.add_phrase("意大利面", ("yi", "da", "li", "mian"))
    model.convert("yidalimian", user=user)      # the lattice mixes the history in

What it holds (:class:`UserModel`): words and phrases with a recency-weighted count (each learned
word ages every count by ``0.5 ** (1 / half_life)``) and their bigrams (the previous committed
word, "" at the start of a conversion, then the word), bounded by ``max_words`` / ``max_bigrams``
(the least weighty go first). Texts, not word ids: a history outlives a model. How the lattice
uses it: :mod:`pinhan.infer.search.user_lattice`.

Where it is kept (:class:`UserStore`): one JSON file ``user.json`` in a user directory, versioned
(``format``), written whole to a temporary file that is fsynced and renamed over the old one (the
directory fsynced too): a kill at any moment leaves the old file or the new one, never a mix. A
file that cannot be read is renamed aside (``user.json.corrupt-<time>``) and the error says so;
it is never overwritten.

Word lists (:func:`UserModel.import_words`, :meth:`UserModel.export_words`): one entry a line,
``word [pinyin] [count]``; pinyin as toneless or toned syllables joined by ``'`` (``yi'da'li'mian``)
or typed unsegmented (``yidalimian``, split by the parser); without pinyin the caller's reader
(the model's g2p) gives it. ``#`` starts a comment line.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pinhan.errors import ConfigError, DataError, InputError, PinhanError
from pinhan.model.io import fsync_dir

FORMAT = "pinhan-user/1"
FILE = "user.json"
START = ""  # the "previous word" of a conversion's first word
MAX_CHANGES = 100_000  # entries a history lists as changed before its views start again
STALE_TMP_S = 3600.0
_APOSTROPHE = "'"  # temporary files older than this are leftovers of a killed save

Reading = tuple[str, ...]  # toneless syllables, one per character


class UserDataError(DataError):
    """A user file that cannot be read (it has been moved aside), or a bad word list."""


@dataclass(frozen=True)
class UserSettings:
    """How a user history is kept and mixed into the lattice's scores.

    Args:
        weight: the history's share in the mixture ``log(p_ngram + weight * p_user)`` added to an
            arc of a word the user committed (others score as without a history). 0.05 since
            the lattice also mixes in the context's own words (``InferenceConfig.context_history``):
            on four tuning slices 0.05 was at least 0.2 (the weight before) on each, and 0.02 and
            0.1 lower in sum (benchmarks/RESULTS.md, "The context as a history, and erhua").
        unigram_prior: pseudo-count added to the history's total in ``p_user(word)``: a first
            commit does not make a word certain.
        bigram_share: the bigram's share in ``p_user(word | previous) = share * c(previous, word) /
            c(previous) + (1 - share) * c(word) / (total + unigram_prior)`` (the unigram alone after
            a word the history has no bigram after).
        half_life: learned words after which a count weighs half (recency).
        max_words: words and phrases kept: beyond it the least weighty are dropped, down to nine
            tenths of it (one sort per tenth of new words, not one per commit).
        max_bigrams: bigrams kept, pruned the same way.
        max_phrase_chars: longest phrase learned whole (a phrase picked in pieces); longer
            commits are learned as their words only.
        homophone_weight: how much a committed word of two or more characters is raised above
            its homophones, as ``homophone_weight * max(0, log(p_user(w | s) / q(w | s)))``
            added to its score: ``q`` the word's share of the n-gram's unigram mass among the
            lexicon's words spelled ``s`` (its toneless spelling), ``p_user`` the user's share
            of commits spelled ``s``, smoothed toward ``q`` by ``homophone_prior`` pseudo-counts.
            A committed word the n-gram rates far below a frequent homophone (按键 under 案件,
            其它 under 其他) comes first where the mixture alone cannot lift it; a word the user
            commits no more often than the n-gram expects is left as it is. 0: off.
        homophone_prior: the pseudo-counts of ``p_user(w | s)``'s prior ``q(w | s)``.
    """

    weight: float = 0.05
    unigram_prior: float = 5.0
    bigram_share: float = 0.5
    half_life: float = 20_000.0
    max_words: int = 20_000
    max_bigrams: int = 50_000
    max_phrase_chars: int = 12
    homophone_weight: float = 0.5
    homophone_prior: float = 2.0

    def __post_init__(self) -> None:
        for name in ("weight", "unigram_prior", "bigram_share", "half_life", "homophone_weight", "homophone_prior"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ConfigError(f"user setting {name} must be a number >= 0, got {value!r}")
        for name in ("max_words", "max_bigrams", "max_phrase_chars"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"user setting {name} must be an integer >= 1, got {value!r}")
        if self.bigram_share > 1:
            raise ConfigError("user setting bigram_share must be at most 1")
        if self.half_life <= 0:
            raise ConfigError("user setting half_life must be > 0")


class UserModel:
    """One user's history (see the module docstring). ``version`` changes with every update, so
    that views built from it (the lattice's arrays) know when to update; ``changes`` lists the
    entries touched since ``generation`` began (a view applies only those: a commit costs its own
    words, not the history's size), and ``generation`` changes when entries are dropped."""

    def __init__(self, settings: UserSettings | None = None) -> None:
        self.settings = settings or UserSettings()
        self.tick = 0  # words learned so far: the clock of the decay
        self.version = 0
        self.words: dict[str, list] = {}  # text -> [count at its tick, tick, reading]
        self.bigrams: dict[tuple[str, str], list] = {}  # (previous, word) -> [count, tick]
        self.generation = 0
        self.changes: list[tuple[str, str | tuple[str, str]]] = []  # ("w", text) / ("b", (previous, text))

    def __len__(self) -> int:
        return len(self.words)

    # --- learning -----------------------------------------------------------------------------
    def learn(self, words: Sequence[tuple[str, Reading]], previous: str = START) -> None:
        """Committed words in order (text, toneless reading): each word's count and its bigram
        after the one before (``previous`` before the first) grow by one."""
        for text, reading in words:
            self._add_word(text, _check_reading(text, reading), 1.0)
            self._add_bigram(previous, text, 1.0)
            previous = text
        self._prune()

    def add_phrase(self, text: str, reading: Reading, count: float = 1.0) -> None:
        """A phrase (or word) as one unit, at the start of a conversion."""
        if len(text) > self.settings.max_phrase_chars:
            return
        self._add_word(text, _check_reading(text, reading), count)
        self._add_bigram(START, text, count)
        self._prune()

    def forget(self) -> None:
        """Drop everything learned."""
        self.words.clear()
        self.bigrams.clear()
        self.tick, self.version = 0, self.version + 1
        self._new_generation()

    def copy(self) -> UserModel:
        """An independent copy: entries, clock, version, generation and changes (so that the
        copy's views can be brought up to date from the original's)."""
        other = UserModel(self.settings)
        other.tick, other.version, other.generation = self.tick, self.version, self.generation
        other.words = {k: list(v) for k, v in self.words.items()}
        other.bigrams = {k: list(v) for k, v in self.bigrams.items()}
        other.changes = list(self.changes)
        return other

    def weight(self, entry: list) -> float:
        """An entry's count now: aged by the words learned since it was last touched."""
        return entry[0] * 0.5 ** ((self.tick - entry[1]) / self.settings.half_life)

    def _add_word(self, text: str, reading: Reading, count: float) -> None:
        self.tick += 1
        self.version += 1
        entry = self.words.get(text)
        self.words[text] = [(self.weight(entry) if entry else 0.0) + count, self.tick, reading]
        self._changed("w", text)

    def _add_bigram(self, previous: str, text: str, count: float) -> None:
        entry = self.bigrams.get((previous, text))
        self.bigrams[(previous, text)] = [(self.weight(entry) if entry else 0.0) + count, self.tick]
        self._changed("b", (previous, text))

    def _changed(self, kind: str, key) -> None:
        self.changes.append((kind, key))
        if len(self.changes) > MAX_CHANGES:  # a view would rather start again than replay this many
            self._new_generation()

    def _new_generation(self) -> None:
        self.generation += 1
        self.changes = []

    def _prune(self) -> None:
        """Past ``max_words`` / ``max_bigrams``, keep the weightiest nine tenths of it (ties: the
        most recent): a full history sorts once per tenth of its size, not at every commit."""
        for table, cap in ((self.words, self.settings.max_words), (self.bigrams, self.settings.max_bigrams)):
            if len(table) > cap:
                keep = sorted(table, key=lambda k: (self.weight(table[k]), table[k][1]), reverse=True)[: cap - cap // 10]
                kept = {k: table[k] for k in keep}
                table.clear()
                table.update(kept)
                self._new_generation()

    # --- word lists ---------------------------------------------------------------------------
    def import_words(self, lines: Iterable[str], reader: Callable[[str], Reading] | None = None,
                     name: str = "word list") -> int:
        """Add ``word [pinyin] [count]`` lines (count 1 when left out); returns the words added.
        A bad line raises :class:`UserDataError` naming it, and nothing of the list is added."""
        parsed = []
        for number, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                parsed.append(_parse_entry(line, reader))
            except (InputError, ValueError) as err:
                raise UserDataError(f"{name}, line {number}: {err}") from None
        for text, reading, count in parsed:
            self.add_phrase(text, reading, count)
        return len(parsed)

    def export_words(self) -> list[str]:
        """``word pin'yin count`` lines, weightiest first (what :meth:`import_words` reads)."""
        rows = sorted(self.words.items(), key=lambda kv: -self.weight(kv[1]))
        return [f"{text} {_APOSTROPHE.join(entry[2])} {self.weight(entry):.4g}" for text, entry in rows]

    # --- the file format ----------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"format": FORMAT, "tick": self.tick,
                "words": [[t, " ".join(e[2]), e[0], e[1]] for t, e in self.words.items()],
                "bigrams": [[p, w, e[0], e[1]] for (p, w), e in self.bigrams.items()]}

    @classmethod
    def from_dict(cls, doc, settings: UserSettings | None = None) -> UserModel:
        """Raises ValueError (or KeyError / TypeError) on anything but this module's format."""
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError(f"not a pinhan user history (format {doc.get('format') if isinstance(doc, dict) else None!r}, "
                             f"expected {FORMAT})")
        user = cls(settings)
        user.tick = _number(doc["tick"], int)
        for text, reading, count, tick in doc["words"]:
            user.words[_text(text)] = [_number(count, float), _number(tick, int), _check_reading(text, tuple(reading.split()))]
        for previous, text, count, tick in doc["bigrams"]:
            user.bigrams[(_text(previous, empty=True), _text(text))] = [_number(count, float), _number(tick, int)]
        user.version = 1
        return user


class UserStore:
    """A user directory holding one history file (see the module docstring)."""

    def __init__(self, directory: str | os.PathLike, settings: UserSettings | None = None) -> None:
        self.directory = Path(directory).expanduser()
        self.path = self.directory / FILE
        self.settings = settings

    def load(self) -> UserModel:
        """The stored history (an empty one when there is no file yet). A file that cannot be
        read is renamed aside and :class:`UserDataError` says where to."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return UserModel(self.settings)
        except OSError as err:
            raise UserDataError(f"{self.path}: cannot read the user history ({err.strerror})") from None
        try:
            return UserModel.from_dict(json.loads(raw.decode("utf-8")), self.settings)
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            aside = self.path.with_name(f"{FILE}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
            os.replace(self.path, aside)
            raise UserDataError(f"{self.path}: not a readable user history ({err}); moved aside to {aside.name}, "
                                "learning starts again") from None

    def save(self, user: UserModel) -> None:
        """Write the history atomically: temporary file, fsync, rename, fsync of the directory."""
        self.directory.mkdir(parents=True, exist_ok=True)
        _sweep(self.directory)
        data = json.dumps(user.to_dict(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{FILE}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        fsync_dir(self.directory)

    def stamp(self) -> tuple[int, int] | None:
        """(mtime ns, size) of the file, None when there is none: whether someone else saved."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size


def _sweep(directory: Path) -> None:
    """Remove temporary files a killed save left (old enough not to be another process's)."""
    now = time.time()
    for leftover in directory.glob(f".{FILE}.*.tmp"):
        try:
            if now - leftover.stat().st_mtime > STALE_TMP_S:
                leftover.unlink()
        except OSError:
            pass


def _parse_entry(line: str, reader: Callable[[str], Reading] | None) -> tuple[str, Reading, float]:
    from pinhan.pinyin import SYLLABLES, parse

    fields = line.split()
    if len(fields) > 3:
        raise InputError(f"expected 'word [pinyin] [count]', got {len(fields)} fields")
    text, rest = _text(fields[0]), fields[1:]
    count = 1.0
    if rest and _is_number(rest[-1]):
        count = float(rest.pop())
        if not (count > 0 and math.isfinite(count)):
            raise InputError(f"count must be a positive number, got {fields[-1]!r}")
    if rest:
        typed = rest[0].lower()
        if "'" in typed:
            reading = tuple(s.rstrip("012345") for s in typed.split("'"))
        else:
            try:
                paths = [p for p in parse(typed, max_paths=8)
                         if len(p) == len(text) and all(seg.kind == "syllable" for seg in p)]
            except PinhanError:
                paths = []
            reading = tuple(seg.text for seg in paths[0]) if paths else ()
        reading = tuple(s.replace("ü", "v") for s in reading)
        if len(reading) != len(text) or any(s not in SYLLABLES for s in reading):
            raise InputError(f"pinyin {rest[0]!r} does not read {text!r} one syllable a character")
    elif reader is not None:
        reading = tuple(reader(text))
    else:
        raise InputError(f"no pinyin for {text!r}")
    return text, _check_reading(text, reading), count


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _check_reading(text: str, reading) -> Reading:
    reading = tuple(str(s).rstrip("012345").lower() for s in reading)
    if len(reading) != len(text) or not all(reading) or not all(s.isalpha() and s.isascii() for s in reading):
        raise ValueError(f"the reading {' '.join(reading)!r} does not give one syllable per character of {text!r}")
    return reading


def _text(value, empty: bool = False) -> str:
    if not isinstance(value, str) or (not value and not empty) or any(c.isspace() for c in value):
        raise ValueError(f"a word must be text without spaces, got {value!r}")
    return value


def _number(value, kind):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"expected a number >= 0, got {value!r}")
    return kind(value)
