"""pinhan: pinyin<->hanzi Transformer models — train, fine-tune, evaluate, serve."""

__version__ = "0.1.0"
