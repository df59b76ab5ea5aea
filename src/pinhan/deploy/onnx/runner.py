"""The :class:`~pinhan.infer.runner.Runner` on onnxruntime: the graphs ``pinhan export`` writes
(:mod:`pinhan.deploy.onnx.export`), run on onnxruntime's CPU execution provider; PyTorch computes nothing.

::

    runner = OnnxRunner.load("runs/small/best")          # its onnx/ export, or an export dir
    runner = OnnxRunner.load("export/", threads=1, quantized=True)   # the int8 graphs

State between calls is plain numpy: the encoder memory and mask; per decoder row the stacked
self-attention keys/values of every layer (n_layers, N, H, L, dh), which grow by one step per
call, and the cross-attention keys/values (n_layers, N, H, S, dh), projected once in
:meth:`OnnxRunner.start` and passed to every step as they are (onnxruntime reads numpy inputs in
place, and :meth:`OnnxRunner.reorder` leaves them alone: beams only move within their input).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pinhan.data.model_dir import ModelDir
from pinhan.data.corpora.fetch import sha256_of
from pinhan.deploy.onnx.export import (AT_INPUTS, COPIED, ENCODER_INPUTS, FORMAT, GRAPHS, MANIFEST, STEP_INPUTS, VERSION, at_graph,
                                       at_layers)
from pinhan.errors import ConfigError
from pinhan.infer.inputs import positions_in
from pinhan.model.io import CheckpointError, check_directory, load_config

_STEP_IDS = STEP_INPUTS[:4]  # chars, initials, finals, tones


@dataclass(frozen=True)
class _OnnxEncoded:
    memory: np.ndarray  # (B, S, d) float32
    mask: np.ndarray  # (B, S) bool, True at real positions


@dataclass(frozen=True)
class _OnnxState:
    self_k: np.ndarray  # (n_layers, N, H, L, dh)
    self_v: np.ndarray  # (n_layers, N, H, L, dh)
    cross_k: np.ndarray  # (n_layers, N, H, S, dh)
    cross_v: np.ndarray  # (n_layers, N, H, S, dh)
    mask: np.ndarray  # (N, S) bool memory key mask of each row
    position: int  # decoder steps taken so far


def find_export(directory: str | os.PathLike) -> Path:
    """The export directory for ``directory``: itself if it holds ``onnx.json``, else its
    ``onnx/`` subdirectory if that does. Raises :class:`CheckpointError` otherwise."""
    source = ModelDir(directory)
    directory = source.path
    check_directory(directory)
    for candidate in (directory, source.onnx):
        if (candidate / MANIFEST).is_file():
            return candidate
    raise CheckpointError(f"{directory} has no ONNX export ({MANIFEST} in it or in {source.onnx}); "
                          f"write one with: pinhan export --model {directory} --onnx {source.onnx}")


def read_manifest(export_dir: Path) -> dict:
    """Read and check ``onnx.json``; raises :class:`CheckpointError` naming the problem."""
    path = export_dir / MANIFEST
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path} cannot be read as JSON: {e}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a pinhan ONNX manifest (format {FORMAT!r} expected)")
    if doc.get("version") != VERSION:
        raise CheckpointError(f"{path} has version {doc.get('version')!r}; this pinhan reads version {VERSION} "
                              f"(export it again: pinhan export --model DIR --onnx OUT --overwrite)")
    for key in ("graphs", "graphs_int8"):
        if not isinstance(doc.get(key), dict):
            raise CheckpointError(f'{path} has no "{key}" table')
    depths = doc.setdefault("encoder_at", [])  # exports before it have none
    if not isinstance(depths, list) or not all(isinstance(k, int) and not isinstance(k, bool) and k > 0 for k in depths):
        raise CheckpointError(f'{path}: "encoder_at" must be a list of positive layer counts, got {depths!r}')
    missing = [name for name in (*GRAPHS, *map(at_graph, depths)) if not isinstance(doc["graphs"].get(name), str)]
    if missing:
        raise CheckpointError(f"{path} lists no graph for {', '.join(missing)}")
    return doc


def check_fresh(model_dir: Path, export_dir: Path) -> None:
    """Raise :class:`CheckpointError` if ``export_dir`` was not exported from ``model_dir`` as it
    is now (the model was trained further, or its vocabulary changed, after the export): the
    caller reads the vocabulary from ``model_dir``, so a stale export would convert wrongly."""
    manifest = read_manifest(export_dir)
    stale = []
    weights = manifest.get("source_weights") or {}
    path = ModelDir(model_dir).weights
    if weights and path.is_file():
        if path.stat().st_size != weights.get("size") or sha256_of(path) != weights.get("sha256"):
            stale.append(ModelDir.WEIGHTS)
    source = ModelDir(model_dir)
    n_layers = load_config(model_dir).n_encoder_layers if source.config_file.is_file() else 0
    if not {k for k in at_layers(source, n_layers) if k < n_layers} <= set(manifest["encoder_at"]):  # all: see encode_at
        stale.append(f"{ModelDir.POLYPHONE} (its head reads encoder layers the export has no graph for)")
    for name in COPIED:
        if (model_dir / name).is_file() and (export_dir / name).is_file():
            if name == ModelDir.CONFIG:
                same = load_config(model_dir) == load_config(export_dir)
            else:
                same = (model_dir / name).read_bytes() == (export_dir / name).read_bytes()
            if not same:
                stale.append(name)
    if stale:
        raise CheckpointError(f"{export_dir} is out of date: {', '.join(stale)} in {model_dir} changed since the "
                              f"export; export again with: pinhan export --model {model_dir} --onnx {export_dir} "
                              "--overwrite")


class OnnxRunner:
    """Encoder, decoder step and heads on onnxruntime's CPU execution provider.

    Args:
        export_dir: a directory written by :func:`pinhan.deploy.onnx.export.export_onnx`.
        threads: intra-op threads per graph (None: onnxruntime's default, one per core).
        quantized: use the int8 graphs (the export must have been made with ``int8``).
    """

    def __init__(self, export_dir: str | os.PathLike, *, threads: int | None = None, quantized: bool = False) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise ConfigError("the onnx backend needs onnxruntime (pip install onnxruntime)") from None
        export_dir = Path(export_dir)
        manifest = read_manifest(export_dir)
        if quantized and not manifest.get("int8"):
            raise CheckpointError(f"{export_dir} has no int8 graphs; export again with --int8")
        config = load_config(export_dir)  # the copy of the model's config.json
        self.export_dir, self.quantized = export_dir, quantized
        self.n_chars, self.n_syllables, self.max_positions = config.n_chars, config.n_syllables, config.max_positions
        self.n_layers, self.n_heads = config.n_decoder_layers, config.n_heads
        self.n_encoder_layers = config.n_encoder_layers
        self.head_dim = config.d_model // config.n_heads

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        if threads:
            options.intra_op_num_threads = int(threads)
        options.log_severity_level = 3  # errors only
        table = manifest["graphs_int8"] if quantized else manifest["graphs"]
        self._sessions = {}
        for name in (*GRAPHS, *map(at_graph, manifest["encoder_at"])):
            file = table.get(name)
            if not isinstance(file, str):
                kind = "int8 graph" if quantized else "graph"
                raise CheckpointError(f"{export_dir / MANIFEST} lists no {kind} for {name}")
            path = export_dir / file
            if not path.is_file():
                raise CheckpointError(f"{path} is missing (a partial or damaged export; export again)")
            try:
                self._sessions[name] = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            except Exception as e:  # onnxruntime raises its own types for unreadable or invalid graphs
                raise CheckpointError(f"{path} is not a valid ONNX graph: {str(e).strip()[:300]}") from None
        step_inputs = tuple(i.name for i in self._sessions["decoder"].get_inputs())
        if set(step_inputs) != set(STEP_INPUTS):
            raise CheckpointError(f"{export_dir / table['decoder']} has inputs {', '.join(step_inputs)}, "
                                  f"expected {', '.join(STEP_INPUTS)}")
        for depth in manifest["encoder_at"]:
            at_inputs = tuple(i.name for i in self._sessions[at_graph(depth)].get_inputs())
            if set(at_inputs) != {*ENCODER_INPUTS, *AT_INPUTS}:
                raise CheckpointError(f"{export_dir / table[at_graph(depth)]} has inputs {', '.join(at_inputs)}, expected "
                                      f"{', '.join((*ENCODER_INPUTS, *AT_INPUTS))} (export again)")
        # bound methods and output names, looked up once: every step calls them
        self._run = {name: session.run for name, session in self._sessions.items()}
        self._outputs = {name: [o.name for o in session.get_outputs()] for name, session in self._sessions.items()}
        self._positions = [np.array([p], dtype=np.int64) for p in range(self.max_positions)]

    @classmethod
    def load(cls, directory: str | os.PathLike, *, threads: int | None = None, quantized: bool = False) -> OnnxRunner:
        """Open the export in ``directory`` or in ``directory/onnx`` (see :func:`find_export`); in
        the second case the export must have been made from the model directory as it is now."""
        export_dir = find_export(directory)
        if export_dir != Path(directory):
            check_fresh(Path(directory), export_dir)
        return cls(export_dir, threads=threads, quantized=quantized)

    def __repr__(self) -> str:
        return f"OnnxRunner({str(self.export_dir)!r}, quantized={self.quantized})"

    # --- encoder --------------------------------------------------------------------------------
    def encode(self, batch: dict[str, np.ndarray]) -> _OnnxEncoded:
        memory, mask = self._run["encoder"](self._outputs["encoder"], self._encoder_feeds(batch))
        return _OnnxEncoded(memory, mask)

    def encode_at(self, batch: dict[str, np.ndarray], rows: np.ndarray, positions: np.ndarray,
                  layers: int | None = None) -> np.ndarray:
        feeds = self._encoder_feeds(batch)
        depth = self.n_encoder_layers if layers is None else min(layers, self.n_encoder_layers)
        name = at_graph(depth)
        rows, positions = positions_in(batch, rows, positions)
        if name in self._run:
            feeds["rows"], feeds["positions"] = rows, positions
            return self._run[name](self._outputs[name], feeds)[0]  # (N, d)
        if depth < self.n_encoder_layers:
            raise CheckpointError(f"{self.export_dir} has no graph of the encoder's first {depth} layers (a polyphone "
                                  "head reads them); export again: pinhan export --model DIR --onnx OUT --overwrite")
        # an export made before encoder_at graphs: the whole encoder, gathered here
        memory, _ = self._run["encoder"](self._outputs["encoder"], feeds)  # (B, S, d)
        return memory[rows, positions]  # (N, d)

    def _encoder_feeds(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        feeds = {k: np.ascontiguousarray(batch[k], dtype=np.int64) for k in ENCODER_INPUTS}
        if feeds["chars"].shape[1] > self.max_positions:  # as the torch model: an error, not a crash
            raise ValueError(f"sequence needs positions up to {feeds['chars'].shape[1]}, but max_positions is "
                             f"{self.max_positions}")
        return feeds

    def nar_log_probs(self, encoded: _OnnxEncoded, rows: np.ndarray, positions: np.ndarray) -> np.ndarray:
        feeds = {"memory": encoded.memory, "rows": np.ascontiguousarray(rows, dtype=np.int64),
                 "positions": np.ascontiguousarray(positions, dtype=np.int64)}
        return self._run["nar_head"](self._outputs["nar_head"], feeds)[0]  # (N, n_chars)

    def nar_logits_at(self, encoded: _OnnxEncoded, rows: np.ndarray, positions: np.ndarray,
                      cands: np.ndarray) -> np.ndarray:
        feeds = {"memory": encoded.memory, "rows": np.ascontiguousarray(rows, dtype=np.int64),
                 "positions": np.ascontiguousarray(positions, dtype=np.int64),
                 "cands": np.ascontiguousarray(cands, dtype=np.int64)}
        return self._run["nar_logits_at"](self._outputs["nar_logits_at"], feeds)[0]  # (N, C), -inf at padding

    # --- decoder --------------------------------------------------------------------------------
    def start(self, encoded: _OnnxEncoded, rows: np.ndarray) -> _OnnxState:
        # Cross keys/values are projected once per encoder row, then copied to its beams' rows.
        cross_k, cross_v = self._run["cross_kv"](self._outputs["cross_kv"], {"memory": encoded.memory})
        rows = np.asarray(rows, dtype=np.int64)
        empty = np.zeros((self.n_layers, len(rows), self.n_heads, 0, self.head_dim), dtype=np.float32)
        return _OnnxState(empty, empty, np.take(cross_k, rows, axis=1), np.take(cross_v, rows, axis=1),
                          np.take(encoded.mask, rows, axis=0), 0)

    def step(self, state: _OnnxState, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, _OnnxState]:
        if state.position >= self.max_positions:
            raise ValueError(f"decoder step {state.position} is past the model's {self.max_positions} positions")
        feeds = {k: np.ascontiguousarray(inputs[k], dtype=np.int64).reshape(-1, 1) for k in _STEP_IDS}
        feeds["position"] = self._positions[state.position]
        feeds["self_k"], feeds["self_v"] = state.self_k, state.self_v
        feeds["cross_k"], feeds["cross_v"] = state.cross_k, state.cross_v
        feeds["memory_mask"] = state.mask
        hidden, self_k, self_v = self._run["decoder"](self._outputs["decoder"], feeds)
        return hidden, _OnnxState(self_k, self_v, state.cross_k, state.cross_v, state.mask, state.position + 1)

    def char_log_probs(self, hidden: np.ndarray) -> np.ndarray:
        return self._run["char_head"](self._outputs["char_head"], {"hidden": hidden})[0]  # (N, n_chars)

    def syllable_log_probs(self, hidden: np.ndarray) -> np.ndarray:
        return self._run["syllable_head"](self._outputs["syllable_head"], {"hidden": hidden})[0]  # (N, n_syl)

    def char_logits_at(self, hidden: np.ndarray, cands: np.ndarray) -> np.ndarray:
        feeds = {"hidden": hidden, "cands": np.ascontiguousarray(cands, dtype=np.int64)}
        return self._run["char_logits_at"](self._outputs["char_logits_at"], feeds)[0]  # (N, C), -inf at padding

    def tree_logits(self, encoded: _OnnxEncoded, rows: np.ndarray, inputs: dict[str, np.ndarray], positions: np.ndarray,
                    steps_mask: np.ndarray, picks: np.ndarray) -> np.ndarray:
        if positions.size and int(positions.max()) >= self.max_positions:
            raise ValueError(f"a step at position {int(positions.max())} is past the model's {self.max_positions}")
        rows = np.asarray(rows, dtype=np.int64)
        feeds = {k: np.ascontiguousarray(inputs[k], dtype=np.int64) for k in _STEP_IDS}  # 4 x (G, M)
        feeds["positions"] = np.ascontiguousarray(positions, dtype=np.int64)
        feeds["steps_mask"] = np.ascontiguousarray(steps_mask, dtype=bool)
        feeds["memory"], feeds["memory_mask"] = np.take(encoded.memory, rows, axis=0), np.take(encoded.mask, rows, axis=0)
        feeds["picks"] = np.ascontiguousarray(picks, dtype=np.int64)
        return self._run["decoder_tree"](self._outputs["decoder_tree"], feeds)[0]  # (K,)

    def reorder(self, state: _OnnxState, index: np.ndarray) -> _OnnxState:
        # Row i and row index[i] share an encoder input: only the self-attention history moves.
        index = np.asarray(index)
        if state.position == 0 or np.array_equal(index, np.arange(len(index))):
            return state
        return _OnnxState(np.take(state.self_k, index, axis=1), np.take(state.self_v, index, axis=1),
                          state.cross_k, state.cross_v, state.mask, state.position)
