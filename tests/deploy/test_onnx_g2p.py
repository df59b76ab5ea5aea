"""g2p's polyphone head on the onnxruntime backend: the head runs in numpy on the encoder memory
either backend returns, so both read the same."""
import shutil

import pytest

pytest.importorskip("onnxruntime", reason="the onnx backend needs onnxruntime")
pytest.importorskip("onnxscript", reason="the ONNX exporter needs onnxscript")


def test_g2p_with_a_head_reads_the_same_on_onnx(model_dir, api, tmp_path):
    import numpy as np
    import torch

    import pinhan
    from pinhan.deploy.onnx.export import export_onnx
    from pinhan.infer.config import InferenceConfig
    from pinhan.model.polyphone import PolyphoneConfig, PolyphoneHead

    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    vocab, readings = api.vocab, api.bundle.readings
    pairs = [(vocab.char_id(ch), int(s)) for ch, r in readings.items() if len(r) > 1 for s in r]
    torch.manual_seed(0)
    head = PolyphoneHead(PolyphoneConfig(api.runner.model.config.d_model, len(vocab.chars), len(vocab.syllables), len(pairs),
                                         dim=8, pair_dim=4), np.array(pairs))
    with torch.no_grad():
        for p in head.parameters():
            p.normal_()
    head.save(copy / "polyphone.safetensors")
    export_onnx(copy, copy / "onnx")
    config = InferenceConfig(g2p_phrases=False)
    texts = ["长城很长", "银行行长说今年的利率不会变", "音乐会在晚上八点开始，我们一起去公园散步"]
    want = [r.pinyin for r in pinhan.load(copy, config=config).g2p_batch(texts)]
    for path in (copy, copy / "onnx"):  # the export carries the head
        model = pinhan.load(path, backend="onnx", config=config, threads=1)
        assert model.bundle.polyphone is not None
        assert [r.pinyin for r in model.g2p_batch(texts)] == want


def test_a_head_reading_the_first_encoder_layer_gets_its_own_graph(model_dir, api, tmp_path):
    """A head of encoder_layers 1 (of the tiny model's 2): the export adds the one-layer encoder
    at given positions, g2p on onnxruntime reads as on torch, and an export made before the head
    is named stale (its full encoder still serves a head reading every layer)."""
    import json

    import numpy as np
    import torch

    import pinhan
    from pinhan.deploy.onnx.export import export_onnx
    from pinhan.deploy.onnx.runner import OnnxRunner
    from pinhan.infer.config import InferenceConfig
    from pinhan.infer.inputs import encode_h2p
    from pinhan.model.io import CheckpointError
    from pinhan.model.polyphone import PolyphoneConfig, PolyphoneHead

    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    assert api.runner.model.config.n_encoder_layers == 2
    export_onnx(copy, copy / "onnx")  # before the head: the full encoder only
    assert json.loads((copy / "onnx" / "onnx.json").read_text())["encoder_at"] == []
    vocab, readings = api.vocab, api.bundle.readings
    pairs = [(vocab.char_id(ch), int(s)) for ch, r in readings.items() if len(r) > 1 for s in r]
    torch.manual_seed(0)
    head = PolyphoneHead(PolyphoneConfig(api.runner.model.config.d_model, len(vocab.chars), len(vocab.syllables), len(pairs),
                                         dim=8, pair_dim=4, encoder_layers=1), np.array(pairs))
    with torch.no_grad():
        for p in head.parameters():
            p.normal_()
    head.save(copy / "polyphone.safetensors")
    with pytest.raises(CheckpointError, match="polyphone.safetensors"):
        pinhan.load(copy, backend="onnx")
    old = OnnxRunner(copy / "onnx")
    batch = encode_h2p([np.array([vocab.char_id(c) for c in "长城很长"])], [""], api.g2p_engine.contexts)
    rows, positions = np.array([0, 0, 0]), np.array([1, 3, 2])
    with pytest.raises(CheckpointError, match="first 1 layers"):
        old.encode_at(batch, rows, positions, layers=1)
    full = api.runner.encode(batch).memory.numpy()[rows, positions]  # (N, d)
    np.testing.assert_allclose(old.encode_at(batch, rows, positions), full, atol=1e-4)  # the whole encoder, gathered

    export_onnx(copy, copy / "onnx", overwrite=True)
    assert json.loads((copy / "onnx" / "onnx.json").read_text())["encoder_at"] == [1]
    runner = OnnxRunner(copy / "onnx")
    one = runner.encode_at(batch, rows, positions, layers=1)
    assert one.shape == (3, full.shape[-1])
    with torch.no_grad():
        first = api.runner.model.encode({k: torch.from_numpy(v) for k, v in batch.items()}, layers=1).memory
    np.testing.assert_allclose(one, first[rows, positions].numpy(), atol=1e-4)
    assert not np.allclose(one, full, atol=1e-3)  # it is another depth's state
    for either in (runner, api.runner):  # a position outside the batch is named, on both backends
        with pytest.raises(ValueError, match=r"position \(0, 9\) is outside the batch of 1 rows"):
            either.encode_at(batch, np.array([0, 0]), np.array([1, 9]), layers=1)
        assert either.encode_at(batch, np.zeros(0, int), np.zeros(0, int), layers=1).shape == (0, full.shape[-1])
    config = InferenceConfig(g2p_phrases=False)
    texts = ["长城很长", "银行行长说今年的利率不会变", "音乐会在晚上八点开始，我们一起去公园散步"]
    torch_model = pinhan.load(copy, config=config)
    assert torch_model.bundle.polyphone.config.layers == 1
    want = [r.pinyin for r in torch_model.g2p_batch(texts)]
    assert [r.pinyin for r in pinhan.load(copy, backend="onnx", config=config, threads=1).g2p_batch(texts)] == want

    # an encoder_at graph of another interface (say the whole encoder renamed) is refused by name
    shutil.copyfile(copy / "onnx" / "encoder.onnx", copy / "onnx" / "encoder_at_1.onnx")
    with pytest.raises(CheckpointError, match="encoder_at_1.onnx has inputs"):
        OnnxRunner(copy / "onnx")
