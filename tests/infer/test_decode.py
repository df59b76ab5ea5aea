import json

import numpy as np
import pytest
import torch

from pinhan.data.candidates import CandidateIndex
from pinhan.data.examples import PinyinTables
from pinhan.infer.decode import greedy_p2h, nar_p2h
from pinhan.infer.inputs import P2HRequest, encode_p2h, toneless_keys
from pinhan.model import ids


@pytest.fixture(scope="module")
def setup(prepared_tiny, untrained):
    vocab, lexicon, model = untrained
    items = [json.loads(line) for line in (prepared_tiny / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    requests = [P2HRequest(toneless_keys(vocab, it["pinyin"]), it["context"]) for it in items]
    requests.append(P2HRequest(toneless_keys(vocab, ["ni3", "hao3"]), ""))  # no context, short
    return vocab, lexicon, model, requests


def test_outputs_are_readable_as_what_was_typed(setup):
    vocab, lexicon, model, requests = setup
    index, tables = CandidateIndex(vocab, lexicon), PinyinTables(vocab)
    enc = encode_p2h(requests, vocab, tables, max_context=16)
    keys = [r.keys for r in requests]
    readings = lexicon.readings()
    for decode in (lambda: greedy_p2h(model, enc, keys, index, tables), lambda: nar_p2h(model, enc, keys, index)):
        rows = decode()
        assert [len(r) for r in rows] == [len(k) for k in keys]
        for row, k in zip(rows, keys):
            for char_id, key in zip(row, k):
                assert char_id >= ids.N_SPECIAL  # never a special token
                toneless = {r.rstrip("12345") for r in readings[vocab.chars[char_id]]}
                typed = vocab.initials[key[0]] + vocab.finals[key[1]]
                assert typed in toneless


def test_batched_equals_one_by_one_and_is_deterministic(setup):
    vocab, lexicon, model, requests = setup
    index, tables = CandidateIndex(vocab, lexicon), PinyinTables(vocab)
    enc = encode_p2h(requests, vocab, tables, max_context=16)
    batched = greedy_p2h(model, enc, [r.keys for r in requests], index, tables)
    assert batched == greedy_p2h(model, enc, [r.keys for r in requests], index, tables)
    for request, expected in zip(requests, batched):
        single = encode_p2h([request], vocab, tables, max_context=16)
        assert greedy_p2h(model, single, [request.keys], index, tables)[0] == expected


def test_context_is_encoded_before_the_target(setup):
    vocab, lexicon, model, requests = setup
    enc = encode_p2h([P2HRequest(np.asarray(toneless_keys(vocab, ["zhong1"])), "银行")], vocab, PinyinTables(vocab), 64)
    assert enc["segments"].tolist() == [[ids.SEG_CONTEXT, ids.SEG_CONTEXT, ids.SEG_TARGET]]
    assert enc["chars"][0, :2].tolist() == [vocab.char_id("银"), vocab.char_id("行")]
    assert enc["chars"][0, 2] == ids.MASK and enc["tones"][0, 2] == ids.UNKNOWN
    assert vocab.tones[int(enc["tones"][0, 1])] == "2"  # 行 in 银行 is hang2: context pinyin is toned


def test_beam_search(setup):
    from pinhan.infer.decode import beam_p2h

    vocab, lexicon, model, requests = setup
    index, tables = CandidateIndex(vocab, lexicon), PinyinTables(vocab)
    enc = encode_p2h(requests, vocab, tables, max_context=16)
    keys = [r.keys for r in requests]
    beams = beam_p2h(model, enc, keys, index, tables, beam_size=4)
    greedy = greedy_p2h(model, enc, keys, index, tables)
    for hyps, k in zip(beams, keys):
        scores = [h.score for h in hyps]
        assert scores == sorted(scores, reverse=True)
        assert len({tuple(h.chars) for h in hyps}) == len(hyps)  # distinct hypotheses
        assert all(len(h.chars) == len(k) for h in hyps)
    # each score is the hypothesis' log-probability, recomputed here without the cache
    from pinhan.infer.decode import allowed_mask

    for row in (0, len(requests) - 1):
        single = {k: v[row : row + 1] for k, v in enc.items()}
        for hyp in beams[row]:
            chars = [ids.BOS] + hyp.chars[:-1]
            factors = [(0, 0, 0)] + [tuple(tables.factors[index.reading(c, tuple(int(x) for x in k))])
                                    for c, k in zip(hyp.chars[:-1], keys[row])]
            dec = {"chars": torch.tensor([chars]), "initials": torch.tensor([[f[0] for f in factors]]),
                   "finals": torch.tensor([[f[1] for f in factors]]), "tones": torch.tensor([[f[2] for f in factors]])}
            with torch.no_grad():
                out = model.encode(single)
                h, _ = model.decode(dec, out.memory, out.mask)
                logits = model.char_logits(h[0]).float()  # (T, V)
            total = 0.0
            for t, c in enumerate(hyp.chars):  # full-softmax log-probability of an allowed hanzi
                mask = allowed_mask([keys[row]], t, index, model.config.n_chars)[0]
                assert mask[c]
                total += float(torch.log_softmax(logits[t], dim=-1)[c])
            assert total == pytest.approx(hyp.score, abs=1e-4)
    # the first hypothesis of a beam of one is the greedy answer
    assert [h[0].chars for h in beam_p2h(model, enc, keys, index, tables, beam_size=1)] == greedy
