"""PinhanModel: shapes, padding invariance, causality, KV-cached decoding."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from pinhan.model import DecoderInputs, EncoderInputs, PinhanModel

FACTORS = ("chars", "initials", "finals", "tones")


def _enc(batch):
    return EncoderInputs.from_batch(batch)


def _dec(batch):
    return DecoderInputs.from_batch(batch)


def _pad(t: torch.Tensor, extra: int, value: int = 0, dim: int = 1) -> torch.Tensor:
    """Append ``extra`` positions of ``value`` along ``dim``."""
    shape = list(t.shape)
    shape[dim] = extra
    return torch.cat([t, torch.full(shape, value, dtype=t.dtype)], dim=dim)


def test_output_shapes(model, config, make_batch):
    batch = make_batch()
    B, S = batch["enc_chars"].shape
    T = batch["dec_chars"].shape[1]
    enc = model.encode(_enc(batch))
    assert enc.memory.shape == (B, S, config.d_model)
    assert enc.mask.shape == (B, S) and enc.mask.dtype == torch.bool
    assert torch.equal(enc.mask, batch["enc_segments"] != 0)
    h, cache = model.decode(_dec(batch), enc.memory, enc.mask)
    assert h.shape == (B, T, config.d_model)
    assert cache.length == T and cache.batch_size == B
    assert len(cache.layers) == config.n_decoder_layers
    dh = config.d_model // config.n_heads
    assert cache.layers[0].self_k.shape == (B, config.n_heads, T, dh)
    assert cache.layers[0].cross_v.shape == (B, config.n_heads, S, dh)
    assert model.char_logits(h).shape == (B, T, config.n_chars)
    assert model.syllable_logits(h).shape == (B, T, config.n_syllables)
    assert model.encoder_char_logits(enc.memory).shape == (B, S, config.n_chars)
    cands = torch.randint(0, config.n_chars, (B, T, 5))
    assert model.char_logits(h, cands).shape == (B, T, 5)
    assert model.encoder_char_logits(enc.memory, torch.randint(0, 9, (B, S, 3))).shape == (B, S, 3)
    assert model.syllable_logits(h, torch.randint(0, 9, (B, T, 2))).shape == (B, T, 2)


def test_mapping_inputs_equal_dataclass_inputs(model, make_batch):
    batch = make_batch()
    a = model.encode(_enc(batch))
    plain = {k: batch["enc_" + k] for k in (*FACTORS, "segments")} | {"task": batch["task"]}
    b = model.encode(plain)
    torch.testing.assert_close(a.memory, b.memory, rtol=0, atol=0)
    ha, _ = model.decode(_dec(batch), a.memory, a.mask)
    hb, _ = model.decode({k: batch["dec_" + k] for k in FACTORS}, a.memory, a.mask)
    torch.testing.assert_close(ha, hb, rtol=0, atol=0)


def test_the_encoder_can_stop_after_its_first_layers(model, config, make_batch):
    """``layers=k``: the first k layers, then the final norm (what a polyphone head of depth k reads)."""
    enc = _enc(make_batch())
    assert config.n_encoder_layers >= 2
    x = model.embed.encoder(enc.chars, enc.initials, enc.finals, enc.tones, enc.segments, enc.task)
    from pinhan.model.layers import key_padding_mask

    mask = key_padding_mask(enc.segments != 0)
    want = model.encoder_norm(model.encoder_layers[0](x, mask))
    torch.testing.assert_close(model.encode(enc, layers=1).memory, want)
    torch.testing.assert_close(model.encode(enc, layers=config.n_encoder_layers).memory, model.encode(enc).memory)
    assert not torch.allclose(model.encode(enc, layers=1).memory, model.encode(enc).memory)


@pytest.mark.parametrize("layers", [None, 1, 0])
def test_encode_at_equals_the_whole_encoder_gathered(model, config, make_batch, layers):
    """Only the last layer's queries and feed-forward are cut to the chosen positions; every
    position still gives keys and values, so the states equal the whole encoder's there, padded
    rows and repeated positions included."""
    enc = _enc(make_batch())
    B, S = enc.chars.shape
    memory = model.encode(enc, layers=layers).memory  # (B, S, d)
    rows = torch.tensor([B - 1, 0, 0, 1, 1, 0])  # any order, a row twice over, a position twice over
    positions = torch.tensor([1, S - 1, 0, 2, 2, 3])
    got = model.encode_at(enc, rows, positions, layers=layers)
    assert got.shape == (len(rows), config.d_model)
    torch.testing.assert_close(got, memory[rows, positions], rtol=1e-5, atol=1e-5)
    other = model.encode_at(enc, rows, positions, layers=1 if layers is None else None)
    assert layers == 0 or not torch.allclose(got, other)  # the depth is honoured


def test_untied_heads(config, make_batch):
    torch.manual_seed(0)
    model = PinhanModel(config.replace(tie_char_embeddings=False)).eval()
    assert model.char_output_weight() is not model.embed.chars.weight
    tied = PinhanModel(config)
    assert tied.char_output_weight() is tied.embed.chars.weight
    assert model.num_parameters() == tied.num_parameters() + config.n_chars * config.d_model
    losses = model(make_batch())
    assert torch.isfinite(losses["total"])


def test_encoder_padding_does_not_change_real_positions(model, make_batch):
    batch = make_batch()
    enc = model.encode(_enc(batch))
    g = torch.Generator().manual_seed(1)
    padded = {}
    for k in ("enc_chars", "enc_initials", "enc_finals", "enc_tones"):
        # garbage ids at padding positions: the mask alone must keep them out
        padded[k] = torch.cat(
            [batch[k], torch.randint(2, 7, (batch[k].shape[0], 5), generator=g)], 1
        )
    padded["enc_segments"] = _pad(batch["enc_segments"], 5)
    padded["task"] = batch["task"]
    enc2 = model.encode(EncoderInputs.from_batch(padded))
    real = enc.mask
    torch.testing.assert_close(
        enc2.memory[:, : real.shape[1]][real], enc.memory[real], atol=1e-5, rtol=1e-5
    )
    # and the decoder, reading the padded memory, is unchanged too
    h, _ = model.decode(_dec(batch), enc.memory, enc.mask)
    h2, _ = model.decode(_dec(batch), enc2.memory, enc2.mask)
    torch.testing.assert_close(h2, h, atol=1e-5, rtol=1e-5)


def test_empty_example_gives_finite_outputs(model, make_batch):
    batch = make_batch()
    batch["enc_segments"][1] = 0  # an example with no real encoder position
    enc = model.encode(_enc(batch))
    h, _ = model.decode(_dec(batch), enc.memory, enc.mask)
    assert torch.isfinite(enc.memory).all() and torch.isfinite(h).all()


def test_decoder_right_padding_does_not_change_earlier_steps(model, make_batch):
    batch = make_batch()
    enc = model.encode(_enc(batch))
    h, _ = model.decode(_dec(batch), enc.memory, enc.mask)
    longer = DecoderInputs(*(_pad(batch["dec_" + k], 3) for k in FACTORS))
    h2, _ = model.decode(longer, enc.memory, enc.mask)
    torch.testing.assert_close(h2[:, : h.shape[1]], h, atol=1e-5, rtol=1e-5)


def test_decoder_is_causal(model, make_batch):
    batch = make_batch(target_lens=[6, 6, 6, 6])
    enc = model.encode(_enc(batch))
    dec = _dec(batch)
    h, _ = model.decode(dec, enc.memory, enc.mask)
    t = 3
    changed = DecoderInputs(*(x.clone() for x in (dec.chars, dec.initials, dec.finals, dec.tones)))
    changed.chars[:, t + 1 :] = torch.randint(5, 40, changed.chars[:, t + 1 :].shape)
    changed.tones[:, t + 1 :] = 4
    h2, _ = model.decode(changed, enc.memory, enc.mask)
    torch.testing.assert_close(h2[:, : t + 1], h[:, : t + 1], atol=1e-6, rtol=1e-6)
    assert not torch.allclose(h2[:, t + 1 :], h[:, t + 1 :])


def _step(dec: DecoderInputs, start: int, stop: int) -> DecoderInputs:
    return DecoderInputs(
        *(x[:, start:stop] for x in (dec.chars, dec.initials, dec.finals, dec.tones))
    )


def _rows(dec: DecoderInputs, index: torch.Tensor) -> DecoderInputs:
    return DecoderInputs(*(x[index] for x in (dec.chars, dec.initials, dec.finals, dec.tones)))


def test_cached_decoding_equals_full_decoding(model, make_batch):
    batch = make_batch(target_lens=[6, 3, 5, 6])
    enc = model.encode(_enc(batch))
    dec = _dec(batch)
    T = dec.chars.shape[1]
    full, _ = model.decode(dec, enc.memory, enc.mask)
    full_char, full_syl = model.char_logits(full), model.syllable_logits(full)
    cache = None
    for t in range(T):
        memory = enc.memory if cache is None else None  # memory is projected once, then cached
        h, cache = model.decode(_step(dec, t, t + 1), memory, enc.mask, cache=cache)
        assert cache.length == t + 1
        torch.testing.assert_close(
            model.char_logits(h)[:, 0], full_char[:, t], atol=1e-5, rtol=1e-5
        )
        torch.testing.assert_close(
            model.syllable_logits(h)[:, 0], full_syl[:, t], atol=1e-5, rtol=1e-5
        )


def test_cached_decoding_in_chunks(model, make_batch):
    batch = make_batch(target_lens=[6, 6, 6, 6])
    enc = model.encode(_enc(batch))
    dec = _dec(batch)
    full, _ = model.decode(dec, enc.memory, enc.mask)
    h1, cache = model.decode(_step(dec, 0, 2), enc.memory, enc.mask)
    h2, cache = model.decode(_step(dec, 2, 6), None, enc.mask, cache=cache)  # 4 steps at once
    torch.testing.assert_close(torch.cat([h1, h2], 1), full, atol=1e-5, rtol=1e-5)


def test_decode_step_equals_cached_decoding(model, config, make_batch):
    """The one-step path on stacked tensors (torch runner, ONNX export) equals ``decode``."""
    batch = make_batch(target_lens=[6, 3, 5, 6])
    enc = model.encode(_enc(batch))
    dec = _dec(batch)
    B, H, dh = dec.chars.shape[0], config.n_heads, config.d_model // config.n_heads
    cross_k, cross_v = model.cross_kv(enc.memory)
    assert cross_k.shape == (config.n_decoder_layers, B, H, enc.memory.shape[1], dh)
    self_k = self_v = cross_k.new_zeros((config.n_decoder_layers, B, H, 0, dh))
    cache = None
    for t in range(dec.chars.shape[1]):
        memory = enc.memory if cache is None else None
        want, cache = model.decode(_step(dec, t, t + 1), memory, enc.mask, cache=cache)
        h, self_k, self_v = model.decode_step(
            _step(dec, t, t + 1), torch.tensor([t]), self_k, self_v, cross_k, cross_v, enc.mask
        )
        torch.testing.assert_close(h, want[:, 0], atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(self_k[-1], cache.layers[-1].self_k, atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(self_v[0], cache.layers[0].self_v, atol=1e-6, rtol=1e-6)


def test_cache_index_select_reorders_rows(model, make_batch):
    batch = make_batch(target_lens=[4, 4, 4, 4])
    enc = model.encode(_enc(batch))
    dec = _dec(batch)
    _, cache = model.decode(_step(dec, 0, 3), enc.memory, enc.mask)
    order = torch.tensor([2, 0, 0, 3])
    h, _ = model.decode(_step(dec, 3, 4), None, enc.mask, cache=cache)
    h_sel, _ = model.decode(
        _rows(_step(dec, 3, 4), order), None, enc.mask[order], cache=cache.index_select(order)
    )
    torch.testing.assert_close(h_sel, h[order], atol=1e-6, rtol=1e-6)


def test_errors(model, config, make_batch):
    batch = make_batch()
    enc = model.encode(_enc(batch))
    too_long = torch.zeros(1, config.max_positions + 1, dtype=torch.long)
    with pytest.raises(ValueError, match="max_positions"):
        model.decode(
            DecoderInputs(too_long, too_long, too_long, too_long), enc.memory[:1], enc.mask[:1]
        )
    bad = dict(batch)
    bad["enc_tones"] = bad["enc_tones"][:, :-1]
    with pytest.raises(ValueError, match="tones"):
        model.encode(EncoderInputs.from_batch(bad))
    del bad["enc_tones"]
    with pytest.raises(KeyError, match="enc_tones"):
        EncoderInputs.from_batch(bad)
    _, cache = model.decode(_step(_dec(batch), 0, 1), enc.memory, enc.mask)
    with pytest.raises(ValueError, match="cache holds"):
        model.decode(
            _rows(_step(_dec(batch), 1, 2), torch.tensor([0, 1])), None, enc.mask[:2], cache=cache
        )
    with pytest.raises(ValueError, match="memory is required"):
        model.decode(_step(_dec(batch), 0, 1), None, enc.mask)


def test_candidate_logits_match_full_logits(model, config, make_batch):
    batch = make_batch()
    enc = model.encode(_enc(batch))
    h, _ = model.decode(_dec(batch), enc.memory, enc.mask)
    B, T, _ = h.shape
    cands = torch.randint(0, config.n_chars, (B, T, 7))
    cands[..., -1] = -1  # padding
    full = model.char_logits(h)
    restricted = model.char_logits(h, cands)
    torch.testing.assert_close(
        restricted[..., :-1], full.gather(-1, cands[..., :-1]), atol=1e-5, rtol=1e-5
    )
    assert (restricted[..., -1] == torch.finfo(restricted.dtype).min).all()
    # padding never wins a softmax
    assert (F.softmax(restricted, -1)[..., -1] == 0).all()
