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
