"""g2p on the cpp-dev fold a polyphone head was not trained on (issue 16's dev measurements).

Run: ``python benchmarks/g2p_fold.py MODEL_DIR [--settings '{"g2p_phrases": false}' ...] [--g2pm]``

The fold is the one ``pinhan polyphone`` holds out with its defaults: cpp-dev after the held-out
rule, ``split_fold(items, 0.2, 16)``; train the head with ``pinhan polyphone --model MODEL_DIR``
(dev_fraction 0.2) first. Prints accuracy at the labelled character and latency per sentence
(batch 1, one thread, after 20 warm-up calls) for each setting.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time

import torch


def measure(g2p, items) -> tuple[float, float, float]:
    for item in items[:20]:
        g2p(item["sentence"])
    ms, right = [], 0
    for item in items:
        t0 = time.perf_counter()
        pinyin = g2p(item["sentence"])
        ms.append(1000 * (time.perf_counter() - t0))
        right += pinyin[item["index"]] == item["pinyin"]
    ms.sort()
    return right / len(items), statistics.median(ms), ms[math.ceil(0.95 * len(ms)) - 1]


def main() -> None:
    import pinhan
    from pinhan.data.heldout import DEFAULT_LIST, HeldoutRule
    from pinhan.infer.config import InferenceConfig
    from pinhan.train.polyphone import read_labelled, split_fold

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("--labelled", default="../shared/bench/cpp-dev.jsonl")
    parser.add_argument("--settings", nargs="+", default=["{}"], help="InferenceConfig settings as JSON, one run each")
    parser.add_argument("--backend", default="torch", choices=("torch", "onnx", "onnx-int8"))
    parser.add_argument("--g2pm", action="store_true", help="also g2pM on the same items")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rule = HeldoutRule(DEFAULT_LIST)
    _, dev = split_fold([it for it in read_labelled([args.labelled]) if not rule.hits(it["sentence"])], 0.2, 16)
    backend, quantize = args.backend.replace("-int8", ""), args.backend.endswith("int8")
    for settings in args.settings:
        model = pinhan.load(args.model, backend=backend, quantize=quantize, threads=1,
                            config=InferenceConfig(**json.loads(settings)))
        acc, p50, p95 = measure(lambda s: model.g2p(s).readings, dev)  # what CPP labels (G2PResult.readings)
        print(f"{args.backend} {settings}: {len(dev)} items, {100 * acc:.2f} %, p50 {p50:.2f} ms, p95 {p95:.2f} ms", flush=True)
    if args.g2pm:
        from g2pM import G2pM

        teacher = G2pM()
        acc, p50, p95 = measure(lambda s: [x.replace("u:", "v") for x in teacher(s, char_split=True, tone=True)], dev)
        print(f"g2pM: {len(dev)} items, {100 * acc:.2f} %, p50 {p50:.2f} ms, p95 {p95:.2f} ms")


if __name__ == "__main__":
    main()
