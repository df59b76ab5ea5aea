"""What the inference API returns: plain dataclasses with a ``to_dict`` for JSON (CLI, service)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Candidate:
    """One conversion candidate.

    Attributes:
        text: the hanzi (pass-through input copied as typed).
        score: log-probability under the model (sum over emitted hanzi); higher is better, and
            only comparable between candidates of one input.
        pinyin: one entry per character of ``text``: the toned syllable it was read as
            (``zhong1``), or the pass-through text itself.
        consumed: how many characters of the input this candidate covers, from the start: the
            whole input for a sentence candidate, less for a prefix (word) candidate.
        kind: ``"whole"`` (covers the input), ``"prefix"`` (covers its first syllables) or
            ``"prediction"`` (a session's next word after a commit: covers no input).
    """

    text: str
    score: float
    pinyin: tuple[str, ...]
    consumed: int
    kind: str = "whole"

    def to_dict(self) -> dict:
        data = asdict(self)
        data["pinyin"] = list(self.pinyin)
        return data


@dataclass(frozen=True)
class G2PResult:
    """Hanzi -> pinyin for one text, aligned one entry per character of ``text``.

    Attributes:
        text: the input.
        pinyin: per character: its syllable for a hanzi (in the requested tone style), the
            character itself otherwise.
        hanzi: per character: True where it is a hanzi that was read.
        polyphonic: per character: True for a hanzi with more than one reading in the lexicon.
        readings: per character: the reading decided for a hanzi with its lexical tone, before
            ``pinyin``'s dictionary tones (知识: ``pinyin`` writes ``zhi1 shi5`` as spoken, ``readings``
            keeps ``shi2``, the polyphone's reading, as polyphone sets label it); the character
            itself otherwise. Empty: the same as ``pinyin``.
    """

    text: str
    pinyin: tuple[str, ...]
    hanzi: tuple[bool, ...] = field(default=())
    polyphonic: tuple[bool, ...] = field(default=())
    readings: tuple[str, ...] = field(default=())

    def syllables(self) -> list[str]:
        """One syllable per hanzi, in order (non-hanzi characters left out)."""
        return [p for p, h in zip(self.pinyin, self.hanzi) if h]

    def lexical(self) -> list[str]:
        """One reading per hanzi with its lexical tone (:attr:`readings`), in order."""
        return [p for p, h in zip(self.readings or self.pinyin, self.hanzi) if h]

    def to_dict(self) -> dict:
        return {"text": self.text, "pinyin": self.syllables(), "aligned": list(self.pinyin),
                "polyphonic": [i for i, p in enumerate(self.polyphonic) if p], "readings": self.lexical()}


@dataclass(frozen=True)
class Continuation:
    """One continuation of a prefix: ``text`` (the new characters only) and its log-probability."""

    text: str
    score: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Prediction:
    """One predicted next word (联想): ``text``, a whole word of the word lexicon, and its score
    (the word n-gram's log-probability plus the weighted Transformer's; higher is better, only
    comparable between predictions of one context)."""

    text: str
    score: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TokenScores:
    """A given continuation scored by the model, one entry per character of ``text``.

    Attributes:
        text: the continuation.
        logprobs: each character's log-probability after the prefix and the characters before it.
        ranks: how many characters the model rated higher (0: its first choice).
        known: False for a character outside the vocabulary (its entries are not meaningful).
    """

    text: str
    logprobs: tuple[float, ...]
    ranks: tuple[int, ...]
    known: tuple[bool, ...]


@dataclass(frozen=True)
class Rescored:
    """A given conversion scored: ``model`` is the decoder's summed log-probability
    (teacher-forced, full softmax), ``ngram`` the character n-gram's (0.0 without one)."""

    text: str
    model: float
    ngram: float
