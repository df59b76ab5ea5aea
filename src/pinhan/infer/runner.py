"""What decoding needs from a model, behind one small interface, so that the same beam search
runs on PyTorch and on onnxruntime.

A runner takes numpy id arrays and gives numpy log-probabilities; what it keeps between calls
(encoder memory, the decoder's key/value cache) is opaque to the caller::

    encoded = runner.encode(batch)                  # batch: (B, S) int64 arrays + task (B,)
    state = runner.start(encoded, rows)              # one decoder row per beam, rows: (N,) -> B
    hidden, state = runner.step(state, step_inputs)  # step_inputs: 4 x (N,) int64
    logp = runner.char_log_probs(hidden)             # (N, n_chars) float32
    state = runner.reorder(state, index)             # beams reordered within their input rows

The torch runner is the reference; ``pinhan.deploy.onnx.runner`` implements the same on
onnxruntime and is checked against it. Both run the model's one decoder step,
:meth:`PinhanModel.decode_step` (the ONNX export traces it), on the same stacked state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from pinhan.infer.inputs import positions_in
from pinhan.model.transformer import PinhanModel

ENCODER_KEYS = ("chars", "initials", "finals", "tones", "segments")
STEP_KEYS = ("chars", "initials", "finals", "tones")


class Runner(Protocol):
    """The model operations decoding uses. Arrays in and out are numpy; states are opaque."""

    n_chars: int
    n_syllables: int
    max_positions: int
    n_encoder_layers: int

    def encode(self, batch: dict[str, np.ndarray]) -> Any:
        """Encoder pass over (B, S) ``chars, initials, finals, tones, segments`` + (B,) ``task``."""

    def encode_at(self, batch: dict[str, np.ndarray], rows: np.ndarray, positions: np.ndarray,
                  layers: int | None = None) -> np.ndarray:
        """Encoder states (N, d) float32 at (rows[i], positions[i]) of ``batch``, after the
        encoder's first ``layers`` layers (None: all) and its final norm; the last layer runs at
        those positions only."""

    def nar_log_probs(self, encoded: Any, rows: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """Encoder hanzi head at (rows[i], positions[i]): (N,) + (N,) -> (N, n_chars) log-probs."""

    def nar_logits_at(self, encoded: Any, rows: np.ndarray, positions: np.ndarray, cands: np.ndarray) -> np.ndarray:
        """Encoder hanzi head at (rows[i], positions[i]), candidate ids only: (N, C) ids, -1
        padding -> (N, C) float32 logits (-inf at padding)."""

    def start(self, encoded: Any, rows: np.ndarray) -> Any:
        """A decoder state with no steps yet, one row per entry of ``rows`` ((N,) encoder rows)."""

    def step(self, state: Any, inputs: dict[str, np.ndarray]) -> tuple[Any, Any]:
        """One decoder step for every row: ``inputs`` 4 x (N,) ids -> (hidden, new state)."""

    def char_log_probs(self, hidden: Any) -> np.ndarray:
        """Decoder hanzi head: (N, n_chars) float32 log-probabilities."""

    def syllable_log_probs(self, hidden: Any) -> np.ndarray:
        """Decoder pinyin head: (N, n_syllables) float32 log-probabilities."""

    def char_logits_at(self, hidden: Any, cands: np.ndarray) -> np.ndarray:
        """Decoder hanzi head at candidate ids only: (N, C) ids, -1 padding -> (N, C) float32
        logits (-inf at padding). Costs C rows of the output matrix instead of all of them."""

    def tree_logits(self, encoded: Any, rows: np.ndarray, inputs: dict[str, np.ndarray], positions: np.ndarray,
                    steps_mask: np.ndarray, picks: np.ndarray) -> np.ndarray:
        """The decoder teacher-forced over trees of steps in one pass
        (:meth:`~pinhan.model.transformer.PinhanModel.decode_tree`): tree i reads encoder row
        ``rows[i]`` ((G,)); its M steps are fed ``inputs`` (4 x (G, M) ids: BOS at a root, else
        what the parent step fed back) at ``positions`` (G, M), step j attending the steps
        ``steps_mask[i, j]`` allows ((G, M, M) bool: its ancestors and itself). ``picks`` (K, 3)
        (tree, step, hanzi id) -> (K,) float32 raw logits of those hanzi at those steps. A
        reading alone is a chain (positions 0..T-1, a lower-triangular mask); readings that
        share their beginning share its steps. The same numbers as :meth:`step` and
        :meth:`char_logits_at` step by step, in one call instead of 2T."""

    def reorder(self, state: Any, index: np.ndarray) -> Any:
        """Row i takes the decoder history of row ``index[i]`` ((N,) ints), which must share row
        i's encoder input (beams of one input are reordered among themselves)."""


@dataclass(frozen=True)
class _TorchEncoded:
    memory: torch.Tensor  # (B, S, d)
    mask: torch.Tensor  # (B, S) bool


@dataclass(frozen=True)
class _TorchState:
    self_k: torch.Tensor  # (n_layers, N, H, L, dh)
    self_v: torch.Tensor  # (n_layers, N, H, L, dh)
    cross_k: torch.Tensor  # (n_layers, N, H, S, dh)
    cross_v: torch.Tensor  # (n_layers, N, H, S, dh)
    mask: torch.Tensor  # (N, S) bool memory key mask of each row
    position: int  # decoder steps taken so far


class TorchRunner:
    """The reference runner: a :class:`PinhanModel` in eval mode on ``device``."""

    def __init__(self, model: PinhanModel, device: str | torch.device | None = None) -> None:
        self.model = model.eval()
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        config = model.config
        self.n_chars, self.n_syllables, self.max_positions = config.n_chars, config.n_syllables, config.max_positions
        self.n_encoder_layers = config.n_encoder_layers
        self._layers = config.n_decoder_layers
        self._heads = config.n_heads
        self._head_dim = config.d_model // config.n_heads

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(array), device=self.device)

    @torch.inference_mode()
    def encode(self, batch: dict[str, np.ndarray]) -> _TorchEncoded:
        out = self.model.encode({k: self._tensor(batch[k]) for k in (*ENCODER_KEYS, "task")})
        return _TorchEncoded(out.memory, out.mask)

    @torch.inference_mode()
    def encode_at(self, batch: dict[str, np.ndarray], rows: np.ndarray, positions: np.ndarray,
                  layers: int | None = None) -> np.ndarray:
        rows, positions = positions_in(batch, rows, positions)
        states = self.model.encode_at({k: self._tensor(batch[k]) for k in (*ENCODER_KEYS, "task")},
                                      self._tensor(rows), self._tensor(positions), layers=layers)
        return states.float().cpu().numpy()  # (N, d)

    @torch.inference_mode()
    def nar_log_probs(self, encoded: _TorchEncoded, rows: np.ndarray, positions: np.ndarray) -> np.ndarray:
        h = encoded.memory[self._tensor(rows), self._tensor(positions)]  # (N, d)
        logits = self.model.encoder_char_logits(h).float()  # (N, V)
        return torch.log_softmax(logits, dim=-1).cpu().numpy()

    @torch.inference_mode()
    def nar_logits_at(self, encoded: _TorchEncoded, rows: np.ndarray, positions: np.ndarray, cands: np.ndarray) -> np.ndarray:
        h = encoded.memory[self._tensor(rows), self._tensor(positions)]  # (N, d)
        logits = self.model.encoder_char_logits(h, self._tensor(cands)).float().cpu().numpy()  # (N, C)
        return np.where(cands < 0, -np.inf, logits).astype(np.float32)

    @torch.inference_mode()
    def start(self, encoded: _TorchEncoded, rows: np.ndarray) -> _TorchState:
        # Cross-attention keys/values are projected once per encoder row, then shared by its beams.
        index = self._tensor(rows.astype(np.int64))  # (N,)
        cross_k, cross_v = self.model.cross_kv(encoded.memory)  # 2 x (n_layers, B, H, S, dh)
        empty = cross_k.new_zeros((self._layers, len(rows), self._heads, 0, self._head_dim))  # (n_layers, N, H, 0, dh)
        return _TorchState(empty, empty, cross_k.index_select(1, index), cross_v.index_select(1, index),
                           encoded.mask.index_select(0, index), 0)

    @torch.inference_mode()
    def step(self, state: _TorchState, inputs: dict[str, np.ndarray]) -> tuple[torch.Tensor, _TorchState]:
        if state.position >= self.max_positions:  # the embedding would index past its table
            raise ValueError(f"sequence needs positions up to {state.position + 1}, but max_positions is "
                             f"{self.max_positions}")
        dec = {k: self._tensor(inputs[k].reshape(-1, 1)) for k in STEP_KEYS}  # 4 x (N, 1)
        position = torch.tensor([state.position], device=self.device)  # (1,)
        hidden, self_k, self_v = self.model.decode_step(dec, position, state.self_k, state.self_v, state.cross_k,
                                                        state.cross_v, state.mask)  # (N, d)
        return hidden, _TorchState(self_k, self_v, state.cross_k, state.cross_v, state.mask, state.position + 1)

    @torch.inference_mode()
    def char_log_probs(self, hidden: torch.Tensor) -> np.ndarray:
        return torch.log_softmax(self.model.char_logits(hidden).float(), dim=-1).cpu().numpy()  # (N, V)

    @torch.inference_mode()
    def syllable_log_probs(self, hidden: torch.Tensor) -> np.ndarray:
        return torch.log_softmax(self.model.syllable_logits(hidden).float(), dim=-1).cpu().numpy()  # (N, n_syl)

    @torch.inference_mode()
    def char_logits_at(self, hidden: torch.Tensor, cands: np.ndarray) -> np.ndarray:
        logits = self.model.char_logits(hidden, self._tensor(cands)).float().cpu().numpy()  # (N, C)
        return np.where(cands < 0, -np.inf, logits).astype(np.float32)

    @torch.inference_mode()
    def tree_logits(self, encoded: _TorchEncoded, rows: np.ndarray, inputs: dict[str, np.ndarray], positions: np.ndarray,
                    steps_mask: np.ndarray, picks: np.ndarray) -> np.ndarray:
        if positions.size and int(positions.max()) >= self.max_positions:
            raise ValueError(f"a step at position {int(positions.max())} is past the model's {self.max_positions}")
        index = self._tensor(np.asarray(rows, dtype=np.int64))
        dec = {k: self._tensor(np.asarray(inputs[k], dtype=np.int64)) for k in STEP_KEYS}  # 4 x (G, M)
        hidden = self.model.decode_tree(dec, self._tensor(np.asarray(positions, dtype=np.int64)),
                                        self._tensor(np.asarray(steps_mask, dtype=bool)),
                                        encoded.memory.index_select(0, index), encoded.mask.index_select(0, index))
        pick = self._tensor(np.asarray(picks, dtype=np.int64))  # (K, 3)
        chosen = hidden[pick[:, 0], pick[:, 1]]  # (K, d)
        return self.model.char_logits(chosen, pick[:, 2:3])[:, 0].float().cpu().numpy()  # (K,)

    @torch.inference_mode()
    def reorder(self, state: _TorchState, index: np.ndarray) -> _TorchState:
        # Row i and row index[i] share an encoder input, so cross keys/values and the memory mask
        # stay where they are; only the self-attention history moves.
        index_t = self._tensor(index.astype(np.int64))
        return _TorchState(state.self_k.index_select(1, index_t), state.self_v.index_select(1, index_t),
                           state.cross_k, state.cross_v, state.mask, state.position)
