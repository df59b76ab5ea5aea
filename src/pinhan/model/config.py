"""Model architecture config and the named sizes ``tiny`` / ``small`` / ``base``.

A :class:`ModelConfig` fully determines the shapes of a :class:`~pinhan.model.PinhanModel`; it is
saved as the ``"model"`` section of a checkpoint's ``config.json``. The vocabulary sizes come from
the data pipeline (``pinhan.data``), the rest from a named size::

    cfg = small(n_chars=8000, n_syllables=2000, n_initials=26, n_finals=40)
    cfg = small(n_chars=8000, n_syllables=2000, n_initials=26, n_finals=40, dropout=0.0)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pinhan import ids


@dataclass
class ModelConfig:
    """Architecture of a pinhan encoder–decoder model.

    Args:
        n_chars: Size of the hanzi vocabulary, specials included (ids 0..4 are PAD, UNK, MASK,
            BOS, EOS). Used by the hanzi input embedding and both hanzi output heads.
        n_syllables: Size of the toned-syllable vocabulary (same five specials), the output of
            the pinyin head.
        n_initials: Number of initial ids in the factored pinyin input (0 = none, 1 = unknown).
        n_finals: Number of final ids in the factored pinyin input (0 = none, 1 = unknown; the
            data side may add partial-final ids for an incomplete last syllable).
        n_tones: Number of tone ids (0 = none, 1 = unknown, tones 1..5 = ids 2..6): normally 7.
        d_model: Width of every hidden state and embedding.
        n_heads: Attention heads per attention layer; must divide ``d_model``.
        n_encoder_layers: Bidirectional encoder blocks (at least 1).
        n_decoder_layers: Causal decoder blocks with cross-attention (at least 1).
        d_ff: Hidden width of each feed-forward layer.
        dropout: Dropout probability on embeddings, attention weights and residual branches,
            in ``[0, 1)``.
        max_positions: Longest encoder input (context + target) and longest decoder input the
            learned position tables cover; the default 160 allows 64 context + 64 target + slack.
        tie_char_embeddings: If true, the hanzi output heads reuse the hanzi input embedding
            matrix as their weight (each head keeps its own bias); saves ``n_chars * d_model``
            parameters.
    """

    n_chars: int
    n_syllables: int
    n_initials: int
    n_finals: int
    n_tones: int = ids.N_TONES
    d_model: int = 256
    n_heads: int = 4
    n_encoder_layers: int = 3
    n_decoder_layers: int = 3
    d_ff: int = 1024
    dropout: float = 0.1
    max_positions: int = 160
    tie_char_embeddings: bool = True

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "dropout":
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError(f"dropout must be a number, got {value!r}")
                self.dropout = float(value)
            elif f.name == "tie_char_embeddings":
                if not isinstance(value, bool):
                    raise ValueError(f"tie_char_embeddings must be a bool, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{f.name} must be an int, got {value!r}")

        _at_least("n_chars", self.n_chars, ids.N_SPECIAL + 1, "the 5 specials and one character")
        _at_least(
            "n_syllables", self.n_syllables, ids.N_SPECIAL + 1, "the 5 specials and one syllable"
        )
        _at_least(
            "n_initials", self.n_initials, ids.N_FACTOR_SPECIAL, "ids 0 (none) and 1 (unknown)"
        )
        _at_least("n_finals", self.n_finals, ids.N_FACTOR_SPECIAL, "ids 0 (none) and 1 (unknown)")
        _at_least("n_tones", self.n_tones, ids.N_FACTOR_SPECIAL, "ids 0 (none) and 1 (unknown)")
        _at_least("d_model", self.d_model, 1)
        _at_least("n_heads", self.n_heads, 1)
        _at_least("n_encoder_layers", self.n_encoder_layers, 1)
        _at_least("n_decoder_layers", self.n_decoder_layers, 1)
        _at_least("d_ff", self.d_ff, 1)
        _at_least("max_positions", self.max_positions, 2, "BOS and one position")
        if self.d_model % self.n_heads:
            raise ValueError(f"n_heads ({self.n_heads}) must divide d_model ({self.d_model})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def head_dim(self) -> int:
        """Width of one attention head, ``d_model // n_heads``."""
        return self.d_model // self.n_heads

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain JSON-serialisable dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        """Build a config from :meth:`to_dict` output.

        Raises:
            ValueError: if ``data`` has keys that are not fields (all are named), lacks a
                required field, or a value fails validation.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"model config must be a mapping, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown model config keys: {', '.join(map(str, unknown))}")
        required = [
            f.name
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.name not in data
        ]
        if required:
            raise ValueError(f"missing model config keys: {', '.join(required)}")
        return cls(**data)

    def replace(self, **changes: Any) -> ModelConfig:
        """Return a validated copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)


def _at_least(name: str, value: int, minimum: int, why: str = "") -> None:
    if value < minimum:
        reason = f" ({why})" if why else ""
        raise ValueError(f"{name} must be >= {minimum}{reason}, got {value}")


# --- named sizes ---------------------------------------------------------------------------
# Parameter counts at n_chars=8000, n_syllables=2000, n_initials=26, n_finals=40, n_tones=7
# (tests/model/test_config.py checks the ranges): tiny ~0.8M, small ~8.0M, base ~24M.

_TINY = dict(d_model=64, n_heads=4, n_encoder_layers=2, n_decoder_layers=2, d_ff=128)
_SMALL = dict(d_model=256, n_heads=4, n_encoder_layers=3, n_decoder_layers=3, d_ff=1024)
_BASE = dict(d_model=384, n_heads=6, n_encoder_layers=5, n_decoder_layers=5, d_ff=1536)


def _named(
    size: Mapping[str, Any],
    n_chars: int,
    n_syllables: int,
    n_initials: int,
    n_finals: int,
    n_tones: int,
    overrides: Mapping[str, Any],
) -> ModelConfig:
    fields = dict(size)
    fields.update(overrides)
    return ModelConfig.from_dict(
        dict(
            n_chars=n_chars,
            n_syllables=n_syllables,
            n_initials=n_initials,
            n_finals=n_finals,
            n_tones=n_tones,
            **fields,
        )
    )


def tiny(
    *, n_chars: int, n_syllables: int, n_initials: int, n_finals: int,
    n_tones: int = ids.N_TONES, **overrides: Any,
) -> ModelConfig:  # fmt: skip
    """d_model 64, 4 heads, 2+2 layers: tests and smoke runs (<1M parameters)."""
    return _named(_TINY, n_chars, n_syllables, n_initials, n_finals, n_tones, overrides)


def small(
    *, n_chars: int, n_syllables: int, n_initials: int, n_finals: int,
    n_tones: int = ids.N_TONES, **overrides: Any,
) -> ModelConfig:  # fmt: skip
    """d_model 256, 4 heads, 3+3 layers, d_ff 1024: CPU-trainable (5–10M parameters)."""
    return _named(_SMALL, n_chars, n_syllables, n_initials, n_finals, n_tones, overrides)


def base(
    *, n_chars: int, n_syllables: int, n_initials: int, n_finals: int,
    n_tones: int = ids.N_TONES, **overrides: Any,
) -> ModelConfig:  # fmt: skip
    """d_model 384, 6 heads, 5+5 layers, d_ff 1536: the GPU model (20–30M parameters)."""
    return _named(_BASE, n_chars, n_syllables, n_initials, n_finals, n_tones, overrides)


NAMED_SIZES: Mapping[str, Callable[..., ModelConfig]] = MappingProxyType(
    {"tiny": tiny, "small": small, "base": base}
)


def named_config(name: str, **kwargs: Any) -> ModelConfig:
    """Return the named size ``name`` (``tiny``, ``small``, ``base``) built with ``kwargs``.

    Raises:
        ValueError: for an unknown size name, listing the known ones.
    """
    try:
        make = NAMED_SIZES[name]
    except KeyError:
        raise ValueError(
            f"unknown model size {name!r}; expected one of {', '.join(NAMED_SIZES)}"
        ) from None
    return make(**kwargs)
