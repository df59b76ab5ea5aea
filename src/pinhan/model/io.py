"""Save and load a model directory: ``config.json`` + ``model.safetensors``.

::

    save_model(model, "runs/small")             # writes runs/small/{config.json,model.safetensors}
    model = load_model("runs/small")            # PinhanModel in eval mode, on the CPU

``config.json`` describes itself::

    {"format": "pinhan-model", "version": 1, "model": {...ModelConfig...}, ...extra sections}

Other parts of a checkpoint (``vocab.json``, lexicon, metrics, the training recipe as an extra
``config.json`` section) belong to their own modules; this one only touches the two files above.

Weights are safetensors: loading never unpickles and so never executes code from the file.
Each file is written to a temporary file in the same directory, flushed to disk and renamed
over the old one, so a crash leaves either the old or the new file, never half of one. The
weights are renamed into place before the config; the loader checks every tensor's shape, so a
crash between the two renames is reported as a :class:`CheckpointError`, never a wrong model.

The shapes are checked before anything is allocated: the config's shapes come from a model built
on the "meta" device (no storage), the file's from the safetensors header, so a config that
implies a huge model (``n_chars=10**12``, 2000 layers) is a clear error, not an allocator failure.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn
from torch.overrides import TorchFunctionMode

from pinhan.errors import PinhanError
from pinhan.model.config import ModelConfig
from pinhan.model.transformer import PinhanModel

FORMAT = "pinhan-model"
VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
_RESERVED = ("format", "version", "model")


class CheckpointError(PinhanError):
    """A model directory is missing, incomplete, corrupt or does not fit its config."""


def _unwrap(model: nn.Module) -> PinhanModel:
    # DistributedDataParallel keeps the model in .module, torch.compile in ._orig_mod
    while not isinstance(model, PinhanModel):
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if inner is None:
            raise TypeError(f"expected a PinhanModel, got {type(model).__name__}")
        model = inner
    return model


def fsync_dir(directory: Path) -> None:
    """Flush a directory's entries (renames into it) to disk; a no-op where directories cannot be opened."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, write: Any) -> None:
    """Call ``write(tmp_path)``, fsync the result and rename it to ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_model(
    model: nn.Module, directory: str | os.PathLike, *, extra: Mapping[str, Any] | None = None,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write ``config.json`` and ``model.safetensors`` into ``directory`` (created if needed).

    Args:
        model: A :class:`PinhanModel` (also accepted wrapped by DDP or ``torch.compile``).
        directory: The model directory; other files in it are left alone.
        extra: Additional JSON-serialisable top-level sections for ``config.json`` (e.g. the
            training recipe under ``"train"``); may not use the keys format, version or model.
        dtype: store floating-point tensors in this type (``torch.float16`` halves the file of
            a shipped model; :func:`load_model` casts them back to the model's float32), or
            ``torch.int8``: every matrix of at least ``INT8_MIN_SIZE`` numbers as int8 rows with
            one float16 scale each (tensor ``NAME`` + ``NAME`` ``INT8_SCALE``), the rest float16,
            a quarter of the float32 file. On the default model's dev clauses the int8 weights
            converted as the float16 ones to the hundredth, and g2p read 1 of 307,464 cpp-dev
            syllables otherwise (RESULTS.md, "A homophone chooser").

    Returns:
        The directory as a :class:`~pathlib.Path`.
    """
    model = _unwrap(model)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    extra = dict(extra or {})
    clash = [k for k in _RESERVED if k in extra]
    if clash:
        raise ValueError(f"extra config sections may not be named {', '.join(clash)}")
    config = {"format": FORMAT, "version": VERSION, "model": model.config.to_dict(), **extra}
    text = json.dumps(config, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    if dtype == torch.int8:
        tensors = quantize_int8(tensors)
    elif dtype is not None:
        tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in tensors.items()}

    def write_weights(tmp: str) -> None:
        save_file(tensors, tmp, metadata={"format": "pt", "pinhan": f"{FORMAT}/{VERSION}"})

    def write_config(tmp: str) -> None:
        Path(tmp).write_text(text, encoding="utf-8")

    _write_atomic(directory / WEIGHTS_FILE, write_weights)
    _write_atomic(directory / CONFIG_FILE, write_config)
    fsync_dir(directory)
    return directory


INT8_SCALE = ".int8_scale"  # the suffix of a quantized matrix's per-row scales
INT8_MIN_SIZE = 1024  # smaller matrices stay float16 (norms and biases are vectors: float16 too)


def quantize_int8(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Float matrices of at least ``INT8_MIN_SIZE`` numbers -> int8 rows (symmetric, one float16
    scale a row: max |row| / 127); other floating tensors float16, integer tensors as they are."""
    out = {}
    for name, value in tensors.items():
        if value.is_floating_point() and value.dim() == 2 and value.numel() >= INT8_MIN_SIZE:
            scale = (value.float().abs().amax(dim=1) / 127).clamp(min=1e-12)  # (rows,)
            out[name] = torch.round(value.float() / scale[:, None]).clamp(-127, 127).to(torch.int8)
            out[name + INT8_SCALE] = scale.half()
        else:
            out[name] = value.half() if value.is_floating_point() else value
    return out


def dequantize_int8(tensors: dict[str, torch.Tensor], path: Path) -> dict[str, torch.Tensor]:
    """The inverse of :func:`quantize_int8` (float32 matrices); files without scales pass through."""
    for scale_name in [k for k in tensors if k.endswith(INT8_SCALE)]:
        name = scale_name[: -len(INT8_SCALE)]
        value, scale = tensors.get(name), tensors.pop(scale_name)
        if value is None or value.dtype != torch.int8 or value.dim() != 2 or scale.shape != value.shape[:1]:
            raise CheckpointError(f"{path}: {scale_name} does not fit an int8 matrix {name}")
        tensors[name] = value.float() * scale.float()[:, None]
    return tensors


def check_directory(directory: str | os.PathLike) -> Path:
    """``directory`` as a Path if it is one; else a :class:`CheckpointError` saying what it is
    (a file given as ``--model`` is not "missing")."""
    directory = Path(directory)
    if directory.is_dir():
        return directory
    if directory.exists():
        what = "a file, not a model directory" if directory.is_file() else "not a directory"
        raise CheckpointError(f"model directory {directory} is {what}")
    raise CheckpointError(f"model directory {directory} does not exist")


def read_config(directory: str | os.PathLike) -> dict[str, Any]:
    """Read and check a model directory's ``config.json``; return the whole parsed document.

    Raises:
        CheckpointError: for a missing directory or file, a file given as the directory, invalid JSON, a wrong format tag or
            version, or a missing or invalid ``"model"`` section.
    """
    directory = check_directory(directory)
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{path} is missing")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise CheckpointError(f"{path} is not UTF-8 text: {e}") from None
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path} is not valid JSON: {e}") from None
    except OSError as e:
        raise CheckpointError(f"{path} cannot be read: {e}") from None
    if not isinstance(doc, dict):
        raise CheckpointError(f"{path} must hold a JSON object, got {type(doc).__name__}")
    if doc.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} has format {doc.get('format')!r}, expected {FORMAT!r} (not a pinhan model?)"
        )
    if doc.get("version") != VERSION:
        raise CheckpointError(
            f"{path} has version {doc.get('version')!r}; this pinhan reads version {VERSION}"
        )
    if not isinstance(doc.get("model"), dict):
        raise CheckpointError(f'{path} has no "model" section')
    return doc


def load_config(directory: str | os.PathLike) -> ModelConfig:
    """Return the :class:`ModelConfig` of a model directory.

    Raises:
        CheckpointError: as :func:`read_config`, or if the ``"model"`` section has unknown,
            missing or invalid keys.
    """
    doc = read_config(directory)
    try:
        return ModelConfig.from_dict(doc["model"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{Path(directory) / CONFIG_FILE}: {e}") from None


def _load_tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(path, device="cpu")
    except Exception as e:  # safetensors raises its own error types for malformed files
        raise CheckpointError(f"{path} is not a valid safetensors file: {e}") from None


_FLOAT_DTYPES = ("F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2")


def _read_header(path: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    """Each tensor's shape and dtype name (``F16``, ``I64``...), from the header alone (no data read)."""
    if not path.is_file():
        raise CheckpointError(f"{path} is missing")
    try:
        with safe_open(path, framework="pt", device="cpu") as f:
            return {k: (tuple(f.get_slice(k).get_shape()), f.get_slice(k).get_dtype()) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for malformed files
        raise CheckpointError(f"{path} is not a valid safetensors file: {e}") from None


class _NoInit(TorchFunctionMode):
    """In-place initialisation (``normal_``, ``zero_``...) of meta tensors skipped: they hold no
    values, and torch's meta kernels for random init are slow in Python."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        target = args[0] if args else kwargs.get("tensor")  # torch.nn.init passes tensor=
        if name.endswith("_") and not name.startswith("__") and isinstance(target, torch.Tensor) and target.is_meta:
            return target
        return func(*args, **kwargs)


def _expected_shapes(config: ModelConfig, n_file_tensors: int) -> dict[str, tuple[tuple[int, ...], bool]]:
    """The state dict ``config`` implies, as shape and is-floating, built on the meta device.
    Every layer has at least one tensor, so more layers than the file has tensors cannot match:
    building only that many keeps a config of 2000 layers cheap and still names a missing key."""
    cap = max(1, n_file_tensors)
    config = config.replace(n_encoder_layers=min(config.n_encoder_layers, cap),
                            n_decoder_layers=min(config.n_decoder_layers, cap))
    with torch.device("meta"), _NoInit():
        model = PinhanModel(config)
    return {k: (tuple(v.shape), v.dtype.is_floating_point) for k, v in model.state_dict().items()}


def _check_shapes(path: Path, config: ModelConfig) -> None:
    """Raise :class:`CheckpointError` naming the first tensor the file and the config disagree on."""
    found = _read_header(path)
    quantized = set()
    for scale_name in [k for k in found if k.endswith(INT8_SCALE)]:
        name = scale_name[: -len(INT8_SCALE)]
        if name not in found or found[name][1] != "I8" or found[scale_name][0] != found[name][0][:1]:
            raise CheckpointError(f"{path}: {scale_name} does not fit an int8 matrix {name}")
        quantized.add(name)
        del found[scale_name]
    expected = _expected_shapes(config, len(found))
    missing = [k for k in expected if k not in found]
    if missing:
        raise CheckpointError(f"{path} lacks tensors: {_describe(missing)}")
    unexpected = [k for k in found if k not in expected]
    if unexpected:
        raise CheckpointError(f"{path} has unexpected tensors: {_describe(unexpected)}")
    for name, (want, want_float) in expected.items():
        got, dtype = found[name]
        if got != want:
            raise CheckpointError(f"{path}: tensor {name} has shape {got}, but {CONFIG_FILE} implies {want}")
        if (dtype in _FLOAT_DTYPES or name in quantized) != want_float:
            raise CheckpointError(f"{path}: tensor {name} has dtype {dtype}, expected "
                                  f"{'a floating-point' if want_float else 'an integer'} dtype")


def _describe(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def load_model(
    directory: str | os.PathLike, map_location: str | torch.device = "cpu"
) -> PinhanModel:
    """Load a model directory written by :func:`save_model`.

    Args:
        directory: The model directory.
        map_location: Device to put the model on.

    Returns:
        The :class:`PinhanModel`, in eval mode.

    Raises:
        CheckpointError: with a message naming the file and the problem, for a missing
            directory or file, invalid JSON, unknown/missing config keys, a wrong format tag,
            a corrupt safetensors file, missing or unexpected tensors, or shape mismatches.
    """
    directory = Path(directory)
    config = load_config(directory)
    path = directory / WEIGHTS_FILE
    _check_shapes(path, config)  # before any allocation: the config may imply a huge model
    tensors = dequantize_int8(_load_tensors(path), path)
    model = PinhanModel(config)
    model.load_state_dict(tensors, strict=True)
    return model.to(map_location).eval()
