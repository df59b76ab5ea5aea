"""Export a model directory to ONNX graphs for :class:`~pinhan.deploy.onnx.runner.OnnxRunner`.

::

    export_onnx("runs/small/best", "runs/small/best/onnx", int8=True)

writes, beside a copy of ``config.json``, ``vocab.json`` and ``lexicon.json``::

    encoder.onnx    chars, initials, finals, tones, segments (B, S) int64, task (B,) int64
                    -> memory (B, S, d) float32, mask (B, S) bool
    cross_kv.onnx   memory (B, S, d) -> cross_k, cross_v (n_layers, B, H, S, dh): the decoder's
                    cross-attention keys/values of every layer, projected once per input
    decoder.onnx    ONE decoder step with a key/value cache (``PinhanModel.decode_step``):
                    chars, initials, finals, tones (N, 1) int64, position (1,) int64,
                    self_k, self_v (n_layers, N, H, L, dh), cross_k, cross_v (n_layers, N, H, S, dh),
                    memory_mask (N, S) bool
                    -> hidden (N, d), new_self_k, new_self_v (n_layers, N, H, L + 1, dh)
    decoder_tree.onnx   the whole decoder over trees of given steps, teacher-forced
                    (``PinhanModel.decode_tree``): chars, initials, finals, tones, positions (G, M)
                    int64, steps_mask (G, M, M) bool (the steps each step attends), memory (G, S, d),
                    memory_mask (G, S) bool, picks (K, 3) int64 (tree, step, hanzi id)
                    -> logits (K,): each pick's raw hanzi logit; scores given readings of an
                    input in one call, the steps they share computed once
    char_head.onnx      hidden (N, d) -> log_probs (N, n_chars)       decoder hanzi head
    syllable_head.onnx  hidden (N, d) -> log_probs (N, n_syllables)   decoder pinyin head
    nar_head.onnx       memory (B, S, d), rows (N,), positions (N,) int64
                        -> log_probs (N, n_chars)                       encoder hanzi head
    char_logits_at.onnx hidden (N, d), cands (N, C) int64 (-1 = padding)
                        -> logits (N, C), -inf at padding               decoder hanzi head, candidates only
    nar_logits_at.onnx  memory (B, S, d), rows (N,), positions (N,), cands (N, C)
                        -> logits (N, C), -inf at padding               encoder hanzi head, candidates only
    encoder_at_K.onnx   (only with a polyphone head, which reads the states of the encoder's
                    first K layers) the encoder inputs, rows (N,), positions (N,) int64 -> states
                    (N, d) at those positions after the first K layers and the final norm, the
                    last layer run at those positions only: g2p runs that much of the encoder and
                    no more
    onnx.json       the manifest: graphs, opset, int8 or not, the source model

and with ``int8`` also ``*.int8.onnx``: the same graphs with their MatMul weights quantized to int8
per output channel (onnxruntime's ``quantize_dynamic``; activations are quantized per call, the
attention products and the embedding tables stay float).

Every size that varies between calls is a dynamic axis: B, S, N and the cache length L, which is
0 at the first step (onnxruntime concatenates an empty cache like any other). The step position is
an explicit input rather than read off L, so the graph has no shape arithmetic to specialise.

The graphs are written into a temporary directory beside ``out_dir``, checked against the PyTorch
model on a small batch, and renamed into place: a crash leaves no half export.

A model directory without an export (the default model, inside the installed package) is exported
once into the cache instead: :func:`cached_export`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from pinhan.data.corpora.fetch import sha256_of
from pinhan.data.model_dir import ModelDir
from pinhan.model.io import CheckpointError, fsync_dir, load_config, load_model
from pinhan.model.transformer import DecoderInputs, PinhanModel

FORMAT = "pinhan-onnx"
VERSION = 3  # 2: decoder_forced; 3: decoder_tree (shared steps) in its place
MANIFEST = "onnx.json"
DEFAULT_OPSET = 18
COPIED = ModelDir.TABLES  # config, vocabulary, lexicon: what the runner reads beside the graphs
GRAPHS = ("encoder", "cross_kv", "decoder", "decoder_tree", "char_head", "syllable_head", "nar_head", "char_logits_at", "nar_logits_at")
ENCODER_INPUTS = ("chars", "initials", "finals", "tones", "segments", "task")
AT_INPUTS = ("rows", "positions")  # encoder_at_K's inputs after ENCODER_INPUTS
STEP_INPUTS = ("chars", "initials", "finals", "tones", "position", "self_k", "self_v", "cross_k", "cross_v",
               "memory_mask")
STEP_OUTPUTS = ("hidden", "new_self_k", "new_self_v")
TREE_INPUTS = ("chars", "initials", "finals", "tones", "positions", "steps_mask", "memory", "memory_mask", "picks")
CACHE_ENV = "PINHAN_CACHE"  # where exports of model directories without one are kept (see cached_export)


class ExportError(CheckpointError):
    """An export cannot be written (target exists, exporter failed, parity check failed)."""


# --- export wrappers: thin modules around the model's own submodules ------------------------------
class EncoderGraph(nn.Module):
    def __init__(self, model: PinhanModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, chars: Tensor, initials: Tensor, finals: Tensor, tones: Tensor, segments: Tensor,
                task: Tensor) -> tuple[Tensor, Tensor]:
        out = self.model.encode({"chars": chars, "initials": initials, "finals": finals, "tones": tones,
                                 "segments": segments, "task": task})
        return out.memory, out.mask  # (B, S, d), (B, S)


class EncoderAtGraph(nn.Module):
    """The encoder's first ``layers`` layers and final norm, at given positions of each row
    (:meth:`PinhanModel.encode_at`): what a polyphone head of that depth reads."""

    def __init__(self, model: PinhanModel, layers: int) -> None:
        super().__init__()
        self.model, self.layers = model, layers

    def forward(self, chars: Tensor, initials: Tensor, finals: Tensor, tones: Tensor, segments: Tensor,
                task: Tensor, rows: Tensor, positions: Tensor) -> Tensor:
        return self.model.encode_at({"chars": chars, "initials": initials, "finals": finals, "tones": tones,
                                     "segments": segments, "task": task}, rows, positions, layers=self.layers)  # (N, d)


def at_graph(layers: int) -> str:
    """The graph name of the encoder's first ``layers`` layers at given positions."""
    return f"encoder_at_{layers}"


def at_layers(model_dir: ModelDir, n_encoder_layers: int) -> tuple[int, ...]:
    """The encoder depth the directory's polyphone head reads (none without a head)."""
    from pinhan.model.polyphone import head_encoder_layers

    if not model_dir.polyphone.is_file():
        return ()
    layers = head_encoder_layers(model_dir.polyphone)  # 0: all
    return (min(layers, n_encoder_layers) or n_encoder_layers,)


class CrossKVGraph(nn.Module):
    def __init__(self, model: PinhanModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, memory: Tensor) -> tuple[Tensor, Tensor]:
        return self.model.cross_kv(memory)  # 2 x (n_layers, B, H, S, dh)


class DecoderStepGraph(nn.Module):
    """One decoder step with the cache: :meth:`PinhanModel.decode_step`, which the torch runner runs too."""

    def __init__(self, model: PinhanModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, chars: Tensor, initials: Tensor, finals: Tensor, tones: Tensor, position: Tensor,
                self_k: Tensor, self_v: Tensor, cross_k: Tensor, cross_v: Tensor,
                memory_mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        dec = DecoderInputs(chars, initials, finals, tones)  # 4 x (N, 1)
        # (N, d), 2 x (n_layers, N, H, L + 1, dh)
        return self.model.decode_step(dec, position, self_k, self_v, cross_k, cross_v, memory_mask)


class DecoderTreeGraph(nn.Module):
    """Teacher-forced decoder over trees of steps, scoring the picked hanzi (see the module doc)."""

    def __init__(self, model: PinhanModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, chars: Tensor, initials: Tensor, finals: Tensor, tones: Tensor, positions: Tensor,
                steps_mask: Tensor, memory: Tensor, memory_mask: Tensor, picks: Tensor) -> Tensor:
        hidden = self.model.decode_tree(DecoderInputs(chars, initials, finals, tones), positions, steps_mask, memory,
                                        memory_mask)  # (G, M, d)
        chosen = hidden[picks[:, 0], picks[:, 1]]  # (K, d)
        return self.model.char_logits(chosen, picks[:, 2:3])[:, 0]  # (K,)


class CharHeadGraph(nn.Module):
    def __init__(self, model: PinhanModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, hidden: Tensor) -> Tensor:
        return torch.log_softmax(self.model.char_logits(hidden).float(), dim=-1)  # (N, n_chars)


class SyllableHeadGraph(nn.Module):
    def __init__(self, model: PinhanModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, hidden: Tensor) -> Tensor:
        return torch.log_softmax(self.model.syllable_logits(hidden).float(), dim=-1)  # (N, n_syllables)


class NarHeadGraph(nn.Module):
    def __init__(self, model: PinhanModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, memory: Tensor, rows: Tensor, positions: Tensor) -> Tensor:
        h = memory[rows, positions]  # (N, d)
        return torch.log_softmax(self.model.encoder_char_logits(h).float(), dim=-1)  # (N, n_chars)


class CharLogitsAtGraph(nn.Module):
    def __init__(self, model: PinhanModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, hidden: Tensor, cands: Tensor) -> Tensor:
        logits = self.model.char_logits(hidden, cands).float()  # (N, C)
        return logits.masked_fill(cands < 0, float("-inf"))


class NarLogitsAtGraph(nn.Module):
    def __init__(self, model: PinhanModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, memory: Tensor, rows: Tensor, positions: Tensor, cands: Tensor) -> Tensor:
        logits = self.model.encoder_char_logits(memory[rows, positions], cands).float()  # (N, C)
        return logits.masked_fill(cands < 0, float("-inf"))


# --- graph specifications -------------------------------------------------------------------------
def _specs(model: PinhanModel, depths: tuple[int, ...] = ()) -> dict[str, dict[str, Any]]:
    """Per graph: wrapper, example inputs, input/output names and the inputs' dynamic axes (the
    outputs' follow: the exporter names them after the inputs', e.g. ``L + 1``)."""
    c = model.config
    n_layers, H, dh, d = c.n_decoder_layers, c.n_heads, c.d_model // c.n_heads, c.d_model
    B, S, N, L = 2, 5, 3, 2  # example sizes: none 0 or 1, so the exporter specialises none of them
    gen = torch.Generator().manual_seed(0)

    def ids_(*shape: int, high: int = 4) -> Tensor:
        return torch.randint(1, high, shape, generator=gen)

    def floats(*shape: int) -> Tensor:
        return torch.randn(*shape, generator=gen)

    segments = torch.tensor([[1, 1, 2, 2, 2], [2, 2, 2, 0, 0]])
    cands = torch.tensor([[5, 6, 7, -1], [8, -1, -1, -1], [5, 9, 10, 11]])  # (N, C), -1 = padding
    enc_args = (ids_(B, S), ids_(B, S), ids_(B, S), ids_(B, S), segments, torch.tensor([0, 1]))
    BS = {0: "B", 1: "S"}
    kv_axes = {1: "N", 3: "L"}
    encoder_axes = {**{k: BS for k in ENCODER_INPUTS[:5]}, "task": {0: "B"}}
    at = (torch.tensor([0, 1, 1]), torch.tensor([4, 0, 2]))  # rows, positions (N,)
    at_specs = {at_graph(k): dict(module=EncoderAtGraph(model, k), args=(*enc_args, *at),
                                  inputs=(*ENCODER_INPUTS, *AT_INPUTS), outputs=("states",),
                                  axes={**encoder_axes, "rows": {0: "N"}, "positions": {0: "N"}}) for k in depths}
    return {
        **at_specs,
        "encoder": dict(module=EncoderGraph(model), args=enc_args, inputs=ENCODER_INPUTS,
                        outputs=("memory", "mask"), axes=encoder_axes),
        "cross_kv": dict(module=CrossKVGraph(model), args=(floats(B, S, d),), inputs=("memory",),
                         outputs=("cross_k", "cross_v"),
                         axes={"memory": BS}),
        "decoder": dict(module=DecoderStepGraph(model),
                        args=(ids_(N, 1), ids_(N, 1), ids_(N, 1), ids_(N, 1), torch.tensor([L]),
                              floats(n_layers, N, H, L, dh), floats(n_layers, N, H, L, dh),
                              floats(n_layers, N, H, S, dh), floats(n_layers, N, H, S, dh),
                              torch.tensor([[True] * S, [True, True, True, False, False], [True] * S])),
                        inputs=STEP_INPUTS, outputs=STEP_OUTPUTS,
                        axes={**{k: {0: "N"} for k in STEP_INPUTS[:4]},
                              "self_k": kv_axes, "self_v": kv_axes,
                              "cross_k": {1: "N", 3: "S"}, "cross_v": {1: "N", 3: "S"},
                              "memory_mask": {0: "N", 1: "S"}}),
        "decoder_tree": dict(module=DecoderTreeGraph(model),
                             args=(*(ids_(B, L + 2) for _ in range(4)), torch.tensor([[0, 1, 2, 2], [0, 1, 0, 0]]),
                                   torch.tensor([[[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 0, 1]],
                                                 [[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]], dtype=torch.bool),
                                   floats(B, S, d), torch.tensor([[True] * S, [True, True, True, False, False]]),
                                   torch.tensor([[0, 0, 5], [0, 1, 6], [0, 2, 7], [0, 3, 8], [1, 0, 9], [1, 1, 6]])),
                             inputs=TREE_INPUTS, outputs=("logits",),
                             axes={**{k: {0: "G", 1: "M"} for k in (*TREE_INPUTS[:5],)},
                                   "steps_mask": {0: "G", 1: "M", 2: "M"}, "memory": {0: "G", 1: "S"},
                                   "memory_mask": {0: "G", 1: "S"}, "picks": {0: "K"}}),
        "char_head": dict(module=CharHeadGraph(model), args=(floats(N, d),), inputs=("hidden",),
                          outputs=("log_probs",), axes={"hidden": {0: "N"}}),
        "syllable_head": dict(module=SyllableHeadGraph(model), args=(floats(N, d),), inputs=("hidden",),
                              outputs=("log_probs",), axes={"hidden": {0: "N"}}),
        "nar_head": dict(module=NarHeadGraph(model),
                         args=(floats(B, S, d), torch.tensor([0, 1, 1]), torch.tensor([2, 0, 1])),
                         inputs=("memory", "rows", "positions"), outputs=("log_probs",),
                         axes={"memory": BS, "rows": {0: "N"}, "positions": {0: "N"}}),
        "char_logits_at": dict(module=CharLogitsAtGraph(model), args=(floats(N, d), cands),
                               inputs=("hidden", "cands"), outputs=("logits",),
                               axes={"hidden": {0: "N"}, "cands": {0: "N", 1: "C"}}),
        "nar_logits_at": dict(module=NarLogitsAtGraph(model),
                              args=(floats(B, S, d), torch.tensor([0, 1, 1]), torch.tensor([2, 0, 1]), cands),
                              inputs=("memory", "rows", "positions", "cands"), outputs=("logits",),
                              axes={"memory": BS, "rows": {0: "N"}, "positions": {0: "N"},
                                    "cands": {0: "N", 1: "C"}}),
    }


def _dynamic_shapes(spec: dict[str, Any], max_positions: int) -> dict[str, Any]:
    """torch.export dynamic shapes for a spec's axes (S and the cache length bounded by the
    model's positions)."""
    from torch.export import Dim

    dims: dict[str, Any] = {}

    def dim(name: str) -> Any:
        if name not in dims:
            if name == "S":
                dims[name] = Dim("S", min=1, max=max_positions)
            elif name == "L":
                dims[name] = Dim("L", min=0, max=max_positions)
            else:
                dims[name] = Dim(name, min=1)
        return dims[name]

    return {name: {axis: dim(label) for axis, label in spec["axes"].get(name, {}).items()} for name in spec["inputs"]}


@contextlib.contextmanager
def _quiet():
    """Silence the exporter's and the quantizer's chatter (torchvision not installed, deprecation
    notes, advice to preprocess): the export either works or raises."""
    root = logging.getLogger()
    exporter = logging.getLogger("torch.onnx")
    levels = root.level, exporter.level
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root.setLevel(logging.ERROR)
        exporter.setLevel(logging.ERROR)
        try:
            yield
        finally:
            root.setLevel(levels[0])
            exporter.setLevel(levels[1])


def _export_graph(spec: dict[str, Any], path: Path, opset: int, max_positions: int) -> None:
    module = spec["module"].eval()
    with _quiet(), torch.no_grad():
        program = torch.onnx.export(
            module, spec["args"], dynamo=True, opset_version=opset, input_names=list(spec["inputs"]),
            output_names=list(spec["outputs"]), dynamic_shapes=_dynamic_shapes(spec, max_positions),
            external_data=False, optimize=True, verbose=False)
    if program is None:
        raise ExportError(f"torch.onnx.export returned no program for {path.name}")
    program.save(str(path), external_data=False)


# MatMul weights only (the embedding tables, Gather, and the LayerNorms stay float), one scale per
# output channel; 7-bit weight range, which CPUs without VNNI need to avoid saturating int16 sums
# (on pd1998-test, 300 items, 120-minute small model: per-channel took top-1 agreement with fp32
# from 88 % to 89-91 %, reduce_range cost nothing measurable).
QUANTIZATION = {"method": "dynamic", "weights": "int8", "op_types": ["MatMul", "Gemm"], "per_channel": True,
                "reduce_range": True}


def _quantize(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet():
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8,
                         op_types_to_quantize=QUANTIZATION["op_types"], per_channel=QUANTIZATION["per_channel"],
                         reduce_range=QUANTIZATION["reduce_range"])
    try:
        import onnxruntime as ort

        ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"])  # it must load
    except Exception as e:
        raise ExportError(f"the quantized graph {dst.name} does not load: {e}") from None


# --- parity check -----------------------------------------------------------------------------------
@torch.inference_mode()
def _verify(model: PinhanModel, directory: Path, atol: float = 1e-3, depths: tuple[int, ...] = ()) -> None:
    """Run every fp32 graph once through onnxruntime and compare it with the PyTorch model."""
    import onnxruntime as ort

    from pinhan.infer.runner import TorchRunner

    runner = TorchRunner(model, "cpu")
    sessions = {}
    for name in (*GRAPHS, *map(at_graph, depths)):
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        sessions[name] = ort.InferenceSession(str(directory / f"{name}.onnx"), options,
                                              providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    c = model.config
    B, S = 3, 7  # sizes unlike the export examples': the axes must really be dynamic
    batch = {k: rng.integers(1, 4, (B, S)).astype(np.int64) for k in ENCODER_INPUTS[:4]}
    batch["segments"] = np.array([[1, 1, 1, 2, 2, 2, 2], [2, 2, 2, 0, 0, 0, 0], [2] * 7], dtype=np.int64)
    batch["task"] = np.array([0, 1, 0], dtype=np.int64)
    problems = []

    def check(what: str, got: np.ndarray, want: np.ndarray) -> None:
        want = np.asarray(want)
        if got.shape != want.shape:
            problems.append(f"{what}: shape {got.shape} != {want.shape}")
        elif got.dtype == np.bool_ or want.dtype == np.bool_:
            if not np.array_equal(got, want):
                problems.append(f"{what}: values differ")
        elif not np.allclose(got, want, atol=atol, rtol=1e-3):
            problems.append(f"{what}: max difference {float(np.max(np.abs(got - want))):.3g}")

    memory, mask = sessions["encoder"].run(None, {k: batch[k] for k in ENCODER_INPUTS})
    enc = runner.encode(batch)
    check("encoder memory", memory, enc.memory.numpy())
    check("encoder mask", mask, enc.mask.numpy())
    at_rows, at_positions = np.array([2, 0, 0, 1, 2], dtype=np.int64), np.array([6, 0, 2, 1, 3], dtype=np.int64)
    for k in depths:
        got = sessions[at_graph(k)].run(None, {**{key: batch[key] for key in ENCODER_INPUTS}, "rows": at_rows,
                                               "positions": at_positions})[0]
        check(f"encoder of {k} layers at positions", got, runner.encode_at(batch, at_rows, at_positions, layers=k))
    rows = np.array([0, 0, 1, 2, 2], dtype=np.int64)
    positions = np.array([3, 5, 1, 0, 6], dtype=np.int64)
    check("nar head", sessions["nar_head"].run(None, {"memory": memory, "rows": rows, "positions": positions})[0],
          runner.nar_log_probs(enc, rows, positions))
    cross_k, cross_v = sessions["cross_kv"].run(None, {"memory": memory})
    n_layers, H, dh = c.n_decoder_layers, c.n_heads, c.d_model // c.n_heads
    cands = np.array([[5, 6, -1], [7, 8, 9], [5, -1, -1], [10, 11, 12], [6, 7, -1]], dtype=np.int64)
    self_k = self_v = np.zeros((n_layers, len(rows), H, 0, dh), dtype=np.float32)
    state = runner.start(enc, rows)
    for t in range(3):
        step = {k: rng.integers(1, 4, (len(rows), 1)).astype(np.int64) for k in STEP_INPUTS[:4]}
        feeds = {**step, "position": np.array([t], dtype=np.int64), "self_k": self_k, "self_v": self_v,
                 "cross_k": cross_k[:, rows], "cross_v": cross_v[:, rows], "memory_mask": mask[rows]}
        hidden, self_k, self_v = sessions["decoder"].run(None, feeds)
        want, state = runner.step(state, {k: v[:, 0] for k, v in step.items()})
        check(f"decoder step {t}", hidden, want.numpy())
        check(f"decoder step {t} self keys", self_k[-1], state.self_k[-1].numpy())
        check(f"char head {t}", sessions["char_head"].run(None, {"hidden": hidden})[0], runner.char_log_probs(want))
        check(f"syllable head {t}", sessions["syllable_head"].run(None, {"hidden": hidden})[0],
              runner.syllable_log_probs(want))
        check(f"candidate logits {t}", sessions["char_logits_at"].run(None, {"hidden": hidden, "cands": cands})[0],
              _masked(model.char_logits(want, torch.from_numpy(cands)), cands))
    trees = np.array([0, 2], dtype=np.int64)  # encoder rows of two trees of 4 steps: 0-1-2 and 0-1-3; 0-1 and 2-3
    inputs = {k: rng.integers(1, 4, (2, 4)).astype(np.int64) for k in TREE_INPUTS[:4]}
    depths = np.array([[0, 1, 2, 2], [0, 1, 0, 1]], dtype=np.int64)
    steps_mask = np.array([[[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 0, 1]],
                           [[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1]]], dtype=bool)
    picks = np.array([[0, 0, 5], [0, 1, 6], [0, 2, 7], [0, 3, 8], [1, 1, 9], [1, 3, 10], [1, 2, 6]], dtype=np.int64)
    check("tree decoder", sessions["decoder_tree"].run(
        None, {**inputs, "positions": depths, "steps_mask": steps_mask, "memory": memory[trees],
               "memory_mask": mask[trees], "picks": picks})[0],
        runner.tree_logits(enc, trees, inputs, depths, steps_mask, picks))
    check("nar candidate logits", sessions["nar_logits_at"].run(
        None, {"memory": memory, "rows": rows, "positions": positions, "cands": cands})[0],
        _masked(model.encoder_char_logits(enc.memory[rows, positions], torch.from_numpy(cands)), cands))
    if problems:
        raise ExportError("the ONNX graphs do not match the PyTorch model: " + "; ".join(problems))


def _masked(logits: Tensor, cands: np.ndarray) -> np.ndarray:
    return np.where(cands < 0, -np.inf, logits.detach().float().numpy()).astype(np.float32)


# --- export -----------------------------------------------------------------------------------------
def export_onnx(model_dir: str | os.PathLike, out_dir: str | os.PathLike, *, int8: bool = False,
                opset: int = DEFAULT_OPSET, overwrite: bool = False, verify: bool = True) -> Path:
    """Export ``model_dir`` to ONNX graphs in ``out_dir`` (see the module docstring).

    Args:
        model_dir: a model directory (:class:`~pinhan.data.model_dir.ModelDir`: config,
            weights, vocabulary, lexicon).
        out_dir: the export directory; ``model_dir/onnx`` is where ``pinhan.load(model_dir,
            backend="onnx")`` looks.
        int8: also write dynamically quantized ``*.int8.onnx`` graphs.
        opset: the ONNX opset.
        overwrite: replace an existing ``out_dir`` (else it is an error).
        verify: check the fp32 graphs against the PyTorch model before renaming into place.

    Returns:
        ``out_dir`` as a :class:`~pathlib.Path`.

    Raises:
        CheckpointError: the model directory is missing or broken.
        ExportError: ``out_dir`` exists (without ``overwrite``), or exporting or checking failed.
    """
    source, out_dir = ModelDir(model_dir), Path(out_dir)
    model_dir = source.path
    _require(["onnx", "onnxscript"] + (["onnxruntime"] if verify or int8 else []))
    model = load_model(model_dir).float().eval()
    for name in COPIED:
        if not (source / name).is_file():
            raise CheckpointError(f"{model_dir} has no {name}: not a complete pinhan model directory")
    resolved = out_dir.resolve()
    if resolved == model_dir.resolve() or resolved in model_dir.resolve().parents:
        raise ExportError(f"{out_dir} would replace the model directory; export into a new directory such as "
                          f"{source.onnx}")
    if out_dir.exists():
        if not overwrite:
            raise ExportError(f"{out_dir} already exists (pass --overwrite to replace it)")
        if not out_dir.is_dir():
            raise ExportError(f"{out_dir} exists and is not a directory")
        if any(out_dir.iterdir()) and not (out_dir / MANIFEST).is_file():
            raise ExportError(f"{out_dir} is not an ONNX export (no {MANIFEST}); --overwrite only replaces exports")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.", suffix=".tmp"))
    depths = at_layers(source, model.config.n_encoder_layers)  # what g2p's head reads
    try:
        os.chmod(tmp, 0o755)  # mkdtemp makes it private
        names = (*GRAPHS, *map(at_graph, depths))
        graphs = {name: f"{name}.onnx" for name in names}
        for name, spec in _specs(model, depths).items():
            _export_graph(spec, tmp / graphs[name], opset, model.config.max_positions)
        if verify:
            _verify(model, tmp, depths=depths)
        graphs_int8 = {}
        if int8:
            for name in names:
                graphs_int8[name] = f"{name}.int8.onnx"
                _quantize(tmp / graphs[name], tmp / graphs_int8[name])
        for name in COPIED:
            shutil.copyfile(source / name, tmp / name)
        if source.has_ngram():  # the n-gram for fusion travels with the graphs
            shutil.copyfile(source.ngram, tmp / ModelDir.NGRAM)
        if source.polyphone.is_file():  # so does g2p's polyphone head (numpy, on the encoder's memory)
            shutil.copyfile(source.polyphone, tmp / ModelDir.POLYPHONE)
        c = model.config
        weights = source.weights
        manifest = {
            "format": FORMAT, "version": VERSION, "opset": opset, "int8": bool(int8),
            "source": str(model_dir.resolve()), "torch": torch.__version__,
            "source_weights": {"size": weights.stat().st_size, "sha256": sha256_of(weights)},
            "graphs": graphs, "graphs_int8": graphs_int8, "quantization": QUANTIZATION if int8 else None,
            "encoder_at": list(depths),
            "model": {"n_chars": c.n_chars, "n_syllables": c.n_syllables, "max_positions": c.max_positions,
                      "d_model": c.d_model, "n_heads": c.n_heads, "n_decoder_layers": c.n_decoder_layers},
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        _sync(tmp)
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def cached_export(model_dir: str | os.PathLike) -> Path:
    """``model_dir`` if it holds an ONNX export (in it or in ``onnx/``), else an export made once
    into the cache (``$PINHAN_CACHE``, default ``~/.cache/pinhan``), keyed by the weights' hash:
    the default model lives inside the installed package, which should stay as installed."""
    source = ModelDir(model_dir)
    if any((d / MANIFEST).is_file() for d in (source.path, source.onnx)) or not source.weights.is_file():
        return source.path  # an export (or a directory whose problem OnnxRunner.load names)
    cache = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "pinhan") / "onnx"
    n_layers = load_config(source.path).n_encoder_layers
    depths = "".join(f"-at{k}" for k in at_layers(source, n_layers))  # with a polyphone head: its graph too
    out = cache / f"{sha256_of(source.weights)[:16]}-v{VERSION}{depths}"  # a newer export format: a new export
    if not (out / MANIFEST).is_file():
        print(f"pinhan: exporting {source.path} to ONNX once, into {out}", file=sys.stderr)
        out.parent.mkdir(parents=True, exist_ok=True)
        export_onnx(source.path, out, int8=True, overwrite=True)
    return out


def _require(modules: list[str]) -> None:
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        names = " ".join(missing)
        raise ExportError(f"exporting to ONNX needs the packages {names} (pip install {names})")


def _sync(directory: Path) -> None:
    """Flush every file of ``directory``, then the directory, to disk (before renaming it into place)."""
    for path in directory.iterdir():
        with open(path, "rb+") as f:
            os.fsync(f.fileno())
    fsync_dir(directory)


def _replace_dir(new: Path, target: Path) -> None:
    """Rename ``new`` to ``target``; an old ``target`` is moved aside first and removed after."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".old"))
        os.replace(target, old / "export")
    try:
        os.replace(new, target)
    except BaseException:
        if old is not None:
            os.replace(old / "export", target)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
