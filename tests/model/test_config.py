"""ModelConfig validation, dict round trip, named sizes and their parameter counts."""

from __future__ import annotations

import pytest
import torch

from pinhan.model import ModelConfig, PinhanModel, base, ids, named_config, small, tiny

# A realistic vocabulary: ~8000 hanzi and pass-through characters, ~2000 toned syllables.
REAL_VOCAB = dict(n_chars=8000, n_syllables=2000, n_initials=26, n_finals=40, n_tones=7)


def _cfg(**changes):
    fields = dict(REAL_VOCAB, d_model=32, n_heads=4, d_ff=64)
    fields.update(changes)
    return ModelConfig(**fields)


@pytest.mark.parametrize(
    "field, value",
    [
        ("n_chars", 5),
        ("n_syllables", 0),
        ("n_initials", 1),
        ("n_finals", -3),
        ("n_tones", 1),
        ("d_model", 0),
        ("n_heads", 0),
        ("n_encoder_layers", 0),
        ("n_decoder_layers", 0),
        ("d_ff", 0),
        ("max_positions", 1),
        ("dropout", 1.0),
        ("dropout", -0.1),
        ("dropout", "0.1"),
        ("d_model", 32.0),
        ("n_heads", True),
        ("tie_char_embeddings", 1),
    ],
)
def test_invalid_field_is_named(field, value):
    with pytest.raises(ValueError, match=field):
        _cfg(**{field: value})


def test_heads_must_divide_d_model():
    with pytest.raises(ValueError, match="n_heads.*d_model"):
        _cfg(d_model=30, n_heads=4)


def test_dict_round_trip():
    cfg = _cfg(dropout=0.25, tie_char_embeddings=False)
    d = cfg.to_dict()
    assert d["dropout"] == 0.25 and d["n_chars"] == 8000
    assert ModelConfig.from_dict(d) == cfg


def test_from_dict_rejects_unknown_keys_by_name():
    d = _cfg().to_dict()
    d.update(n_layers=4, colour="red")
    with pytest.raises(ValueError, match="colour, n_layers"):
        ModelConfig.from_dict(d)


def test_from_dict_names_missing_required_keys():
    d = _cfg().to_dict()
    del d["n_chars"], d["n_finals"]
    with pytest.raises(ValueError, match="missing.*n_chars, n_finals"):
        ModelConfig.from_dict(d)


def test_named_sizes_accept_overrides():
    cfg = small(**REAL_VOCAB, dropout=0.0, max_positions=200)
    assert cfg.d_model == 256 and cfg.dropout == 0.0 and cfg.max_positions == 200
    assert named_config("tiny", **REAL_VOCAB) == tiny(**REAL_VOCAB)
    with pytest.raises(ValueError, match="huge"):
        named_config("huge", **REAL_VOCAB)
    with pytest.raises(ValueError, match="n_heads"):
        tiny(**REAL_VOCAB, n_heads=5)


@pytest.mark.parametrize(
    "make, low, high",
    [(tiny, 100_000, 1_000_000), (small, 5_000_000, 10_000_000), (base, 20_000_000, 30_000_000)],
)
def test_named_size_parameter_counts(make, low, high):
    cfg = make(**REAL_VOCAB)
    with torch.device("meta"):  # shapes only, no memory or init cost
        n = PinhanModel(cfg).num_parameters()
    assert low <= n <= high, f"{make.__name__}: {n:,} parameters"


def test_tone_and_task_ids():
    assert [ids.tone_id(t) for t in range(1, 6)] == [2, 3, 4, 5, 6]
    assert ids.N_TONES == 7
    with pytest.raises(ValueError, match="tone"):
        ids.tone_id(0)
    assert [ids.task_id(n) for n in ("p2h", "h2p", "gen")] == [
        ids.TASK_P2H,
        ids.TASK_H2P,
        ids.TASK_GEN,
    ]
    with pytest.raises(ValueError, match="xyz"):
        ids.task_id("xyz")
