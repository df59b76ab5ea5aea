"""Whole-input conversion: keystrokes -> the best hanzi string over the parser's readings.

The parser proposes the top segmentations of the keystrokes (``xian`` -> xian, xi'an); each is
decoded by constrained beam search and the reading with the highest model log-probability wins. Top-k candidates, prefix candidates and beam search come with the full
converter; this is the top-1 path that evaluation needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pinhan.data.candidates import CandidateIndex
from pinhan.data.examples import PinyinTables
from pinhan.data.vocab import Lexicon, Vocab
from pinhan.infer.decode import Fusion, beam_p2h
from pinhan.infer.inputs import P2HRequest, encode_p2h, path_keys
from pinhan.model.transformer import PinhanModel
from pinhan.pinyin import PinyinParser


@dataclass
class Converter:
    """A model with its vocabulary and lexicon, ready to convert pinyin."""

    model: PinhanModel
    vocab: Vocab
    lexicon: Lexicon
    max_context: int = 64
    max_paths: int = 4
    abbreviations: bool = False
    beam_size: int = 4
    lm: object | None = None  # a character LM for shallow fusion (pinhan.lm.ngram.CharNgram)
    lm_weight: float = 0.0

    def __post_init__(self) -> None:
        self.index = CandidateIndex(self.vocab, self.lexicon)
        self.tables = PinyinTables(self.vocab)
        self.parser = PinyinParser(abbreviations=self.abbreviations, max_paths=self.max_paths)

    @torch.no_grad()
    def convert_batch(self, inputs: list[tuple[str, str]], batch_size: int = 64) -> list[str]:
        """Top-1 hanzi for each (pinyin, context); "" where no reading is convertible."""
        requests, owners = [], []
        for i, (pinyin, context) in enumerate(inputs):
            for path in self.parser.parse(pinyin):
                keys = path_keys(self.vocab, path)
                if keys is not None and len(keys):
                    requests.append(P2HRequest(keys, context))
                    owners.append(i)
        best: dict[int, tuple[float, str]] = {}
        for start in range(0, len(requests), batch_size):
            chunk = requests[start : start + batch_size]
            enc = encode_p2h(chunk, self.vocab, self.tables, self.max_context)
            fusion = None
            if self.lm is not None and self.lm_weight > 0:
                fusion = Fusion(self.lm, self.lm_weight, self.vocab.chars, [r.context for r in chunk])
            beams = beam_p2h(self.model, enc, [r.keys for r in chunk], self.index, self.tables, self.beam_size, fusion)
            for owner, hyps in zip(owners[start : start + batch_size], beams):
                score, text = hyps[0].score, "".join(self.vocab.chars[c] for c in hyps[0].chars)
                if owner not in best or score > best[owner][0]:
                    best[owner] = (score, text)
        return [best.get(i, (0.0, ""))[1] for i in range(len(inputs))]
