"""The mixed objective: keys, per-task heads, ignore index, restricted softmax, learning."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from pinhan.model import LOSS_KEYS, DecoderInputs, EncoderInputs, LossWeights, PinhanModel, ids


def _manual_losses(model, batch):
    """The objective written out with full softmaxes and F.cross_entropy(ignore_index=-100)."""
    enc = model.encode(EncoderInputs.from_batch(batch))
    h, _ = model.decode(DecoderInputs.from_batch(batch), enc.memory, enc.mask)
    char_lp = model.char_logits(h)  # (B, T, V)
    syl_lp = model.syllable_logits(h)  # (B, T, Vs)
    h2p = (batch["task"] == ids.TASK_H2P)[:, None]  # (B, 1)
    tc, ts = batch["tgt_chars"], batch["tgt_syllables"]
    ignore = torch.full_like(tc, ids.IGNORE)
    # main: hanzi targets of p2h/gen rows + syllable targets of h2p rows (one token-level mean)
    main_c = torch.where(h2p, ignore, tc)
    main_s = torch.where(h2p, ts, ignore)
    cross_c = torch.where(h2p, tc, ignore)
    cross_s = torch.where(h2p, ignore, ts)

    def ce_sum(logits, tgt):
        return F.cross_entropy(logits.flatten(0, 1), tgt.flatten(), reduction="sum"), (
            tgt != -100
        ).sum()

    (a, na), (b, nb) = ce_sum(char_lp, main_c), ce_sum(syl_lp, main_s)
    (c, nc), (d, nd) = ce_sum(char_lp, cross_c), ce_sum(syl_lp, cross_s)
    nar = F.cross_entropy(
        model.encoder_char_logits(enc.memory).flatten(0, 1), batch["enc_tgt_chars"].flatten()
    )
    return {"main": (a + b) / (na + nb), "cross": (c + d) / (nc + nd), "nar": nar}


def test_losses_present_finite_and_match_manual(model, make_batch):
    batch = make_batch()  # mixed p2h, h2p, gen, p2h
    losses = model(batch)
    assert set(losses) == set(LOSS_KEYS)
    for key, value in losses.items():
        assert value.dim() == 0 and torch.isfinite(value), key
    expected = _manual_losses(model, batch)
    for key in ("main", "cross", "nar"):
        torch.testing.assert_close(losses[key], expected[key], atol=1e-5, rtol=1e-5)
    w = LossWeights()
    torch.testing.assert_close(
        losses["total"], w.main * losses["main"] + w.cross * losses["cross"] + w.nar * losses["nar"]
    )


def test_weights_change_total_only(model, make_batch):
    batch = make_batch()
    default = model(batch)
    custom = model(batch, LossWeights(main=2.0, cross=0.0, nar=1.0))
    for key in ("main", "cross", "nar"):
        torch.testing.assert_close(custom[key], default[key])
    torch.testing.assert_close(custom["total"], 2 * default["main"] + default["nar"])
    with pytest.raises(ValueError, match="cross"):
        LossWeights(cross=-1.0)
    with pytest.raises(ValueError, match="extra"):
        LossWeights.from_dict({"main": 1.0, "extra": 2.0})
    assert LossWeights.from_dict(LossWeights(nar=0.5).to_dict()) == LossWeights(nar=0.5)


def test_task_selects_the_main_head(model, make_batch):
    p2h = make_batch(tasks=[ids.TASK_P2H] * 3, seed=3)
    h2p = {k: v.clone() for k, v in p2h.items()}
    h2p["task"][:] = ids.TASK_H2P
    a, b = model(p2h), model(h2p)
    # the same outputs are scored; only the roles of the two heads swap (the encoder sees a
    # different task embedding, so compare against the manual objective rather than each other)
    for batch, losses in ((p2h, a), (h2p, b)):
        expected = _manual_losses(model, batch)
        for key in ("main", "cross"):
            torch.testing.assert_close(losses[key], expected[key], atol=1e-5, rtol=1e-5)
    enc = model.encode(EncoderInputs.from_batch(h2p))
    h, _ = model.decode(DecoderInputs.from_batch(h2p), enc.memory, enc.mask)
    syl = F.cross_entropy(model.syllable_logits(h).flatten(0, 1), h2p["tgt_syllables"].flatten())
    torch.testing.assert_close(b["main"], syl, atol=1e-5, rtol=1e-5)


def test_ignore_index_respected(model, make_batch):
    batch = make_batch(target_lens=[5, 5, 5, 5])
    batch["tgt_chars"][:, 2] = ids.IGNORE
    batch["tgt_syllables"][0, :] = ids.IGNORE
    batch["enc_tgt_chars"][:, :3] = ids.IGNORE
    losses = model(batch)
    expected = _manual_losses(model, batch)
    for key in ("main", "cross", "nar"):
        torch.testing.assert_close(losses[key], expected[key], atol=1e-5, rtol=1e-5)
    # ids at ignored positions never matter, even out-of-vocabulary ones
    other = {k: v.clone() for k, v in batch.items()}
    other["dec_chars"] = torch.cat([other["dec_chars"], torch.full((4, 2), 7)], 1)
    for k in ("dec_initials", "dec_finals", "dec_tones"):
        other[k] = torch.cat([other[k], torch.full((4, 2), 2)], 1)
    for k in ("tgt_chars", "tgt_syllables"):
        other[k] = torch.cat([other[k], torch.full((4, 2), ids.IGNORE)], 1)
    for key, value in model(other).items():
        torch.testing.assert_close(value, losses[key], atol=1e-5, rtol=1e-5)


def test_no_targets_gives_zero_losses_with_gradients(model, make_batch):
    batch = make_batch(tasks=[ids.TASK_H2P, ids.TASK_H2P])  # h2p rows have no NAR targets
    losses = model(batch)
    assert losses["nar"].item() == 0.0
    batch["tgt_chars"][:] = ids.IGNORE
    batch["tgt_syllables"][:] = ids.IGNORE
    losses = model(batch)
    assert losses["main"].item() == 0.0 and losses["cross"].item() == 0.0
    losses["total"].backward()  # still part of the graph


def test_every_parameter_gets_a_gradient(model, make_batch):
    model.train()
    model(make_batch(n_cands=5))["total"].backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name


def test_restricted_equals_full_when_candidates_are_the_whole_vocabulary(model, config, make_batch):
    batch = make_batch()
    full = model(batch)
    everything = torch.arange(config.n_chars)
    with_cands = dict(batch)
    with_cands["tgt_char_cands"] = everything.expand(*batch["tgt_chars"].shape, -1)
    with_cands["enc_tgt_char_cands"] = everything.flip(0).expand(*batch["enc_tgt_chars"].shape, -1)
    restricted = model(with_cands)
    for key in LOSS_KEYS:
        torch.testing.assert_close(restricted[key], full[key], atol=1e-5, rtol=1e-5)


def test_smaller_candidate_sets_give_smaller_losses(model, make_batch):
    batch = make_batch(n_cands=4)
    restricted = model(batch)
    full = model({k: v for k, v in batch.items() if "cands" not in k})
    for key in ("nar", "total"):
        assert restricted[key] < full[key] - 1e-3, key
    # the hanzi part of main (p2h/gen rows) and cross (h2p rows) can only shrink
    assert restricted["main"] <= full["main"] + 1e-6
    assert restricted["cross"] <= full["cross"] + 1e-6


def test_gold_outside_candidates_is_an_error(model, make_batch):
    batch = make_batch(n_cands=3)
    valid = batch["tgt_chars"] != ids.IGNORE
    batch["tgt_char_cands"][valid] = torch.where(
        batch["tgt_char_cands"][valid] == batch["tgt_chars"][valid][:, None], 1,
        batch["tgt_char_cands"][valid],
    )  # fmt: skip
    with pytest.raises(ValueError, match="tgt_chars"):
        model(batch)
    with pytest.raises(ValueError, match="tgt_char_cands|candidates"):
        bad = make_batch(n_cands=3)
        bad["tgt_char_cands"] = bad["tgt_char_cands"][:, :, None]
        model(bad)


def test_missing_batch_keys_are_named(model, make_batch):
    batch = make_batch()
    del batch["enc_tgt_chars"]
    with pytest.raises(KeyError, match="enc_tgt_chars"):
        model(batch)


@pytest.mark.parametrize("restricted", [False, True])
def test_tiny_model_overfits_a_fixed_batch(config, make_batch, restricted):
    torch.manual_seed(0)
    model = PinhanModel(config).train()
    batch = make_batch(n_cands=8 if restricted else None, seed=5)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(120):
        loss = model(batch)["total"]
        first = first if first is not None else loss.item()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        last = model(batch)["total"].item()
    assert last < 0.2 * first, (first, last)


def test_full_flag_scores_those_steps_over_the_whole_vocabulary(model, make_batch):
    """Steps flagged tgt_char_full (continuations) ignore their candidate list."""
    batch = make_batch(n_cands=4)
    valid = batch["tgt_chars"] != ids.IGNORE
    plain = {k: v for k, v in batch.items() if k not in ("tgt_char_cands",)}
    flagged = dict(batch, tgt_char_full=valid.clone())  # every step full: same as no candidates
    torch.manual_seed(0)
    assert torch.allclose(model(flagged)["main"], model(plain)["main"], atol=1e-5)
    part = valid.clone()
    part[0] = False  # first row restricted, the rest full: differs from both
    mixed = model(dict(batch, tgt_char_full=part))["main"]
    assert not torch.allclose(mixed, model(plain)["main"]) and not torch.allclose(mixed, model(batch)["main"])
