import json

import numpy as np
import pytest
import torch

from pinhan.data.tables import CandidateIndex, PinyinTables
from pinhan.infer.search.beam import beam_search, greedy_p2h
from pinhan.infer.search.constraints import P2HConstraint
from pinhan.infer.search.fast import nar_p2h
from pinhan.infer.inputs import P2HRequest, encode_p2h, toneless_keys
from pinhan.infer.runner import TorchRunner
from pinhan.model import ids


@pytest.fixture(scope="module")
def setup(prepared_tiny, untrained):
    vocab, lexicon, model = untrained
    items = [json.loads(line) for line in (prepared_tiny / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    requests = [P2HRequest(toneless_keys(vocab, it["pinyin"]), it["context"]) for it in items]
    requests.append(P2HRequest(toneless_keys(vocab, ["ni3", "hao3"]), ""))  # no context, short
    return vocab, lexicon, TorchRunner(model), requests


def test_outputs_are_readable_as_what_was_typed(setup):
    vocab, lexicon, runner, requests = setup
    index, tables = CandidateIndex(vocab, lexicon), PinyinTables(vocab)
    enc = encode_p2h(requests, vocab, tables, max_context=16)
    keys = [r.keys for r in requests]
    readings = lexicon.readings()
    for decode in (greedy_p2h, nar_p2h):
        rows = decode(runner, enc, keys, index, tables)
        assert [len(r) for r in rows] == [len(k) for k in keys]
        for row, k in zip(rows, keys):
            for char_id, key in zip(row, k):
                assert char_id >= ids.N_SPECIAL  # never a special token
                toneless = {r.rstrip("12345") for r in readings[vocab.chars[char_id]]}
                typed = vocab.initials[key[0]] + vocab.finals[key[1]]
                assert typed in toneless


def test_batched_equals_one_by_one_and_is_deterministic(setup):
    vocab, lexicon, runner, requests = setup
    index, tables = CandidateIndex(vocab, lexicon), PinyinTables(vocab)
    enc = encode_p2h(requests, vocab, tables, max_context=16)
    batched = greedy_p2h(runner, enc, [r.keys for r in requests], index, tables)
    assert batched == greedy_p2h(runner, enc, [r.keys for r in requests], index, tables)
    for request, expected in zip(requests, batched):
        single = encode_p2h([request], vocab, tables, max_context=16)
        assert greedy_p2h(runner, single, [request.keys], index, tables)[0] == expected


def test_context_is_encoded_before_the_target(setup):
    vocab, lexicon, runner, requests = setup
    enc = encode_p2h([P2HRequest(np.asarray(toneless_keys(vocab, ["zhong1"])), "银行")], vocab, PinyinTables(vocab), 64)
    assert enc["segments"].tolist() == [[ids.SEG_CONTEXT, ids.SEG_CONTEXT, ids.SEG_TARGET]]
    assert enc["chars"][0, :2].tolist() == [vocab.char_id("银"), vocab.char_id("行")]
    assert enc["chars"][0, 2] == ids.MASK and enc["tones"][0, 2] == ids.UNKNOWN
    assert vocab.tones[int(enc["tones"][0, 1])] == "2"  # 行 in 银行 is hang2: context pinyin is toned


def _uncached_logits(model, enc, row, tokens, keys, index, tables):
    """(T, V) hanzi logits of ``tokens`` for input ``row``, from one uncached decoder pass fed the
    tokens with the readings beam search feeds back."""
    factors = [(0, 0, 0)] + [tuple(tables.factors[index.reading(c, tuple(int(x) for x in k))]) for c, k in zip(tokens[:-1], keys)]
    dec = {name: torch.tensor([[f[i] for f in factors]]) for i, name in enumerate(("initials", "finals", "tones"))}
    dec["chars"] = torch.tensor([[ids.BOS] + list(tokens[:-1])])
    with torch.no_grad():
        out = model.encode({k: torch.from_numpy(v[row : row + 1]) for k, v in enc.items()})
        h, _ = model.decode(dec, out.memory, out.mask)
        return model.char_logits(h[0]).float()


@pytest.fixture(scope="module")
def p2h(setup):
    """(runner, model, index, tables, encoder batch, keys, constraint) for the setup's requests."""
    vocab, lexicon, runner, requests = setup
    index, tables = CandidateIndex(vocab, lexicon), PinyinTables(vocab)
    enc = encode_p2h(requests, vocab, tables, max_context=16)
    keys = [r.keys for r in requests]
    return runner, runner.model, index, tables, enc, keys, P2HConstraint(keys, index, tables)


def test_beam_search_scores_equal_uncached_decoding(setup, p2h):
    """Every hypothesis' score is its log-probability recomputed in one uncached decoder pass."""
    requests = setup[3]
    runner, model, index, tables, enc, keys, constraint = p2h
    beams, traces = beam_search(runner, runner.encode(enc), constraint, len(keys), beam_size=4, trace_width=6)
    greedy = greedy_p2h(runner, enc, keys, index, tables)
    for hyps, k in zip(beams, keys):
        scores = [h.score for h in hyps]
        assert scores == sorted(scores, reverse=True)
        assert len({tuple(h.tokens) for h in hyps}) == len(hyps)  # distinct hypotheses
        assert all(len(h.tokens) == len(k) for h in hyps)
    for row in (0, len(requests) - 1):
        for hyp in beams[row]:
            logp = torch.log_softmax(_uncached_logits(model, enc, row, hyp.tokens, keys[row], index, tables), dim=-1)
            total = 0.0
            for t, c in enumerate(hyp.tokens):
                assert c in constraint.allowed(row, t)
                total += float(logp[t, c])
            assert total == pytest.approx(hyp.score, abs=1e-4)
        # the trace holds the best partial hypotheses, best first, the final beam's prefixes among them
        trace = traces[row]
        assert len(trace.steps) == len(keys[row])
        for t, entries in enumerate(trace.steps):
            assert all(len(tokens) == t + 1 for tokens, _ in entries)
            assert [s for _, s in entries] == sorted((s for _, s in entries), reverse=True)
        assert tuple(beams[row][0].tokens) == trace.steps[-1][0][0]
    # the first hypothesis of a beam of one is the greedy answer
    ones, _ = beam_search(runner, runner.encode(enc), constraint, len(keys), beam_size=1)
    assert [h[0].tokens for h in ones] == greedy


def test_a_step_with_fewer_candidates_than_beams(setup):
    vocab, lexicon, runner, _ = setup
    index, tables = CandidateIndex(vocab, lexicon), PinyinTables(vocab)
    keys = [toneless_keys(vocab, ["ni3"])]
    n = len(index.candidates(tuple(int(x) for x in keys[0][0])))
    enc = encode_p2h([P2HRequest(keys[0], "")], vocab, tables, 16)
    hyps, _ = beam_search(runner, runner.encode(enc), P2HConstraint(keys, index, tables), 1, beam_size=n + 3)
    assert len(hyps[0]) == n and len({tuple(h.tokens) for h in hyps[0]}) == n  # only live, distinct beams


def test_logit_scoring(p2h):
    """Raw candidate logits: greedy picks what the softmax picks (one normaliser per step), and
    a hypothesis' score is the sum of its logits recomputed without the cache."""
    runner, model, index, tables, enc, keys, constraint = p2h
    encoded = runner.encode(enc)
    greedy, _ = beam_search(runner, encoded, constraint, len(keys), beam_size=1, scoring="logits")
    assert [h[0].tokens for h in greedy] == greedy_p2h(runner, enc, keys, index, tables)
    beams, _ = beam_search(runner, encoded, constraint, len(keys), beam_size=3, scoring="logits")
    hyp = beams[0][1]
    logits = _uncached_logits(model, enc, 0, hyp.tokens, keys[0], index, tables)
    assert float(sum(logits[t, c] for t, c in enumerate(hyp.tokens))) == pytest.approx(hyp.score, abs=1e-4)
    with pytest.raises(ValueError, match="syllables head"):
        from pinhan.infer.search.constraints import H2PConstraint

        beam_search(runner, encoded, H2PConstraint([], [], tables), 0, scoring="logits")


def _step_by_step(runner, encoded, rows, inputs, targets):
    """(H, T) raw logits of ``targets`` (0 where -1) from start/step/char_logits_at, a step at a time."""
    import numpy as np

    state, want = runner.start(encoded, rows), np.zeros(targets.shape)
    for t in range(targets.shape[1]):
        hidden, state = runner.step(state, {k: v[:, t] for k, v in inputs.items()})
        want[:, t] = runner.char_logits_at(hidden, np.maximum(targets[:, t], 0)[:, None])[:, 0]
    want[targets < 0] = 0.0
    return want


def _two_inputs(api):
    import numpy as np

    from pinhan.infer.inputs import encode_h2p

    rng = np.random.default_rng(0)
    runs = [rng.integers(5, 40, size=n) for n in (4, 6)]
    return api.runner.encode(encode_h2p(runs, ["", ""], api.g2p_engine.contexts)), rng


def test_tree_logits_of_chains_equal_the_step_by_step_decoder(api):
    """Runner.tree_logits over chains (positions 0..T-1, each step attending those before it)
    gives the numbers of start/step/char_logits_at taken one step at a time."""
    import numpy as np

    runner = api.runner
    encoded, rng = _two_inputs(api)
    rows = np.array([0, 1, 1])
    H, T = 3, 5
    inputs = {k: rng.integers(1, 4, size=(H, T)).astype(np.int64) for k in ("chars", "initials", "finals", "tones")}
    targets = rng.integers(5, 40, size=(H, T))
    targets[1, 3:] = -1
    positions = np.tile(np.arange(T), (H, 1))
    steps_mask = np.tile(np.tril(np.ones((T, T), dtype=bool)), (H, 1, 1))
    picks = np.array([(h, t, targets[h, t]) for h in range(H) for t in range(T) if targets[h, t] >= 0])
    got = runner.tree_logits(encoded, rows, inputs, positions, steps_mask, picks)
    want = _step_by_step(runner, encoded, rows, inputs, targets)
    np.testing.assert_allclose(got, [want[h, t] for h, t, _ in picks], atol=1e-4)


class _Feed:
    """A constraint that feeds back a hanzi with readings of its own (what beam.forced_logits asks)."""

    def feed(self, row, step, token):
        return (token, token % 3 + 1, token % 5 + 1, 1)


def test_forced_logits_share_the_steps_of_readings_that_begin_alike(api):
    """beam.forced_logits packs readings of one encoder row that begin alike into a tree, and
    scores each reading as the step-by-step decoder does on it alone (rows of two encoder rows,
    a shorter row, a row equal to another)."""
    import numpy as np

    from pinhan import ids
    from pinhan.infer.search.beam import forced_logits

    runner = api.runner
    encoded, _ = _two_inputs(api)
    targets = np.array([[7, 8, 9, 10], [7, 8, 11, 12], [7, 8, 9, -1], [7, 8, 11, 12], [7, 8, 9, 10]])
    rows = np.array([0, 0, 0, 0, 1])
    feed = _Feed()
    H, T = targets.shape
    inputs = {k: np.zeros((H, T), dtype=np.int64) for k in ("chars", "initials", "finals", "tones")}
    inputs["chars"][:, 0] = ids.BOS
    for h in range(H):
        for t in range(1, T):
            for k, v in zip(inputs, feed.feed(h, t - 1, int(targets[h, t - 1]))):
                inputs[k][h, t] = v
    want = _step_by_step(runner, encoded, rows, inputs, targets).sum(axis=1)
    got = forced_logits(runner, encoded, feed, targets, rows)
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert got[1] == got[3] and got[0] != got[4]  # the same reading, the same score; another input, another
