"""The model directory: the one place that knows its file names, reads them and checks them.

A model directory describes itself (DESIGN.md, "Checkpoints")::

    config.json        architecture + the recipe that made it (format tag, version)
    model.safetensors  weights (no pickle: loading never executes code)
    vocab.json         characters, toned syllables, pinyin factors
    lexicon.json       toned syllable -> {hanzi: train count}
    metrics.json       dev figures at the time it was written (checkpoints)
    lm.safetensors     the character n-gram fused into decoding (optional, ``pinhan lm``)
    words.json.gz      the word lexicon: words, readings, counts (optional, ``pinhan lm``)
    words.safetensors  the word n-gram the word lattice is searched with (optional, with the lexicon)
    polyphone.safetensors  g2p's polyphone head (optional, ``pinhan polyphone``)
    homophones.safetensors  the homophone chooser accurate conversion rescores with (optional, ``pinhan lm``)
    onnx/              an onnxruntime export (optional, ``pinhan export --onnx``)

Training writes it (``train.checkpoint``), ``pinhan.load`` and the ONNX export read it, the n-gram
builder and the release script add to it; none of them spells a file name.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pinhan.data.vocab import Lexicon, Vocab
from pinhan.errors import PinhanError
from pinhan.model.io import CONFIG_FILE, WEIGHTS_FILE, CheckpointError, check_directory, load_model, read_config


class ModelDir:
    """A model directory at ``path`` (nothing is read until asked)."""

    CONFIG = CONFIG_FILE
    WEIGHTS = WEIGHTS_FILE
    VOCAB = "vocab.json"
    LEXICON = "lexicon.json"
    METRICS = "metrics.json"
    NGRAM = "lm.safetensors"
    WORDS = "words.json.gz"
    WORD_NGRAM = "words.safetensors"
    POLYPHONE = "polyphone.safetensors"
    HOMOPHONES = "homophones.safetensors"
    ONNX = "onnx"
    TABLES = (CONFIG, VOCAB, LEXICON)  # what every form of a model (weights or an export) carries

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"ModelDir({str(self.path)!r})"

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    # --- the files ----------------------------------------------------------------------------
    @property
    def config_file(self) -> Path:
        return self.path / self.CONFIG

    @property
    def weights(self) -> Path:
        return self.path / self.WEIGHTS

    @property
    def vocab_file(self) -> Path:
        return self.path / self.VOCAB

    @property
    def lexicon_file(self) -> Path:
        return self.path / self.LEXICON

    @property
    def metrics_file(self) -> Path:
        return self.path / self.METRICS

    @property
    def ngram(self) -> Path:
        return self.path / self.NGRAM

    @property
    def onnx(self) -> Path:
        return self.path / self.ONNX

    @property
    def words(self) -> Path:
        return self.path / self.WORDS

    @property
    def word_ngram(self) -> Path:
        return self.path / self.WORD_NGRAM

    @property
    def polyphone(self) -> Path:
        return self.path / self.POLYPHONE

    @property
    def homophones(self) -> Path:
        return self.path / self.HOMOPHONES

    def has_ngram(self) -> bool:
        return self.ngram.is_file()

    def has_words(self) -> bool:
        """Both halves of the word model (lexicon and n-gram) are there."""
        return self.words.is_file() and self.word_ngram.is_file()

    # --- reading ------------------------------------------------------------------------------
    def check(self) -> ModelDir:
        """Raise :class:`CheckpointError` naming what is missing unless this is a model directory
        (weights may be replaced by an ONNX export; their own loaders check those)."""
        check_directory(self.path)
        for name in (self.VOCAB, self.LEXICON):
            if not (self.path / name).is_file():
                raise CheckpointError(f"{self.path} has no {name}: not a pinhan model directory")
        return self

    def config(self) -> dict[str, Any]:
        """``config.json``, checked (format, version, model section)."""
        return read_config(self.path)

    def recipe(self) -> dict[str, Any]:
        """The training recipe stored with the model ({} when there is none)."""
        recipe = self.config().get("recipe") or {}
        return recipe if isinstance(recipe, dict) else {}

    def trained_context(self) -> int | None:
        """The committed-context length the model's training examples had, if its config says."""
        try:
            recipe = json.loads(self.config_file.read_text(encoding="utf-8")).get("recipe") or {}
            value = (recipe.get("examples") or {}).get("max_context")
        except (OSError, ValueError, AttributeError):
            return None  # the model's loader reads config.json too and names its problem; an odd recipe only loses the cap
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None

    def tables(self) -> tuple[Vocab, Lexicon]:
        """The vocabulary and lexicon."""
        self.check()
        try:
            return Vocab.load(self.vocab_file), Lexicon.load(self.lexicon_file)
        except CheckpointError:
            raise
        except PinhanError as exc:
            raise CheckpointError(f"model directory {self.path}: {exc}") from None

    def load_model(self):
        """The torch model, its vocabulary and lexicon, checked against each other."""
        model = load_model(self.path)
        vocab, lexicon = self.tables()
        self.check_sizes(vocab, model.config.n_chars, model.config.n_syllables)
        return model, vocab, lexicon

    def check_sizes(self, vocab: Vocab, n_chars: int, n_syllables: int) -> None:
        if len(vocab.chars) != n_chars or len(vocab.syllables) != n_syllables:
            raise CheckpointError(f"{self.path}: {self.VOCAB} does not match the model's vocabulary sizes")

    # --- writing ------------------------------------------------------------------------------
    def write_tables(self, vocab: Vocab, lexicon: Lexicon, metrics: dict | None = None) -> None:
        """Vocabulary, lexicon and (optionally) metrics beside the weights; callers write into a
        temporary directory and rename it into place (see ``train.checkpoint``)."""
        vocab.save(self.vocab_file)
        lexicon.save(self.lexicon_file)
        if metrics is not None:
            self.metrics_file.write_text(json.dumps(metrics, indent=1, ensure_ascii=False), encoding="utf-8")
