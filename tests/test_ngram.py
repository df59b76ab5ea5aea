import json
import math
from collections import Counter

import numpy as np
import pytest

from pinhan.errors import DataError
from pinhan.lm.ngram import BOS, CharNgram

LINES = ["我们去北京", "我们去上海", "他们去北京", "北京很大", "我们很好"]
CHARS = sorted(set("".join(LINES)) | {"完", "全"})
ID = {c: i for i, c in enumerate(CHARS)}
V = len(CHARS) + 2  # two ids no line uses


def reference_logprob(lines, order, history, char, vocab_size, discount=0.75, modified=False):
    """Interpolated Kneser-Ney straight from its definition, with dicts (the packed model must
    agree). ``modified``: modified Kneser-Ney (Chen & Goodman): above the unigrams, discounts D1,
    D2, D3+ per order from its counts of counts; the fixed one where those give no valid
    discounts (0 < D_c < c)."""
    counts = [Counter() for _ in range(order)]
    for line in lines:
        padded = "\x02" * (order - 1) + line
        for i in range(order - 1, len(padded)):
            counts[-1][padded[i - order + 1 : i + 1]] += 1
    for k in range(order - 2, -1, -1):
        for gram in counts[k + 1]:
            counts[k][gram[1:]] += 1
    history = ("\x02" * (order - 1) + history)[len(history):] if order > 1 else ""
    p = 1.0 / vocab_size
    for k in range(order):
        d = (discount,) * 3  # for n-grams seen once, twice, three times or more
        if modified and k:
            n = [sum(1 for c in counts[k].values() if c == i) for i in (1, 2, 3, 4)]
            y = n[0] / (n[0] + 2 * n[1])
            estimated = (1 - 2 * y * n[1] / n[0], 2 - 3 * y * n[2] / n[1], 3 - 4 * y * n[3] / n[2])
            d = estimated if all(0 < x < c for x, c in zip(estimated, (1, 2, 3))) else d
        ctx = history[len(history) - k:] if k else ""
        under = {g: c for g, c in counts[k].items() if g[:-1] == ctx}
        total = sum(under.values())
        if total:
            seen = under.get(ctx + char, 0)
            gamma = sum(d[min(c, 3) - 1] for c in under.values()) / total
            p = (max(seen - d[min(seen, 3) - 1], 0) if seen else 0) / total + gamma * p
    return math.log(p)


def ids(text):
    return [ID[c] for c in text]


def query(lm, history, char):
    hist = np.array([[BOS] * 8 + ids(history)])
    return float(lm.logprob_ids(hist, np.array([ID[char]]))[0])


@pytest.fixture(scope="module")
def lm():
    return CharNgram.build([ids(line) for line in LINES], vocab_size=V, order=3)


def test_unpruned_model_is_interpolated_kneser_ney(lm):
    for history in ["", "我", "我们", "们去", "北京", "完全", "去"]:
        for char in CHARS:
            assert query(lm, history, char) == pytest.approx(reference_logprob(LINES, 3, history, char, V), abs=0.01)
    # a distribution over the whole vocabulary, ids no line uses included
    hist = np.tile(np.array([[BOS] + ids("们去")]), (V, 1))
    assert np.exp(lm.logprob_ids(hist, np.arange(V))).sum() == pytest.approx(1.0, abs=0.01)
    assert query(lm, "们去", "北") > query(lm, "们去", "上") > query(lm, "们去", "大")


def test_pruning_keeps_frequent_ngrams_and_shrinks(lm):
    pruned = CharNgram.build([ids(line) for line in LINES], vocab_size=V, order=3, min_count=2)
    assert pruned.nbytes() < lm.nbytes()
    assert pruned.info["ngrams_kept"][2] < pruned.info["ngrams_counted"][2]
    assert query(pruned, "我们", "去") == pytest.approx(query(lm, "我们", "去"), abs=0.01)  # seen twice: kept exactly
    assert query(pruned, "们去", "北") > query(pruned, "们去", "上")


def test_batch_queries_match_single_ones_and_short_histories_are_padded(lm):
    hists = [ids("我们"), ids("去北"), ids("完全")]
    chars = [ID["去"], ID["京"], ID["北"]]
    batch = lm.logprob_ids(np.array(hists), np.array(chars))
    for h, c, value in zip(hists, chars, batch):
        assert lm.logprob_ids(np.array([h]), np.array([c]))[0] == pytest.approx(value)
    one = lm.logprob_ids(np.array([ids("北")]), np.array([ID["京"]]))[0]  # history shorter than order - 1
    assert one == pytest.approx(query(lm, "北", "京"))



@pytest.mark.parametrize("min_count", [1, 2])
def test_grid_queries_equal_one_at_a_time_and_the_definition(lm, min_count):
    """logprob_grid (one history per row, many characters) gives each pair's value as a query of
    that pair alone does, on a full model (also checked against the definition) and a pruned one
    (where contexts without stored n-grams skip a lookup); -1 entries are left out and read 0."""
    model = lm if min_count == 1 else CharNgram.build([ids(line) for line in LINES], vocab_size=V, order=3, min_count=2)
    rng = np.random.default_rng(0)
    histories = ["", "我们", "去北京", "完全", "北京"]
    hists = np.array([[BOS] * (3 - len(h[-3:])) + ids(h[-3:]) for h in histories])  # (H, 3): the last 2 ids count
    hists[3, 0] = V - 1  # before the last order - 1 ids: read by no query
    chars = rng.integers(-1, V, size=(len(hists), 9))
    chars[1, :2] = [ID["去"], ID["很"]]  # seen after 我们
    grid = model.logprob_grid(hists, chars)
    for r, c in zip(*np.nonzero(chars >= 0)):
        assert grid[r, c] == model.logprob_grid(hists[r : r + 1], chars[r : r + 1, c : c + 1])[0, 0]
        if min_count == 1 and chars[r, c] < len(CHARS):
            expected = reference_logprob(LINES, 3, histories[r][-2:], CHARS[chars[r, c]], V)
            assert grid[r, c] == pytest.approx(expected, abs=0.01)
    assert (grid[chars < 0] == 0).all()
    no_history = model.logprob_grid(np.zeros((2, 0), dtype=np.int64), chars[:2])  # BOS-padded
    assert np.array_equal(no_history[0], model.logprob_grid(hists[:1], chars[:1])[0])

def test_save_load_roundtrip_and_bad_files(lm, tmp_path):
    path = tmp_path / "lm.safetensors"
    lm.save(path, extra={"note": "x"})
    again = CharNgram.load(path)
    hist = np.array([[BOS] + ids("们去")] * 3)
    chars = np.array([ID["北"], ID["上"], ID["大"]])
    assert np.array_equal(again.logprob_ids(hist, chars), lm.logprob_ids(hist, chars))
    assert not list(tmp_path.glob("*.tmp"))
    (tmp_path / "bad.safetensors").write_bytes(b"not a model")
    with pytest.raises(DataError, match="cannot read the n-gram"):
        CharNgram.load(tmp_path / "bad.safetensors")


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="order"):
        CharNgram.build([[1, 2]], vocab_size=5, order=5)
    with pytest.raises(DataError, match="outside the vocabulary"):
        CharNgram.build([[1, 9]], vocab_size=5, order=2)
    with pytest.raises(DataError, match="no characters"):
        CharNgram.build([[]], vocab_size=5, order=2)


def test_unigram_is_a_distribution_that_ranks_frequent_characters_first(lm):
    unigram = lm.unigram_logp
    assert unigram.shape == (V,) and np.exp(unigram).sum() == pytest.approx(1.0, abs=0.01)
    assert unigram[ID["们"]] > unigram[ID["海"]] > unigram[V - 1]  # seen after many contexts > once > never


def test_a_bad_order_or_min_count_is_a_one_line_cli_error(prepared_tiny, model_dir, capsys):
    """pinhan lm --order 5 used to end in a ValueError traceback; nothing is written."""
    from pinhan.cli import main

    for flags, message in ((["--order", "5"], "order must be between 1 and 4"),
                           (["--min-count", "0"], "min_count needs one value >= 1")):
        assert main(["lm", "--model", str(model_dir), "--data", str(prepared_tiny), "--weights", "1", *flags]) == 2
        err = capsys.readouterr().err
        assert err.startswith("pinhan lm: error:") and message in err and "Traceback" not in err, err
    assert not (model_dir / "lm.safetensors").exists()


def test_files_store_context_runs_and_read_the_old_packed_keys(lm, tmp_path):
    from safetensors.numpy import load_file, save_file

    path = tmp_path / "lm.safetensors"
    lm.save(path)
    stored = load_file(str(path))
    assert "keys.1" not in stored and stored["last.1"].dtype == np.uint8 and stored["runs.1"].sum() == len(lm.keys[1])  # ids < 256 here
    # version 1 (the packed keys themselves) still loads, to the same model
    old = {}
    for k in range(lm.order):
        old[f"keys.{k}"], old[f"logp.{k}"] = lm.keys[k], lm.logp[k]
        old[f"ctx_keys.{k}"], old[f"ctx_log_gamma.{k}"] = lm.ctx_keys[k], lm.ctx_log_gamma[k]
    meta = {"format": CharNgram.FORMAT, "order": lm.order, "vocab_size": lm.vocab_size, "default_log_gamma": lm.default_log_gamma}
    save_file(old, str(tmp_path / "v1.safetensors"), metadata={"pinhan": json.dumps(meta)})
    for again in (CharNgram.load(path), CharNgram.load(tmp_path / "v1.safetensors")):
        assert all(np.array_equal(a, b) for a, b in zip(again.keys + again.ctx_keys, lm.keys + lm.ctx_keys))
    # runs that do not add up to the stored n-grams are a damaged file, named as such
    stored["runs.1"] = stored["runs.1"] + 1
    save_file(stored, str(tmp_path / "bad.safetensors"), metadata={"pinhan": json.dumps({**meta, "version": 2})})
    with pytest.raises(DataError, match="cannot read the n-gram model.*runs"):
        CharNgram.load(tmp_path / "bad.safetensors")
    save_file(old, str(tmp_path / "v9.safetensors"), metadata={"pinhan": json.dumps({**meta, "version": 9})})
    with pytest.raises(DataError, match="version 9 is newer"):
        CharNgram.load(tmp_path / "v9.safetensors")


def test_modified_discounts_are_modified_kneser_ney():
    """Three discounts per order, from its counts of counts, where a corpus has them (a toy one
    keeps the fixed discount: tested above)."""
    rng = np.random.default_rng(0)
    alphabet = "我们去北京上海很大好他"
    lines = ["".join(rng.choice(list(alphabet), size=int(rng.integers(3, 12)), p=np.linspace(2, 0.5, 11) / 13.75))
             for _ in range(300)]
    ids_of = {c: i for i, c in enumerate(alphabet)}
    vocab = len(alphabet) + 1
    lm = CharNgram.build([[ids_of[c] for c in line] for line in lines], vocab_size=vocab, order=3, modified=True)
    fixed = CharNgram.build([[ids_of[c] for c in line] for line in lines], vocab_size=vocab, order=3)
    assert lm.info["discounts"] == "modified" and fixed.info["discounts"] == "fixed"
    differs = False
    for history in ["", "我", "我们", "北京", "好他"]:
        hist = np.array([[BOS] * 4 + [ids_of[c] for c in history]])
        for char in alphabet:
            got = float(lm.logprob_ids(hist, np.array([ids_of[char]]))[0])
            assert got == pytest.approx(reference_logprob(lines, 3, history, char, vocab, modified=True), abs=0.01)
            differs |= abs(got - float(fixed.logprob_ids(hist, np.array([ids_of[char]]))[0])) > 0.01
    assert differs
    hist = np.tile(np.array([[BOS] + [ids_of[c] for c in "们去"]]), (vocab, 1))
    assert np.exp(lm.logprob_ids(hist, np.arange(vocab))).sum() == pytest.approx(1.0, abs=0.01)
