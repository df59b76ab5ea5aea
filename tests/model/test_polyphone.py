import json
from dataclasses import asdict

import numpy as np
import pytest
import torch

from pinhan.model.io import CheckpointError
from pinhan.model.polyphone import PolyphoneConfig, PolyphoneHead, load_polyphone


def _head(n_pairs=3):
    torch.manual_seed(0)
    config = PolyphoneConfig(d_model=8, n_chars=20, n_syllables=12, n_pairs=n_pairs, dim=4, pair_dim=2)
    head = PolyphoneHead(config, np.array([[5, 1], [5, 2], [7, 3]][:n_pairs]))
    with torch.no_grad():
        for p in head.parameters():
            p.normal_()
    return head


def _unread_rows_zeroed(head):
    """The head as its file keeps it: rows of S that no pair reads are not stored (zeros)."""
    with torch.no_grad():
        keep = torch.zeros(head.config.n_syllables, dtype=torch.bool)
        keep[head.pairs[:, 1]] = True
        head.syllable_emb.weight[~keep] = 0
    return head


def test_saved_head_scores_as_the_torch_head(tmp_path):
    head = _head()
    head.save(tmp_path / "p.safetensors", recipe={"why": "test"})
    scorer = load_polyphone(tmp_path / "p.safetensors", n_chars=20, n_syllables=12, d_model=8)
    assert scorer.trained_chars == {5, 7} and scorer.recipe == {"why": "test"}
    h = torch.randn(8)
    _unread_rows_zeroed(head)
    for char, syllables in ((5, [1, 2, 9]), (7, [3, 1]), (11, [4, 6])):  # 11 and (5, 9): unseen pairs
        want = head(h.half().float()[None], torch.tensor([syllables]), torch.tensor(scorer.pair_rows(char, np.array(syllables))[None]))[0]
        got = scorer.scores(h.numpy().astype(np.float16).astype(np.float32), char, np.array(syllables))
        np.testing.assert_allclose(got, want.detach().numpy(), atol=0.05)  # weights stored as float16
    assert list(scorer.pair_rows(5, np.array([2, 9]))) == [1, 3]


def test_scoring_many_positions_at_once_is_scoring_each(tmp_path):
    _head().save(tmp_path / "p.safetensors")
    scorer = load_polyphone(tmp_path / "p.safetensors", n_chars=20, n_syllables=12, d_model=8)
    h = np.random.default_rng(0).normal(size=(3, 8)).astype(np.float32)
    chars, options = [5, 7, 11], [np.array([1, 2, 9]), np.array([3, 1]), np.array([4, 6])]
    for got, state, char, syllables in zip(scorer.scores_many(h, chars, options), h, chars, options):
        np.testing.assert_allclose(got, scorer.scores(state, char, syllables), rtol=1e-6)


def test_padding_candidates_never_win():
    head = _head()
    scores = head(torch.randn(2, 8), torch.tensor([[1, -1], [3, 2]]), torch.tensor([[0, 3], [2, 3]]))
    assert scores[0, 1] < -1e8 and scores.argmax(-1)[0] == 0


def test_a_head_for_another_model_or_a_bad_file_is_refused(tmp_path):
    _head().save(tmp_path / "p.safetensors")
    with pytest.raises(CheckpointError, match="made for another model"):
        load_polyphone(tmp_path / "p.safetensors", n_chars=21, n_syllables=12, d_model=8)
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="cannot read the polyphone head"):
        load_polyphone(tmp_path / "bad.safetensors", n_chars=20, n_syllables=12, d_model=8)
    from safetensors.numpy import save_file

    save_file({"x": np.zeros(1, np.float32)}, str(tmp_path / "other.safetensors"), metadata={"format": "other"})
    with pytest.raises(CheckpointError, match="not a pinhan polyphone head"):
        load_polyphone(tmp_path / "other.safetensors", n_chars=20, n_syllables=12, d_model=8)


def test_config_is_checked():
    with pytest.raises(CheckpointError, match="dim must be a positive integer"):
        PolyphoneConfig(d_model=8, n_chars=2, n_syllables=2, n_pairs=0, dim=0)


def test_a_head_with_neighbours_reads_wider_states_and_old_files_read_none(tmp_path):
    torch.manual_seed(0)
    config = PolyphoneConfig(d_model=8, n_chars=20, n_syllables=12, n_pairs=2, dim=4, pair_dim=2, window=2)
    assert config.input_dim == 40
    head = PolyphoneHead(config, np.array([[5, 1], [5, 2]]))
    head.save(tmp_path / "p.safetensors")
    scorer = load_polyphone(tmp_path / "p.safetensors", n_chars=20, n_syllables=12, d_model=8)
    assert scorer.config.window == 2
    h = torch.randn(40)
    want = head(h.half().float()[None], torch.tensor([[1, 2]]), torch.tensor(scorer.pair_rows(5, np.array([1, 2]))[None]))[0]
    np.testing.assert_allclose(scorer.scores(h.numpy().astype(np.float16).astype(np.float32), 5, np.array([1, 2])),
                               want.detach().numpy(), atol=0.05)
    # a head written before the window existed has no "window" in its config: it reads one state
    assert PolyphoneConfig(d_model=8, n_chars=2, n_syllables=2, n_pairs=0).window == 0
    with pytest.raises(CheckpointError, match="window must be a whole number >= 0"):
        PolyphoneConfig(d_model=8, n_chars=2, n_syllables=2, n_pairs=0, window=-1)


def test_a_head_names_the_encoder_depth_it_reads(tmp_path):
    from pinhan.model.polyphone import head_encoder_layers

    config = PolyphoneConfig(d_model=8, n_chars=20, n_syllables=12, n_pairs=2, dim=4, pair_dim=2, encoder_layers=2)
    assert config.layers == 2 and PolyphoneConfig(d_model=8, n_chars=2, n_syllables=2, n_pairs=0).layers is None  # 0: all
    PolyphoneHead(config, np.array([[5, 1], [5, 2]])).save(tmp_path / "p.safetensors")
    assert head_encoder_layers(tmp_path / "p.safetensors") == 2
    assert load_polyphone(tmp_path / "p.safetensors", n_chars=20, n_syllables=12, d_model=8, n_encoder_layers=2).config.layers == 2
    with pytest.raises(CheckpointError, match="reads the states of encoder layer 2; the model has 1 encoder layers"):
        load_polyphone(tmp_path / "p.safetensors", n_chars=20, n_syllables=12, d_model=8, n_encoder_layers=1)
    _head().save(tmp_path / "old.safetensors")  # written before the depth existed: all layers
    assert head_encoder_layers(tmp_path / "old.safetensors") == 0
    (tmp_path / "bad.safetensors").write_bytes(b"no")
    with pytest.raises(CheckpointError, match="cannot read the polyphone head"):
        head_encoder_layers(tmp_path / "bad.safetensors")


def test_merged_heads_score_the_mean_of_their_scores(tmp_path):
    from pinhan.model.polyphone import merge_heads

    heads = []
    for seed in (1, 2, 3):
        torch.manual_seed(seed)
        config = PolyphoneConfig(d_model=8, n_chars=20, n_syllables=12, n_pairs=3, dim=4, pair_dim=2, window=1)
        head = PolyphoneHead(config, np.array([[5, 1], [5, 2], [7, 3]]))
        with torch.no_grad():
            for p in head.parameters():
                p.normal_()
        heads.append(head.eval())
    merged = merge_heads(heads)
    assert (merged.config.dim, merged.config.pair_dim, merged.config.window) == (12, 6, 1)
    h, syllables, rows = torch.randn(5, 24), torch.tensor([[1, 2, 9]] * 5), torch.tensor([[0, 1, 3]] * 5)
    with torch.no_grad():
        mean = sum(head(h, syllables, rows) for head in heads) / 3
        np.testing.assert_allclose(merged(h, syllables, rows).numpy(), mean.numpy(), rtol=1e-5, atol=1e-5)
        # the mean of the scores ranks candidates as the mean of the log-softmaxes does
        ranked = sum(torch.log_softmax(head(h, syllables, rows), -1) for head in heads)
        assert torch.equal(mean.argmax(-1), ranked.argmax(-1))
    merged.save(tmp_path / "m.safetensors")
    scorer = load_polyphone(tmp_path / "m.safetensors", n_chars=20, n_syllables=12, d_model=8)
    state = h[0].half().float()
    _unread_rows_zeroed(merged)
    with torch.no_grad():
        want = merged(state[None], syllables[:1], torch.tensor(scorer.pair_rows(5, np.array([1, 2, 9]))[None]))[0]
    np.testing.assert_allclose(scorer.scores(state.numpy(), 5, np.array([1, 2, 9])), want.numpy(), atol=0.05)
    other = PolyphoneHead(PolyphoneConfig(d_model=8, n_chars=20, n_syllables=12, n_pairs=2, dim=4, pair_dim=2, window=1),
                          np.array([[5, 1], [5, 2]]))
    with pytest.raises(ValueError, match="differ in shape or pairs"):
        merge_heads([heads[0], other])


def test_a_file_stores_the_rows_of_read_syllables_only_and_old_files_still_load(tmp_path):
    from safetensors.numpy import load_file, save_file

    head = _head()
    head.save(tmp_path / "p.safetensors")
    stored = load_file(str(tmp_path / "p.safetensors"))
    assert list(stored["syllable_ids"]) == [1, 2, 3] and stored["syllable_emb"].shape == (3, 4)  # of 12 rows
    scorer = load_polyphone(tmp_path / "p.safetensors", n_chars=20, n_syllables=12, d_model=8)
    assert scorer.syllable_emb.shape == (12, 4) and not scorer.syllable_emb[[0, 4, 11]].any()
    np.testing.assert_allclose(scorer.syllable_emb[2], head.syllable_emb.weight[2].detach().numpy(), atol=0.01)
    # a version-1 file (every row of S) loads and scores as before
    old = {k: v for k, v in stored.items() if k != "syllable_ids"}
    old["syllable_emb"] = head.syllable_emb.weight.detach().numpy().astype(np.float16)
    meta = {"format": "pinhan-polyphone", "version": "1", "config": json.dumps(asdict(head.config)), "recipe": "{}"}
    save_file(old, str(tmp_path / "v1.safetensors"), metadata=meta)
    v1 = load_polyphone(tmp_path / "v1.safetensors", n_chars=20, n_syllables=12, d_model=8)
    h = np.random.default_rng(1).normal(size=8).astype(np.float32)
    np.testing.assert_allclose(v1.scores(h, 5, np.array([1, 2])), scorer.scores(h, 5, np.array([1, 2])), rtol=1e-6)
    # a version-2 file whose stored rows are wrong is named
    bad = dict(stored, syllable_ids=np.array([1, 2, 12], dtype=np.int32))
    save_file(bad, str(tmp_path / "bad.safetensors"), metadata={**meta, "version": "2"})
    with pytest.raises(CheckpointError, match="syllable_ids repeat or lie outside the vocabulary"):
        load_polyphone(tmp_path / "bad.safetensors", n_chars=20, n_syllables=12, d_model=8)
    save_file({k: v for k, v in stored.items() if k != "syllable_ids"}, str(tmp_path / "none.safetensors"),
              metadata={**meta, "version": "2"})
    with pytest.raises(CheckpointError, match="syllable_ids"):
        load_polyphone(tmp_path / "none.safetensors", n_chars=20, n_syllables=12, d_model=8)
    save_file(old, str(tmp_path / "v9.safetensors"), metadata={**meta, "version": "9"})
    with pytest.raises(CheckpointError, match="versions 1, 2"):
        load_polyphone(tmp_path / "v9.safetensors", n_chars=20, n_syllables=12, d_model=8)
