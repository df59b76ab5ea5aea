"""What a training run reads from a prepared data directory, in the model's vocabulary.

Fine-tuning keeps the pretrained model's vocabulary and appends the characters that are new in
the domain corpus; the domain shards (encoded with their own ids) are remapped on the fly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pinhan.data.shards import ShardedSplit
from pinhan.data.vocab import SPECIALS, Lexicon, Vocab
from pinhan.errors import DataError


@dataclass
class RunData:
    vocab: Vocab
    lexicon: Lexicon
    train: ShardedSplit
    dev: ShardedSplit | None
    dev_clauses: list[dict]
    char_map: np.ndarray | None  # data char id -> model char id (fine-tuning), else None


def load_run_data(data_dir: Path, base_vocab: Vocab | None = None, base_lexicon: Lexicon | None = None) -> RunData:
    """Open ``data_dir``; with ``base_vocab`` (fine-tuning) merge its vocabulary into the base one."""
    if not (data_dir / "vocab.json").is_file():
        raise DataError(f"{data_dir} is not a prepared data directory (no vocab.json); run `pinhan prepare` first")
    vocab = Vocab.load(data_dir / "vocab.json")
    lexicon = Lexicon.load(data_dir / "lexicon.json")
    train = ShardedSplit(data_dir / "shards", "train")
    dev = ShardedSplit(data_dir / "shards", "dev")
    clauses = _read_clauses(data_dir / "dev.jsonl")
    char_map = None
    if base_vocab is not None:
        if vocab.syllables != base_vocab.syllables or vocab.initials != base_vocab.initials or vocab.finals != base_vocab.finals:
            raise DataError(f"{data_dir} was prepared with a different pinyin inventory than the model")
        new_chars = [ch for ch in vocab.chars[len(SPECIALS):] if ch not in base_vocab.char_to_id]
        merged = Vocab(chars=base_vocab.chars + new_chars, syllables=base_vocab.syllables,
                       initials=base_vocab.initials, finals=base_vocab.finals, tones=base_vocab.tones)
        char_map = np.array([merged.char_to_id.get(ch, 1) for ch in vocab.chars], dtype=np.int64)
        entries = {s: dict(c) for s, c in (base_lexicon.entries if base_lexicon else {}).items()}
        for syllable, chars in lexicon.entries.items():
            for ch, n in chars.items():
                entries.setdefault(syllable, {})[ch] = entries.get(syllable, {}).get(ch, 0) + n
        vocab, lexicon = merged, Lexicon(entries)
    return RunData(vocab, lexicon, train, dev if len(dev) else None, clauses, char_map)


def _read_clauses(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            item = json.loads(line)
            if not isinstance(item["hanzi"], str) or len(item["pinyin"]) != len(item["hanzi"]):
                raise ValueError("pinyin and hanzi lengths differ")
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{path}:{number}: not a clause item ({exc})") from None
        items.append(item)
    return items
