"""Dev evaluation during training: loss on fixed dev batches and p2h accuracy on fixed clauses.

Both sets are drawn once, with their own seed, so every evaluation of a run (and of a resumed
run) measures the same items. Clauses are typed toneless, one syllable per hanzi, with their
context, and decoded greedily under the lexicon constraint (``acc``) and by the encoder head
(``nar_acc``).
"""

from __future__ import annotations

import numpy as np
import torch

from pinhan.data.collate import collate
from pinhan.data.examples import ExampleConfig, ExampleSampler
from pinhan.data.tables import CandidateIndex, PinyinTables
from pinhan.eval.metrics import char_accuracy, sentence_accuracy
from pinhan.infer.search.beam import greedy_p2h
from pinhan.infer.search.fast import nar_p2h
from pinhan.infer.inputs import P2HRequest, encode_p2h, toneless_keys
from pinhan.infer.runner import TorchRunner
from pinhan.model.losses import LossWeights
from pinhan.model.transformer import PinhanModel
from pinhan.train.data import RunData

EVAL_SEED = 20_240_601  # independent of the training seed: runs with other seeds see the same items


class DevEvaluator:
    def __init__(self, data: RunData, examples: ExampleConfig, *, batch_size: int, n_batches: int,
                 n_clauses: int, max_cands: int, index: CandidateIndex, decode_batch: int = 64) -> None:
        self.vocab = data.vocab
        self.index = index
        self.tables = PinyinTables(data.vocab)
        self.max_context = examples.max_context
        self.decode_batch = decode_batch
        rng = np.random.default_rng(EVAL_SEED)
        self.batches = []
        if data.dev is not None:
            sampler = ExampleSampler(data.dev, data.vocab, examples, char_map=data.char_map)
            for _ in range(n_batches):
                examples_ = [sampler.sample(rng) for _ in range(batch_size)]
                self.batches.append(collate(examples_, cand_index=index, max_cands=max_cands))
        order = rng.permutation(len(data.dev_clauses))[:n_clauses]
        self.clauses = [data.dev_clauses[i] for i in sorted(order)]

    @torch.no_grad()
    def __call__(self, model: PinhanModel, weights: LossWeights, device: torch.device) -> dict[str, float]:
        was_training = model.training
        model.eval()
        metrics: dict[str, float] = {}
        if self.batches:
            totals = {}
            for batch in self.batches:
                losses = model({k: v.to(device) for k, v in batch.items()}, weights)
                for key, value in losses.items():
                    totals[key] = totals.get(key, 0.0) + float(value)
            metrics.update({f"dev_loss_{k}": v / len(self.batches) for k, v in totals.items()})
        if self.clauses:
            golds, preds, nar_preds = [], [], []
            runner = TorchRunner(model, device)
            for start in range(0, len(self.clauses), self.decode_batch):
                chunk = self.clauses[start : start + self.decode_batch]
                requests = [P2HRequest(toneless_keys(self.vocab, item["pinyin"]), item.get("context", "")) for item in chunk]
                enc = encode_p2h(requests, self.vocab, self.tables, self.max_context)
                keys = [r.keys for r in requests]
                preds += ["".join(self.vocab.chars[c] for c in row) for row in greedy_p2h(runner, enc, keys, self.index, self.tables)]
                nar_preds += ["".join(self.vocab.chars[c] for c in row) for row in nar_p2h(runner, enc, keys, self.index, self.tables)]
                golds += [item["hanzi"] for item in chunk]
            metrics["dev_char_acc"] = char_accuracy(preds, golds)
            metrics["dev_sentence_acc"] = sentence_accuracy(preds, golds)
            metrics["dev_nar_char_acc"] = char_accuracy(nar_preds, golds)
        model.train(was_training)
        return metrics
