"""Experiment: does the autoregressive decoder add anything to fast mode's n-gram search?

Fast mode's beam search over the encoder head with the 4-gram (16 beams) gives an N-best list;
each hypothesis is then scored by the decoder, teacher-forced (sum of full-softmax log-probs, or
of raw logits), plus ``W`` times its 4-gram log-probability, and the best wins. Top-1 on 300 dev
clauses (``data/bundled/dev.jsonl``, seed 0), toneless unsegmented input with context.

Run: ``.venv/bin/python benchmarks/rescoring.py MODEL_DIR [W] [softmax|logits]`` (MODEL_DIR must
hold lm.safetensors).
"""
import sys, time, numpy as np
from pathlib import Path
from pinhan import ids
from pinhan.infer.api import load, InferenceConfig
from pinhan.infer.decode import P2HConstraint, Hypothesis, lm_contexts
from pinhan.infer.inputs import P2HRequest, encode_p2h
from pinhan.lm.build import dev_items
from pinhan.eval.metrics import char_accuracy, sentence_accuracy

p = load(sys.argv[1], threads=1, config=InferenceConfig(max_paths=1))
conv, runner, lm = p.converter, p.runner, p.lm
conv.fast_lm_weight = lm.info.get("fast_fusion_weight", 1.5)
items = dev_items(Path("data/bundled"), 300)
inputs = [("".join(s.rstrip("12345") for s in it["pinyin"]), it.get("context", "")) for it in items]
golds = [it["hanzi"] for it in items]
orig = type(conv)._decode
W = float(sys.argv[2]) if len(sys.argv) > 2 else 1.5
SCORE = sys.argv[3] if len(sys.argv) > 3 else "softmax"

def rescored(self, runs, mode, width):
    out = orig(self, runs, "fast", width)
    for run, dec in zip(runs, out):
        hyps = [h for h in dec.hyps if len(h.tokens) == len(run.keys)]
        if len(hyps) < 2:
            continue
        enc = encode_p2h([P2HRequest(run.keys, run.context)], self.vocab, self.tables, self.max_context, self.contexts)
        encoded = self.runner.encode(enc)
        H = len(hyps)
        state = self.runner.start(encoded, np.zeros(H, dtype=np.int64))
        cons = P2HConstraint([run.keys] * H, self.index, self.tables, [run.slots] * H)
        step_in = {"chars": np.full(H, ids.BOS, dtype=np.int64), **{k: np.zeros(H, dtype=np.int64) for k in ("initials", "finals", "tones")}}
        ar = np.zeros(H)
        for t in range(len(run.keys)):
            hidden, state = self.runner.step(state, step_in)
            toks = np.array([h.tokens[t] for h in hyps])
            if SCORE == "softmax":
                ar += self.runner.char_log_probs(hidden)[np.arange(H), toks]
            else:
                ar += self.runner.char_logits_at(hidden, toks[:, None])[:, 0]
            feed = np.array([cons.feed(r, t, int(toks[r])) for r in range(H)])
            step_in = {"chars": feed[:, 0], "initials": feed[:, 1], "finals": feed[:, 2], "tones": feed[:, 3]}
        ctx = lm_contexts([run.context], self.vocab, lm.order)[0]
        lmsum = np.zeros(H)
        for r, h in enumerate(hyps):
            seq = np.concatenate([ctx, np.array(h.tokens)])
            hist = np.stack([seq[i:i + lm.order - 1] for i in range(len(h.tokens))])
            lmsum[r] = lm.logprob_ids(hist, np.array(h.tokens)).sum()
        total = ar + W * lmsum
        order = np.argsort(-total, kind="stable")
        dec.hyps[:] = [Hypothesis(hyps[i].tokens, float(total[i])) for i in order]
    return out

t = time.perf_counter()
base = conv.top1_batch(inputs, abbreviations=False, mode="fast")
t1 = time.perf_counter()
type(conv)._decode = rescored
res = conv.top1_batch(inputs, abbreviations=False, mode="fast")
t2 = time.perf_counter()
print("fast+lm", round(100*char_accuracy(base, golds),1), round(100*sentence_accuracy(base, golds),1), round((t1-t)/len(items)*1e3,1), "ms/item, batched")
print("rescored W", W, SCORE, round(100*char_accuracy(res, golds),1), round(100*sentence_accuracy(res, golds),1), round((t2-t1)/len(items)*1e3,1), "ms/item")
