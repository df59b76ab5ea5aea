"""Shared fixtures for the model tests: a tiny config with a small vocabulary and a synthetic
batch builder that follows the data side's conventions (see pinhan.model.losses)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
import torch

from pinhan.model import ModelConfig, PinhanModel, ids, tiny

VOCAB = dict(n_chars=40, n_syllables=30, n_initials=8, n_finals=10, n_tones=ids.N_TONES)


@pytest.fixture
def config() -> ModelConfig:
    return tiny(**VOCAB, d_model=32, n_heads=4, d_ff=64, dropout=0.0, max_positions=48)


@pytest.fixture
def model(config: ModelConfig) -> PinhanModel:
    torch.manual_seed(0)
    return PinhanModel(config).eval()


def _make_batch(
    config: ModelConfig,
    tasks: Sequence[int] = (ids.TASK_P2H, ids.TASK_H2P, ids.TASK_GEN, ids.TASK_P2H),
    context_lens: Sequence[int] | None = None,
    target_lens: Sequence[int] | None = None,
    n_cands: int | None = None,
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """Build a consistent random training batch.

    Encoder rows are ``context + target`` then padding; the decoder sees BOS then the previous
    target pair; p2h/gen targets have masked hanzi, h2p targets have unknown pinyin.
    """
    g = torch.Generator().manual_seed(seed)
    B = len(tasks)
    context_lens = list(context_lens or [int(x) for x in torch.randint(0, 6, (B,), generator=g)])
    target_lens = list(target_lens or [int(x) for x in torch.randint(1, 7, (B,), generator=g)])
    S = max(c + t for c, t in zip(context_lens, target_lens, strict=True))
    T = max(target_lens)

    def rand(low: int, high: int, *shape: int) -> torch.Tensor:
        return torch.randint(low, high, shape, generator=g)

    b = {k: torch.zeros(B, S, dtype=torch.long) for k in
         ("enc_chars", "enc_initials", "enc_finals", "enc_tones", "enc_segments")}  # fmt: skip
    b.update({k: torch.zeros(B, T, dtype=torch.long) for k in
              ("dec_chars", "dec_initials", "dec_finals", "dec_tones")})  # fmt: skip
    b["tgt_chars"] = torch.full((B, T), ids.IGNORE)
    b["tgt_syllables"] = torch.full((B, T), ids.IGNORE)
    b["enc_tgt_chars"] = torch.full((B, S), ids.IGNORE)
    b["task"] = torch.tensor(list(tasks))
    for i, (task, c, t) in enumerate(zip(tasks, context_lens, target_lens, strict=True)):
        chars = rand(ids.FIRST_REGULAR, config.n_chars, c + t)
        inits = rand(ids.N_FACTOR_SPECIAL, config.n_initials, c + t)
        finals = rand(ids.N_FACTOR_SPECIAL, config.n_finals, c + t)
        tones = rand(ids.N_FACTOR_SPECIAL, config.n_tones, c + t)
        b["enc_segments"][i, :c] = ids.SEG_CONTEXT
        b["enc_segments"][i, c : c + t] = ids.SEG_TARGET
        b["enc_chars"][i, : c + t] = chars
        b["enc_initials"][i, : c + t] = inits
        b["enc_finals"][i, : c + t] = finals
        b["enc_tones"][i, : c + t] = tones
        if task == ids.TASK_H2P:  # hanzi known, pinyin masked
            b["enc_initials"][i, c : c + t] = ids.UNKNOWN
            b["enc_finals"][i, c : c + t] = ids.UNKNOWN
            b["enc_tones"][i, c : c + t] = ids.UNKNOWN
        else:  # p2h / gen: hanzi masked
            b["enc_chars"][i, c : c + t] = ids.MASK
            b["enc_tgt_chars"][i, c : c + t] = chars[c:]
        if task == ids.TASK_GEN:  # no pinyin hint
            b["enc_initials"][i, c : c + t] = ids.UNKNOWN
            b["enc_finals"][i, c : c + t] = ids.UNKNOWN
            b["enc_tones"][i, c : c + t] = ids.UNKNOWN
        b["tgt_chars"][i, :t] = chars[c:]
        b["tgt_syllables"][i, :t] = rand(ids.FIRST_REGULAR, config.n_syllables, t)
        b["dec_chars"][i, 0] = ids.BOS
        b["dec_chars"][i, 1:t] = chars[c : c + t - 1]
        b["dec_initials"][i, 1:t] = inits[c : c + t - 1]
        b["dec_finals"][i, 1:t] = finals[c : c + t - 1]
        b["dec_tones"][i, 1:t] = tones[c : c + t - 1]
    if n_cands is not None:
        b["tgt_char_cands"] = _cands(b["tgt_chars"], config.n_chars, n_cands, g)
        b["enc_tgt_char_cands"] = _cands(b["enc_tgt_chars"], config.n_chars, n_cands, g)
    return b


def _cands(gold: torch.Tensor, n_chars: int, C: int, g: torch.Generator) -> torch.Tensor:
    """(…, C) candidate lists: the gold plus random distinct ids, shuffled, some -1 padding."""
    out = torch.full((*gold.shape, C), -1, dtype=torch.long)
    for idx in torch.nonzero(gold != ids.IGNORE).tolist():
        pool = torch.randperm(n_chars - ids.FIRST_REGULAR, generator=g) + ids.FIRST_REGULAR
        k = int(torch.randint(1, C + 1, (1,), generator=g))  # list length 1..C
        others = [int(x) for x in pool if int(x) != int(gold[tuple(idx)])][: k - 1]
        ids_ = torch.tensor([int(gold[tuple(idx)]), *others])
        out[tuple(idx)][:k] = ids_[torch.randperm(k, generator=g)]
    return out


@pytest.fixture
def make_batch(config: ModelConfig) -> Callable[..., dict[str, torch.Tensor]]:
    def make(**kwargs):
        return _make_batch(config, **kwargs)

    return make
