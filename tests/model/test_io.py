"""save_model / load_model: round trip, atomic files, and every corruption is a CheckpointError."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from pinhan.model import (
    CheckpointError,
    PinhanModel,
    load_config,
    load_model,
    read_config,
    save_model,
)
from pinhan.model.io import CONFIG_FILE, WEIGHTS_FILE


@pytest.fixture
def saved(model, tmp_path) -> Path:
    return save_model(model, tmp_path / "ckpt")


def _edit_config(directory: Path, edit) -> None:
    path = directory / CONFIG_FILE
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))


def test_round_trip_gives_identical_outputs(model, saved, make_batch):
    assert sorted(p.name for p in saved.iterdir()) == [CONFIG_FILE, WEIGHTS_FILE]  # no temp files
    doc = json.loads((saved / CONFIG_FILE).read_text())
    assert doc["format"] == "pinhan-model" and doc["version"] == 1
    assert doc["model"] == model.config.to_dict()
    loaded = load_model(saved)
    assert isinstance(loaded, PinhanModel) and not loaded.training
    assert loaded.config == model.config
    batch = make_batch(n_cands=4)
    with torch.no_grad():
        a, b = model(batch), loaded(batch)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    for (name, p), (_, q) in zip(
        model.state_dict().items(), loaded.state_dict().items(), strict=True
    ):
        assert torch.equal(p, q), name


def test_half_precision_file_loads_as_float32_within_rounding(model, tmp_path, make_batch):
    full = save_model(model, tmp_path / "fp32") / WEIGHTS_FILE
    half = save_model(model, tmp_path / "fp16", dtype=torch.float16)
    assert (half / WEIGHTS_FILE).stat().st_size < 0.6 * full.stat().st_size
    loaded = load_model(half)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    batch = make_batch(n_cands=4)
    with torch.no_grad():
        a, b = model(batch), loaded(batch)
    for key in a:
        assert torch.allclose(a[key], b[key], atol=2e-2, rtol=1e-2), key


def test_int8_file_loads_as_float32_within_a_row_step(model, tmp_path, make_batch):
    from pinhan.model.io import INT8_SCALE

    half = save_model(model, tmp_path / "fp16", dtype=torch.float16) / WEIGHTS_FILE
    small = save_model(model, tmp_path / "int8", dtype=torch.int8)
    assert (small / WEIGHTS_FILE).stat().st_size < 0.7 * half.stat().st_size
    stored = load_file(small / WEIGHTS_FILE)
    quantized = [k for k in stored if k.endswith(INT8_SCALE)]
    assert quantized and all(stored[k[: -len(INT8_SCALE)]].dtype == torch.int8 for k in quantized)
    loaded = load_model(small)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    for (name, p), (_, q) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        if p.is_floating_point() and p.dim() == 2:  # each row within half a step of its scale
            step = p.abs().amax(dim=1, keepdim=True) / 127
            assert torch.all((p - q).abs() <= step * 0.51 + 1e-3), name
    batch = make_batch(n_cands=4)
    with torch.no_grad():
        a, b = model(batch), loaded(batch)
    for key in a:
        assert torch.allclose(a[key], b[key], atol=5e-2, rtol=5e-2), key


def test_int8_scale_without_its_matrix_is_a_checkpoint_error(model, tmp_path):
    from pinhan.model.io import INT8_SCALE

    d = save_model(model, tmp_path / "int8", dtype=torch.int8)
    tensors = load_file(d / WEIGHTS_FILE)
    name = next(k for k in tensors if k.endswith(INT8_SCALE))
    tensors[name] = torch.ones(tensors[name].shape[0] + 1, dtype=torch.float16)  # one row too many
    save_file(tensors, str(d / WEIGHTS_FILE))
    with pytest.raises(CheckpointError, match="does not fit an int8 matrix"):
        load_model(d)


def test_untied_model_round_trip(config, tmp_path):
    model = PinhanModel(config.replace(tie_char_embeddings=False))
    loaded = load_model(save_model(model, tmp_path))
    assert torch.equal(loaded.heads.char_weight, model.heads.char_weight)


def test_extra_sections_and_overwrite(model, tmp_path):
    d = save_model(model, tmp_path, extra={"train": {"lr": 0.001}})
    assert read_config(d)["train"] == {"lr": 0.001}
    (d / "vocab.json").write_text("{}")
    model.embed.chars.weight.data.add_(1.0)
    save_model(model, d)  # overwrite in place, other files untouched
    assert (d / "vocab.json").exists()
    assert torch.equal(load_model(d).embed.chars.weight, model.embed.chars.weight)
    assert load_config(d) == model.config
    with pytest.raises(ValueError, match="format"):
        save_model(model, d, extra={"format": "x"})


def test_failed_save_leaves_old_files_and_no_temp_files(model, saved, monkeypatch):
    before = (saved / WEIGHTS_FILE).read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("pinhan.model.io.save_file", boom)
    with pytest.raises(OSError, match="disk full"):
        save_model(model, saved)
    assert (saved / WEIGHTS_FILE).read_bytes() == before
    assert sorted(p.name for p in saved.iterdir()) == [CONFIG_FILE, WEIGHTS_FILE]


def test_missing_directory_and_files(saved, tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(tmp_path / "nope")
    (saved / WEIGHTS_FILE).unlink()
    with pytest.raises(CheckpointError, match=f"{WEIGHTS_FILE} is missing"):
        load_model(saved)
    (saved / CONFIG_FILE).unlink()
    with pytest.raises(CheckpointError, match=f"{CONFIG_FILE} is missing"):
        load_model(saved)


def test_a_file_is_not_a_model_directory(saved):
    for read in (load_model, read_config, load_config):
        with pytest.raises(CheckpointError, match=r"config.json is a file, not a model directory"):
            read(saved / CONFIG_FILE)


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"format": "pinhan-model", ', "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
    ],
)
def test_unreadable_config(saved, content, message):
    path = saved / CONFIG_FILE
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(CheckpointError, match=message) as info:
        load_model(saved)
    assert CONFIG_FILE in str(info.value)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(format="hf-t5"), "format 'hf-t5'"),
        (lambda d: d.pop("format"), "format None"),
        (lambda d: d.update(version=2), "version 2"),
        (lambda d: d.pop("model"), 'no "model" section'),
        (lambda d: d["model"].update(n_experts=8), "unknown model config keys: n_experts"),
        (lambda d: d["model"].pop("n_chars"), "missing model config keys: n_chars"),
        (lambda d: d["model"].update(n_heads=5), "n_heads"),
        (lambda d: d["model"].update(d_model="wide"), "d_model"),
    ],
)
def test_bad_config_contents(saved, edit, message):
    _edit_config(saved, edit)
    with pytest.raises(CheckpointError, match=message) as info:
        load_model(saved)
    assert CONFIG_FILE in str(info.value)


def test_missing_and_unexpected_tensors(saved):
    path = saved / WEIGHTS_FILE
    tensors = load_file(path)
    del tensors["heads.char_bias"]
    save_file(tensors, path)
    with pytest.raises(CheckpointError, match="lacks tensors: heads.char_bias"):
        load_model(saved)
    tensors["heads.char_bias"] = torch.zeros(1)
    tensors["heads.extra"] = torch.zeros(3)
    save_file(tensors, path)
    with pytest.raises(CheckpointError, match="unexpected tensors: heads.extra"):
        load_model(saved)


def test_shape_mismatch_between_config_and_weights(saved):
    _edit_config(saved, lambda d: d["model"].update(n_chars=d["model"]["n_chars"] + 1))
    with pytest.raises(CheckpointError, match=r"embed\.chars\.weight has shape") as info:
        load_model(saved)
    assert WEIGHTS_FILE in str(info.value)


def test_wrong_dtype_tensor(saved):
    path = saved / WEIGHTS_FILE
    tensors = load_file(path)
    tensors["heads.char_bias"] = tensors["heads.char_bias"].long()
    save_file(tensors, path)
    with pytest.raises(CheckpointError, match="dtype"):
        load_model(saved)


@pytest.mark.parametrize("cut", [0, 5, 100, -10])
def test_corrupt_or_truncated_weights(saved, cut):
    path = saved / WEIGHTS_FILE
    data = path.read_bytes()
    path.write_bytes(data[:cut] if cut >= 0 else data[:cut])
    with pytest.raises(CheckpointError, match="not a valid safetensors file") as info:
        load_model(saved)
    assert WEIGHTS_FILE in str(info.value)


def test_garbage_header(saved):
    path = saved / WEIGHTS_FILE
    data = bytearray(path.read_bytes())
    data[8:20] = b"#" * 12  # break the JSON header
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        load_model(saved)


class _Payload:
    """Unpickling this runs os.system-like side effects: it creates a marker file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_files_are_never_loaded(model, saved, tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Payload(str(marker)))

    def forbidden(*args, **kwargs):
        raise AssertionError("a pickle loader was called")

    monkeypatch.setattr(torch, "load", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    # a pickle beside valid weights is ignored
    (saved / "pytorch_model.bin").write_bytes(payload)
    load_model(saved)
    # a pickle in place of the weights is rejected, not executed
    (saved / WEIGHTS_FILE).write_bytes(payload)
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        load_model(saved)
    # so is a real torch.save checkpoint (zip + pickle)
    monkeypatch.undo()
    torch.save(model.state_dict(), saved / WEIGHTS_FILE)
    monkeypatch.setattr(torch, "load", forbidden)
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        load_model(saved)
    assert not marker.exists()
    assert os.listdir(tmp_path) == ["ckpt"]


HUGE = [("n_chars", 10**12), ("max_positions", 10**9), ("d_ff", 10**11), ("n_encoder_layers", 2000)]


@pytest.mark.parametrize("key, value", HUGE)
def test_a_huge_config_is_refused_before_the_model_is_built(saved, monkeypatch, key, value):
    built = []
    real_init = PinhanModel.__init__

    def spy(self, config):  # only meta models (shapes, no storage) may be built before the check
        built.append(torch.empty(0).device.type)
        real_init(self, config)

    monkeypatch.setattr(PinhanModel, "__init__", spy)
    _edit_config(saved, lambda d: d["model"].update({key: value}))
    with pytest.raises(CheckpointError, match=r"tensor|lacks tensors") as info:
        load_model(saved)
    assert WEIGHTS_FILE in str(info.value) and set(built) <= {"meta"}


_PEAK = """
import json, resource, sys
from pathlib import Path
from pinhan.model import CheckpointError, load_model
ckpt, huge = Path(sys.argv[1]), json.loads(sys.argv[2])
load_model(ckpt)  # warm: imports and allocator
doc = json.loads((ckpt / "config.json").read_text())
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for key, value in huge:
    (ckpt / "config.json").write_text(json.dumps(dict(doc, model=dict(doc["model"], **{key: value}))))
    try:
        load_model(ckpt)
    except CheckpointError as exc:
        print(key, "refused:", exc)
    else:
        sys.exit(key + " was loaded")
print("peak_kib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_huge_configs_keep_peak_memory_small(config, tmp_path):
    import subprocess
    import sys

    wide = PinhanModel(config.replace(d_model=64, d_ff=256))  # ~200 KB a layer: 2000 of them ~400 MB
    save_model(wide, tmp_path / "wide")
    out = subprocess.run([sys.executable, "-c", _PEAK, str(tmp_path / "wide"), json.dumps(HUGE)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count("refused:") == len(HUGE), out.stdout
    peak_kib = int(out.stdout.split("peak_kib")[-1])
    assert peak_kib < 50 * 1024, out.stdout
