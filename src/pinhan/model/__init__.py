"""pinhan.model: the encoder–decoder, its config, losses and checkpoint files.

Modules, one concern each: ``config``
(ModelConfig, named sizes), ``embedding`` (fused input layer), ``layers`` (Transformer blocks),
``cache`` (decoder KV cache), ``heads`` (output heads, candidate-restricted logits),
``transformer`` (PinhanModel, with the one ``decode_step`` that the torch runner and the ONNX
export both run), ``losses`` (mixed objective), ``io`` (save/load).

May import torch, safetensors, ``pinhan.errors``, ``pinhan.ids``, ``pinhan.config``; never data,
lm, infer or anything above (the model knows tensors and ids, not corpora or decoding).
"""

from pinhan import ids
from pinhan.model.cache import DecoderCache, LayerCache
from pinhan.model.config import NAMED_SIZES, ModelConfig, base, named_config, small, tiny
from pinhan.model.heads import CAND_PAD, candidate_logits
from pinhan.model.io import (
    CheckpointError,
    load_config,
    load_model,
    read_config,
    save_model,
)
from pinhan.model.losses import LOSS_KEYS, LossWeights, compute_losses
from pinhan.model.transformer import DecoderInputs, EncoderInputs, EncoderOutput, PinhanModel

__all__ = [
    "ids",
    "ModelConfig",
    "tiny",
    "small",
    "base",
    "named_config",
    "NAMED_SIZES",
    "PinhanModel",
    "EncoderInputs",
    "DecoderInputs",
    "EncoderOutput",
    "DecoderCache",
    "LayerCache",
    "LossWeights",
    "compute_losses",
    "LOSS_KEYS",
    "candidate_logits",
    "CAND_PAD",
    "CheckpointError",
    "save_model",
    "load_model",
    "load_config",
    "read_config",
]
