"""The polyphone head: a softmax over one character's candidate readings only (the g2pW idea),
read off the frozen shared encoder's states at that character and its neighbours, after the
encoder's first ``encoder_layers`` layers and its final norm (all of them in heads written
before that setting; g2p then runs that much of the encoder and no more).

For the encoder states at a hanzi ``c`` with candidate readings ``r_1..r_K``, concatenated as
``h = [h_i, h_{i-1}, h_{i+1}, ..., h_{i-w}, h_{i+w}]`` (``window`` w neighbours each side, zeros
beyond the character's run; (d * (2w + 1),))::

    score(r) = tanh(h W + b) . S[r]  +  (h U + u) . P[c, r]  +  q[c, r]

``S`` is one embedding per toned syllable (shared by every character that reads it), ``P`` and
``q`` one small embedding and bias per (character, reading) pair seen in training; a pair never
seen shares the row ``n_pairs`` (zeros unless trained). Everything is vocabulary ids: the model
layer knows no characters.

Several heads trained from other seeds are shipped as one (:func:`merge_heads`): side by side
along ``D`` and ``P``, they score the mean of their scores.

The file (``polyphone.safetensors`` in a model directory) describes itself: its safetensors
metadata holds ``format``, ``version``, the sizes and the recipe that made it. Version 2 stores
the rows of ``S`` that some (character, reading) pair reads (``syllable_ids``) and no others;
version 1 files, which store every row, load as before. It may also carry
the :class:`~pinhan.model.reading_memory.ReadingMemory` of the gold examples the head was trained
on (tensors ``memory_keys`` (M, 3), ``memory_syllables`` (M,), ``memory_counts`` (M,); files
without them load with no memory). Inference runs in numpy (:class:`PolyphoneScorer`), so the
torch and the onnxruntime backends share it: the head reads the encoder states either backend
returns (the ONNX export adds one graph, the encoder cut to the head's layers, when the head reads
fewer than all).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file
from torch import Tensor, nn

from pinhan.model.io import CheckpointError
from pinhan.model.reading_memory import ReadingMemory

FORMAT = "pinhan-polyphone"
VERSION = 2  # 2: syllable_emb holds only the rows of the syllables some pair reads (syllable_ids); 1: every row
READS = (1, 2)
MEMORY_TENSORS = ("memory_keys", "memory_syllables", "memory_counts")  # optional


@dataclass(frozen=True)
class PolyphoneConfig:
    """Sizes of a polyphone head.

    Args:
        d_model: width of the encoder state it reads.
        n_chars: hanzi vocabulary size of the model it belongs to (checked at load).
        n_syllables: toned-syllable vocabulary size (rows of ``S``).
        n_pairs: (character, reading) pairs with their own row in ``P`` and ``q``.
        dim: width of the shared reading space (``W``, ``S``).
        pair_dim: width of the per-pair space (``U``, ``P``).
        window: encoder states of this many neighbours each side join the character's own (the
            head then reads ``d_model * (2 * window + 1)`` values; 0 in heads written before it).
        encoder_layers: the states it reads are the output of the encoder's first this many
            layers (then the encoder's final norm), so g2p runs only those; 0: all of them (heads
            written before it).
    """

    d_model: int
    n_chars: int
    n_syllables: int
    n_pairs: int
    dim: int = 128
    pair_dim: int = 16
    window: int = 0
    encoder_layers: int = 0

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            least = 0 if name in ("n_pairs", "window", "encoder_layers") else 1
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                kind = "a whole number >= 0" if least == 0 else "a positive integer"
                raise CheckpointError(f"polyphone head: {name} must be {kind}, got {value!r}")

    @property
    def input_dim(self) -> int:
        """Width of what the head reads: the character's state and its neighbours'."""
        return self.d_model * (2 * self.window + 1)

    @property
    def layers(self) -> int | None:
        """The encoder layers to run for this head (None: all)."""
        return self.encoder_layers or None


class PolyphoneHead(nn.Module):
    """The trainable head (torch). ``pairs`` (n_pairs, 2): (char id, syllable id) of each own row."""

    def __init__(self, config: PolyphoneConfig, pairs: np.ndarray) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("pairs", torch.as_tensor(pairs, dtype=torch.long).reshape(-1, 2), persistent=False)
        self.proj = nn.Linear(config.input_dim, config.dim)
        self.pair_proj = nn.Linear(config.input_dim, config.pair_dim)
        self.syllable_emb = nn.Embedding(config.n_syllables, config.dim)
        self.pair_emb = nn.Embedding(config.n_pairs + 1, config.pair_dim)  # last row: a pair never seen
        self.pair_bias = nn.Embedding(config.n_pairs + 1, 1)
        nn.init.normal_(self.syllable_emb.weight, std=0.02)
        nn.init.zeros_(self.pair_emb.weight)
        nn.init.zeros_(self.pair_bias.weight)

    def forward(self, h: Tensor, syllables: Tensor, pair_rows: Tensor) -> Tensor:
        """Scores (N, K) of candidates ``syllables`` (N, K) (-1 padding -> -1e9) whose pair rows are
        ``pair_rows`` (N, K) for states ``h`` (N, input_dim)."""
        z = torch.tanh(self.proj(h))  # (N, D)
        zp = self.pair_proj(h)  # (N, P)
        shared = (self.syllable_emb(syllables.clamp(min=0)) @ z[:, :, None]).squeeze(-1)  # (N, K)
        own = (self.pair_emb(pair_rows) @ zp[:, :, None]).squeeze(-1) + self.pair_bias(pair_rows).squeeze(-1)  # (N, K)
        return (shared + own).masked_fill(syllables < 0, -1e9)

    def save(self, path: str | os.PathLike, recipe: dict | None = None, memory: ReadingMemory | None = None) -> None:
        """Write the head as float16 safetensors (ids int32) with its config in the metadata, and
        ``memory`` beside it if given, through a temporary file renamed into place."""
        def half(t: Tensor) -> np.ndarray:
            return np.ascontiguousarray(t.detach().cpu().numpy(), dtype=np.float16)  # safetensors writes raw buffers

        # the head is asked only about trained characters, whose candidates are their pairs'
        # syllables: the other rows of S were never trained, and are not stored (about half)
        used = torch.unique(self.pairs[:, 1])
        tensors = {
            "proj_w": half(self.proj.weight.T), "proj_b": half(self.proj.bias),
            "pair_proj_w": half(self.pair_proj.weight.T), "pair_proj_b": half(self.pair_proj.bias),
            "syllable_ids": used.numpy().astype(np.int32), "syllable_emb": half(self.syllable_emb.weight[used]),
            "pair_emb": half(self.pair_emb.weight),
            "pair_bias": half(self.pair_bias.weight[:, 0]),
            "pair_chars": self.pairs[:, 0].numpy().astype(np.int32),
            "pair_syllables": self.pairs[:, 1].numpy().astype(np.int32),
        }
        if memory is not None:
            tensors.update(memory.tensors())
        meta = {"format": FORMAT, "version": str(VERSION), "config": json.dumps(asdict(self.config)),
                "recipe": json.dumps(recipe or {}, ensure_ascii=False)}
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        save_file(tensors, str(tmp), metadata=meta)
        os.chmod(tmp, 0o644)  # readable like the model's other files
        os.replace(tmp, path)


def merge_heads(heads: list[PolyphoneHead]) -> PolyphoneHead:
    """One head that scores the mean of ``heads``' scores: heads of one shape (the same pairs,
    trained from other seeds) side by side. Each score is a sum of dot products over ``dim`` and
    ``pair_dim``, so M heads' weights concatenated along those widths, their output-side rows
    (``S``, ``P``, ``q``) divided by M, give exactly the mean; the merged head is an ordinary head
    of width ``M * dim`` (files, the numpy scorer and the ONNX backend read it as any other). The
    mean of the scores ranks a position's candidates as the mean of their log-softmaxes does
    (the two differ by one constant per position), the usual ensemble of classifiers."""
    if not heads:
        raise ValueError("merge_heads needs at least one head")
    first = heads[0]
    for head in heads[1:]:
        if (head.config.input_dim, head.config.n_pairs, head.config.window, head.config.encoder_layers) != \
                (first.config.input_dim, first.config.n_pairs, first.config.window, first.config.encoder_layers) \
                or not torch.equal(head.pairs, first.pairs):
            raise ValueError("merge_heads: the heads differ in shape or pairs")
    m = len(heads)
    config = PolyphoneConfig(first.config.d_model, first.config.n_chars, first.config.n_syllables, first.config.n_pairs,
                             sum(h.config.dim for h in heads), sum(h.config.pair_dim for h in heads),
                             first.config.window, first.config.encoder_layers)
    merged = PolyphoneHead(config, first.pairs.numpy())
    with torch.no_grad():
        merged.proj.weight.copy_(torch.cat([h.proj.weight for h in heads], 0))  # (M * D, input_dim)
        merged.proj.bias.copy_(torch.cat([h.proj.bias for h in heads]))
        merged.pair_proj.weight.copy_(torch.cat([h.pair_proj.weight for h in heads], 0))  # (M * P, input_dim)
        merged.pair_proj.bias.copy_(torch.cat([h.pair_proj.bias for h in heads]))
        merged.syllable_emb.weight.copy_(torch.cat([h.syllable_emb.weight for h in heads], 1) / m)  # (n_syllables, M * D)
        merged.pair_emb.weight.copy_(torch.cat([h.pair_emb.weight for h in heads], 1) / m)  # (n_pairs + 1, M * P)
        merged.pair_bias.weight.copy_(sum(h.pair_bias.weight for h in heads) / m)
    return merged.eval()


class PolyphoneScorer:
    """The head at inference, in numpy (float32): ``scores(h, chars, syllables)``."""

    def __init__(self, config: PolyphoneConfig, tensors: dict[str, np.ndarray], recipe: dict | None = None) -> None:
        self.config, self.recipe = config, recipe or {}
        self.memory = ReadingMemory.from_tensors(tensors)  # gold readings beside a neighbour (None: a file without one)
        f32 = {k: v.astype(np.float32) for k, v in tensors.items() if v.dtype == np.float16}
        # both projections, proj (input_dim, D) and pair_proj (input_dim, P), as one matmul
        self._both_w = np.ascontiguousarray(np.concatenate([f32["proj_w"], f32["pair_proj_w"]], axis=1))  # (input_dim, D + P)
        self._both_b = np.concatenate([f32["proj_b"], f32["pair_proj_b"]])  # (D + P,)
        self.syllable_emb, self.pair_emb, self.pair_bias = f32["syllable_emb"], f32["pair_emb"], f32["pair_bias"]
        chars, syllables = tensors["pair_chars"].astype(np.int64), tensors["pair_syllables"].astype(np.int64)
        self._pair_row = {(int(c), int(s)): i for i, (c, s) in enumerate(zip(chars, syllables))}
        self.trained_chars = frozenset(int(c) for c in chars)
        self._tables_of: dict[tuple[int, bytes], tuple[np.ndarray, np.ndarray]] = {}  # (char, candidates) -> (K, D + P), (K,)

    def pair_rows(self, char: int, syllables: np.ndarray) -> np.ndarray:
        """Rows of ``P``/``q`` for one character's candidates ((K,) ids -> (K,) rows)."""
        unseen = self.config.n_pairs
        return np.array([self._pair_row.get((char, int(s)), unseen) for s in syllables], dtype=np.int64)

    def scores(self, h: np.ndarray, char: int, syllables: np.ndarray) -> np.ndarray:
        """Scores (K,) of one character's candidate readings ``syllables`` (K,) from its encoder
        states ``h`` (input_dim,)."""
        return self.scores_many(h[None], [char], [syllables])[0]

    def scores_many(self, h: np.ndarray, chars: list[int], syllables: list[np.ndarray]) -> list[np.ndarray]:
        """:meth:`scores` for N positions at once: states ``h`` (N, input_dim), one character and its
        candidates (K_i,) per position -> N score arrays (K_i,). The projections run as one matmul."""
        both = h @ self._both_w + self._both_b  # (N, D + P)
        D = self.config.dim
        both[:, :D] = np.tanh(both[:, :D])  # z (N, D), then the pair projection zp (N, P)
        out = []
        for i, (char, options) in enumerate(zip(chars, syllables)):
            table, bias = self._candidate_table(char, options)
            out.append(table @ both[i] + bias)  # syllable_emb . z + pair_emb . zp + pair_bias
        return out

    def _candidate_table(self, char: int, syllables: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The candidates' rows of the scoring weights side by side: (K, D + P) = syllable
        embedding | pair embedding, and the pair biases (K,); gathered once per character and
        candidate list (a character's candidates recur text after text)."""
        key = (char, syllables.tobytes())
        found = self._tables_of.get(key)
        if found is None:
            rows = self.pair_rows(char, syllables)
            found = (np.ascontiguousarray(np.concatenate([self.syllable_emb[syllables], self.pair_emb[rows]], axis=1)),
                     self.pair_bias[rows])
            if len(self._tables_of) < 65536:
                self._tables_of[key] = found
        return found


def load_polyphone(path: str | os.PathLike, n_chars: int, n_syllables: int, d_model: int,
                   n_encoder_layers: int | None = None) -> PolyphoneScorer:
    """Read ``polyphone.safetensors``, checked against the model it belongs to."""
    path = Path(path)
    meta, tensors = _read(path)
    config = _config(path, meta)
    try:
        recipe = json.loads(meta.get("recipe") or "{}")
    except ValueError as exc:
        raise CheckpointError(f"{path}: bad polyphone head recipe ({exc})") from None
    if (config.n_chars, config.n_syllables, config.d_model) != (n_chars, n_syllables, d_model):
        raise CheckpointError(f"{path}: polyphone head made for another model (chars {config.n_chars}, syllables "
                              f"{config.n_syllables}, width {config.d_model}; the model has {n_chars}, {n_syllables}, {d_model})")
    if n_encoder_layers is not None and config.encoder_layers > n_encoder_layers:
        raise CheckpointError(f"{path}: polyphone head reads the states of encoder layer {config.encoder_layers}; "
                              f"the model has {n_encoder_layers} encoder layers")
    width = config.input_dim
    if meta.get("version") != "1":
        tensors["syllable_emb"] = _syllable_rows(path, tensors, n_syllables, config.dim)
    want = {"proj_w": (width, config.dim), "proj_b": (config.dim,), "pair_proj_w": (width, config.pair_dim),
            "pair_proj_b": (config.pair_dim,), "syllable_emb": (n_syllables, config.dim),
            "pair_emb": (config.n_pairs + 1, config.pair_dim), "pair_bias": (config.n_pairs + 1,),
            "pair_chars": (config.n_pairs,), "pair_syllables": (config.n_pairs,)}
    for name, shape in want.items():
        if name not in tensors or tuple(tensors[name].shape) != shape:
            raise CheckpointError(f"{path}: tensor {name} missing or not of shape {shape}")
    pairs_ok = (tensors["pair_chars"] >= 0).all() and (tensors["pair_chars"] < n_chars).all() and \
        (tensors["pair_syllables"] >= 0).all() and (tensors["pair_syllables"] < n_syllables).all()
    if not pairs_ok:
        raise CheckpointError(f"{path}: a (character, reading) pair lies outside the vocabulary")
    _check_memory(path, tensors, n_chars, n_syllables)
    return PolyphoneScorer(config, tensors, recipe)


def _syllable_rows(path: Path, tensors: dict[str, np.ndarray], n_syllables: int, dim: int) -> np.ndarray:
    """The full (n_syllables, dim) ``S`` of a version-2 file, which stores the rows of
    ``syllable_ids`` only: the others are zeros (no trained character reads them)."""
    ids, rows = tensors.get("syllable_ids"), tensors.get("syllable_emb")
    if ids is None or rows is None or ids.ndim != 1 or rows.shape != (len(ids), dim):
        raise CheckpointError(f"{path}: tensors syllable_ids (n,) and syllable_emb (n, {dim}) missing or of other shapes")
    if len(ids) and ((ids < 0).any() or (ids >= n_syllables).any() or len(np.unique(ids)) != len(ids)):
        raise CheckpointError(f"{path}: syllable_ids repeat or lie outside the vocabulary")
    full = np.zeros((n_syllables, dim), dtype=rows.dtype)
    full[ids.astype(np.int64)] = rows
    return full


def head_encoder_layers(path: str | os.PathLike) -> int:
    """The encoder layers the head file at ``path`` reads (0: all), from its metadata alone (an
    export asks this to know which encoder graphs g2p needs)."""
    try:
        with safe_open(str(path), framework="numpy") as fh:
            meta = dict(fh.metadata() or {})
    except (OSError, ValueError, RuntimeError, SafetensorError) as exc:
        raise CheckpointError(f"{path}: cannot read the polyphone head ({exc})") from None
    return _config(Path(path), meta).encoder_layers


def _config(path: Path, meta: dict[str, str]) -> PolyphoneConfig:
    """The head's config from its file's metadata; a file of another format or a bad config is named."""
    if meta.get("format") != FORMAT or meta.get("version") not in {str(v) for v in READS}:
        raise CheckpointError(f"{path}: not a pinhan polyphone head this pinhan reads (format {meta.get('format')!r}, "
                              f"version {meta.get('version')!r}; it reads {FORMAT} versions {', '.join(map(str, READS))})")
    try:
        return PolyphoneConfig(**json.loads(meta["config"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: bad polyphone head config ({exc})") from None


def rewrite_memory(path: str | os.PathLike, memory: ReadingMemory | None, recipe: dict) -> None:
    """Give the head file at ``path`` another reading memory (None: none), its weights as they
    are, its recipe updated with ``recipe``; through a temporary file renamed into place."""
    path = Path(path)
    meta, tensors = _read(path)
    tensors = {k: v for k, v in tensors.items() if k not in MEMORY_TENSORS}
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a pinhan polyphone head (format {meta.get('format')!r})")
    try:
        old = json.loads(meta.get("recipe") or "{}")
    except ValueError:
        old = {}
    meta["recipe"] = json.dumps({**old, **recipe}, ensure_ascii=False)
    if memory is not None:
        tensors.update(memory.tensors())
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(tensors, str(tmp), metadata=meta)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _read(path: Path) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    """A head file's metadata and tensors; a file safetensors cannot read is named."""
    try:
        with safe_open(str(path), framework="numpy") as fh:
            return dict(fh.metadata() or {}), {k: fh.get_tensor(k) for k in fh.keys()}
    except (OSError, ValueError, RuntimeError, SafetensorError) as exc:
        raise CheckpointError(f"{path}: cannot read the polyphone head ({exc})") from None


def _check_memory(path: Path, tensors: dict[str, np.ndarray], n_chars: int, n_syllables: int) -> None:
    """The optional reading memory: all three tensors or none, of matching shapes, ids in range."""
    present = [name for name in MEMORY_TENSORS if name in tensors]
    if not present:
        return
    if len(present) != len(MEMORY_TENSORS):
        raise CheckpointError(f"{path}: reading memory incomplete (has {', '.join(present)}; needs {', '.join(MEMORY_TENSORS)})")
    keys, syllables, counts = (tensors[name] for name in MEMORY_TENSORS)
    m = len(syllables)
    if keys.shape != (m, 3) or syllables.shape != (m,) or counts.shape != (m,):
        raise CheckpointError(f"{path}: reading memory tensors of shapes {keys.shape}, {syllables.shape}, {counts.shape}; "
                              f"want (M, 3), (M,), (M,)")
    if m and not ((keys[:, [0, 2]] >= 0).all() and (keys[:, [0, 2]] < n_chars).all() and np.isin(keys[:, 1], (0, 1)).all()
                  and (syllables >= 0).all() and (syllables < n_syllables).all() and (counts >= 1).all()):
        raise CheckpointError(f"{path}: a reading memory entry lies outside the vocabulary")
