"""The homophone chooser's runtime: features that read only what conversion may read, the
softmax over a syllable's set, and a file that describes itself (bad files are DataErrors)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from pinhan.errors import DataError
from pinhan.lm.homophones import FORMAT, HomophoneFeatures, HomophoneModel, features, line_layout

LAYOUT = HomophoneFeatures(buckets=4099, window=3, far=2)


def _rows(text: str, position: int) -> np.ndarray:
    codepoints = np.array([ord(c) for c in text], dtype=np.int64)
    line_start, run_end = line_layout(codepoints)
    return features(codepoints, line_start, run_end, np.array([position]), LAYOUT)[0]


def test_features_are_rows_of_the_table_and_a_fixed_width():
    rows = _rows("我们今天去北京看长城", 5)
    assert rows.shape == (LAYOUT.width,) and rows.min() >= 0 and rows.max() < LAYOUT.buckets
    assert (rows > 0).all()  # every feature present in the middle of a long clause


def test_the_right_side_stops_at_the_clause_and_the_left_reads_the_context():
    # after the comma nothing is typed yet at conversion time: what follows cannot change a row
    assert np.array_equal(_rows("他说它很好，明天见", 2), _rows("他说它很好，后天走", 2))
    assert not np.array_equal(_rows("他说它很好", 2), _rows("他说它很贵", 2))  # inside the clause it does
    assert not np.array_equal(_rows("书说它很好", 2), _rows("他说它很好", 2))  # and the context before


def test_lines_do_not_read_each_other():
    codepoints = np.array([ord(c) for c in "甲乙丙"] + [0] + [ord(c) for c in "丁戊己"], dtype=np.int64)
    line_start, run_end = line_layout(codepoints)
    joined = features(codepoints, line_start, run_end, np.array([4]), LAYOUT)[0]
    assert np.array_equal(joined, _rows("丁戊己", 0))


def _model(info=None) -> HomophoneModel:
    rng = np.random.default_rng(0)
    embeddings = rng.integers(-127, 128, size=(LAYOUT.buckets, 4)).astype(np.int8)
    scales = np.full(LAYOUT.buckets, 0.01, dtype=np.float16)
    sets = {"ta": "他她它", "de": "的得地"}
    chars = [ord(c) for s in sets.values() for c in s]
    output = rng.normal(size=(len(chars), 5)).astype(np.float32)
    return HomophoneModel(LAYOUT, embeddings, scales, output, list(sets), np.array([0, 3, 6]), np.array(chars),
                          info or {"weight": 0.2})


def test_log_probs_are_a_softmax_over_the_syllables_set():
    model = _model()
    context = "这本书"
    texts = ["他很好", "她很好", "它很好"]
    syllables = [["ta1", "hen3", "hao3"]] * 3
    first = [v[0] for v in model.log_probs(context, texts, syllables)]
    assert np.isclose(np.exp(first).sum(), 1.0, atol=1e-5)
    out = model.log_probs(context, ["它很好"], [["ta1", "hen3", "hao3"]])[0]
    assert out[1] == 0 and out[2] == 0  # hen and hao have no set here: no choice, no score
    assert model.scores(context, texts, syllables) == pytest.approx(first)


def test_a_hanzi_outside_its_set_counts_the_floor_and_syllables_must_match():
    model = _model({"weight": 0.2, "floor": -5.0})
    assert model.log_probs("", ["塔"], [["ta3"]])[0][0] == -5.0
    assert model.log_probs("", ["他"], [[None]])[0][0] == 0.0
    with pytest.raises(DataError, match="2 syllables for 1 characters"):
        model.log_probs("", ["他"], [["ta1", "de5"]])


def test_file_round_trip(tmp_path):
    model = _model()
    path = model.save(tmp_path / "homophones.safetensors")
    loaded = HomophoneModel.load(path)
    assert loaded.weight == 0.2 and loaded.layout == LAYOUT and loaded.syllables == ["ta", "de"]
    args = ("这本书", ["他的", "它得"], [["ta1", "de5"], ["ta1", "de2"]])
    for a, b in zip(model.log_probs(*args), loaded.log_probs(*args)):
        assert np.allclose(a, b, atol=1e-3)  # float16 output rows on disk
    HomophoneModel.update_info(path, {"weight": 0.3})
    assert HomophoneModel.load(path).weight == 0.3


def test_bad_files_are_data_errors_that_name_the_file(tmp_path):
    path = _model().save(tmp_path / "h.safetensors")
    tensors = load_file(str(path))
    with open(path, "rb") as f:  # the metadata as written
        header = json.loads(f.read(8 + int.from_bytes(open(path, "rb").read(8), "little"))[8:])["__metadata__"]
    meta = json.loads(header["pinhan"])

    def write(name, tensors, meta):
        out = tmp_path / name
        save_file(tensors, str(out), metadata={"pinhan": json.dumps(meta)})
        return out

    (tmp_path / "junk.safetensors").write_bytes(b"not a file")
    cases = {
        tmp_path / "junk.safetensors": "cannot read",
        write("format.safetensors", tensors, {**meta, "format": "other"}): f"expected {FORMAT}",
        write("version.safetensors", tensors, {**meta, "version": 99}): "version 99",
        write("missing.safetensors", {k: v for k, v in tensors.items() if k != "scales"}, meta): "without scales",
        write("shapes.safetensors", {**tensors, "set_chars": tensors["set_chars"][:-1]}, meta): "do not fit",
        tmp_path / "absent.safetensors": "cannot read",
    }
    for bad, message in cases.items():
        with pytest.raises(DataError, match=message) as caught:
            HomophoneModel.load(bad)
        assert str(bad) in str(caught.value)


def test_layout_is_checked():
    with pytest.raises(DataError, match="homophone features"):
        HomophoneFeatures(buckets=1)
