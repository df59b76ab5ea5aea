import numpy as np
import pytest

from pinhan.data.tables import CandidateIndex
from pinhan.data.collate import collate
from pinhan.data.examples import ExampleConfig, ExampleSampler
from pinhan.data.shards import ShardedSplit
from pinhan.data.vocab import Lexicon, Vocab
from pinhan.errors import ConfigError
from pinhan import ids


@pytest.fixture(scope="module")
def parts(prepared_tiny):
    vocab = Vocab.load(prepared_tiny / "vocab.json")
    lexicon = Lexicon.load(prepared_tiny / "lexicon.json")
    split = ShardedSplit(prepared_tiny / "shards", "train")
    return vocab, lexicon, split


def sampler(parts, **kwargs):
    vocab, _, split = parts
    return ExampleSampler(split, vocab, ExampleConfig(**kwargs))


def test_p2h_examples(parts):
    vocab, lexicon, _ = parts
    readings = lexicon.readings()
    s = sampler(parts, task_weights={"p2h": 1.0}, toned_prob=0.0, abbreviate_prob=0.0, all_abbreviated_prob=0.0, fuzzy_prob=0.0)
    rng = np.random.default_rng(0)
    for _ in range(50):
        e = s.sample(rng)
        assert e.task == ids.TASK_P2H
        target = e.enc["segments"] == ids.SEG_TARGET
        L = int(target.sum())
        assert L == len(e.tgt_chars) >= 1 and target[-L:].all()  # target positions end the encoder
        assert (e.enc["chars"][target] == ids.MASK).all()
        assert (e.enc["tones"][target] == ids.UNKNOWN).all()  # typed toneless
        assert (e.enc_tgt_chars[target] == e.tgt_chars).all() and (e.enc_tgt_chars[~target] == ids.IGNORE).all()
        assert e.dec["chars"][0] == ids.BOS and (e.dec["chars"][1:] == e.tgt_chars[:-1]).all()
        for c, syl in zip(e.tgt_chars, e.tgt_syllables):  # each gold hanzi is read as its gold syllable
            assert vocab.syllables[syl] in readings[vocab.chars[c]]
        assert len(e.enc["chars"]) - L <= 64


def test_typing_simulation(parts):
    vocab, _, _ = parts
    s = sampler(parts, task_weights={"p2h": 1.0}, toned_prob=1.0, all_abbreviated_prob=1.0)
    e = s.sample(np.random.default_rng(1))
    target = e.enc["segments"] == ids.SEG_TARGET
    zero = vocab.initial_to_id[""]
    abbreviated = e.enc["initials"][target] != zero
    assert (e.enc["finals"][target][abbreviated] == ids.UNKNOWN).all()
    assert (e.enc["tones"][target][abbreviated] == ids.UNKNOWN).all()
    assert (e.enc["initials"][target] >= ids.N_FACTOR_SPECIAL).all()  # the initial is always typed


def test_abbreviated_zh_ch_sh_are_typed_by_their_first_letter(parts):
    vocab, lexicon, _ = parts
    from pinhan.data.tables import CandidateIndex

    index = CandidateIndex(vocab, lexicon)
    for prob in (1.0, 0.0):
        s = sampler(parts, task_weights={"p2h": 1.0}, all_abbreviated_prob=1.0, fuzzy_prob=0.0, first_letter_prob=prob)
        seen = set()
        for seed in range(40):
            e = s.sample(np.random.default_rng(seed))
            for key, gold in zip(e.keys, e.tgt_chars):
                typed = vocab.initials[key[0]]
                seen.add(typed)
                assert gold in index.candidates(tuple(int(k) for k in key))  # z also allows zh hanzi
        assert seen.isdisjoint({"zh", "ch", "sh"}) == (prob == 1.0)


def test_h2p_and_gen_examples(parts):
    s = sampler(parts, task_weights={"h2p": 1.0})
    e = s.sample(np.random.default_rng(2))
    target = e.enc["segments"] == ids.SEG_TARGET
    assert (e.enc["chars"][target] == e.tgt_chars).all()
    assert (e.enc["initials"][target] == ids.UNKNOWN).all() and (e.enc_tgt_chars == ids.IGNORE).all()
    assert (e.tgt_syllables >= ids.N_SPECIAL).all()
    s = sampler(parts, task_weights={"gen": 1.0}, gen_max_new=5)
    for seed in range(20):
        e = s.sample(np.random.default_rng(seed))
        assert e.task == ids.TASK_GEN and 1 <= len(e.tgt_chars) <= 5
        assert (e.enc["segments"] == ids.SEG_CONTEXT).all() and len(e.enc["chars"]) >= 1


def test_examples_are_a_function_of_the_seed(parts):
    s = sampler(parts)
    a = [s.sample(np.random.default_rng(7)) for _ in range(3)]
    b = [s.sample(np.random.default_rng(7)) for _ in range(3)]
    for x, y in zip(a, b):
        assert x.task == y.task and (x.enc["chars"] == y.enc["chars"]).all() and (x.tgt_chars == y.tgt_chars).all()


def test_collate_pads_and_restricts_candidates(parts):
    vocab, lexicon, _ = parts
    readings = lexicon.readings()
    s = sampler(parts, task_weights={"p2h": 0.5, "gen": 0.5}, toned_prob=0.0, abbreviate_prob=0.0,
                all_abbreviated_prob=0.0, fuzzy_prob=0.0)
    rng = np.random.default_rng(3)
    examples = [s.sample(rng) for _ in range(8)]
    batch = collate(examples, cand_index=CandidateIndex(vocab, lexicon), max_cands=16)
    B, S = batch["enc_chars"].shape
    T = batch["tgt_chars"].shape[1]
    assert batch["tgt_char_cands"].shape == (B, T, 16) and batch["enc_tgt_char_cands"].shape == (B, S, 16)
    for row, e in enumerate(examples):
        n = len(e.tgt_chars)
        assert (batch["tgt_chars"][row, n:] == ids.IGNORE).all()
        assert (batch["enc_segments"][row, len(e.enc["chars"]):] == ids.SEG_PAD).all()
        cands = batch["tgt_char_cands"][row]
        assert (cands[:n, 0] == batch["tgt_chars"][row, :n]).all()  # the gold is always a candidate
        assert (cands[n:] == -1).all()
        # continuation steps are scored over the whole vocabulary, restricted steps are not
        assert batch["tgt_char_full"][row, :n].tolist() == [e.task == ids.TASK_GEN] * n
        assert not batch["tgt_char_full"][row, n:].any()
        if e.task == ids.TASK_P2H:
            for t in range(n):
                gold_syllable = vocab.syllables[e.tgt_syllables[t]].rstrip("12345")
                for c in cands[t][cands[t] >= 0].tolist():
                    assert any(r.rstrip("12345") == gold_syllable for r in readings[vocab.chars[c]])
            offset = len(e.enc["chars"]) - n
            assert (batch["enc_tgt_char_cands"][row, offset:offset + n] == cands[:n]).all()


def test_example_config_validation():
    with pytest.raises(ConfigError, match="unknown task"):
        ExampleConfig(task_weights={"translate": 1.0})
    with pytest.raises(ConfigError, match="toned_prob"):
        ExampleConfig(toned_prob=1.5)
