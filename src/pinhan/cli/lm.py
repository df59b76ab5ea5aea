"""Build the classical models a model fuses into decoding: pinhan lm --model DIR --data DIR
[--kind chars|words|both|weights|homophones] [--order 4] [--min-count 2] [--weights 0 0.5 1 1.5] [--dev-items 300]
[--text DIR[=WEIGHT] ...] [--data-weight W] [--frequencies wordfreq jionlp] [--dev FILE]

Counts the data directory's train split (the model's own data). ``chars``: a pruned character
n-gram whose fusion weights (accurate mode, fast mode, continuation) are chosen on the data
directory's dev clauses (``lm.safetensors``). ``words``: a word lexicon (train words segmented
with jieba, jieba's dictionary, the character lexicon) and a pruned word trigram, the lattice
conversion searches (``words.json.gz``, ``words.safetensors``), with the Transformer's weight
against it chosen on dev (``--dev`` names another clause file). The word model may also count
other prepared directories (``--text data/inews=1``: general-domain text, each with a mixture
weight) and average word-frequency lists into its unigram prior (``--frequencies``; see
``pinhan.lm.word_build.WordModelConfig``). ``weights`` only chooses the Transformer's weights
against the directory's word model again (after a change to the search). ``homophones``: the
homophone chooser accurate conversion rescores the lattice's paths with (``homophones.safetensors``,
:mod:`pinhan.lm.homophones`; its training settings as ``key=value``, ``HomophoneTrainConfig``), its
weight chosen on dev (``--homophone-weights``). ``InferenceConfig`` settings turn each off
(``lm_weight=0``, ``words=false``, ``homophone_weight=0``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

EXTRA_ARGS = "overrides"  # --kind homophones' key=value settings may follow the options too


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model directory to give the models to")
    parser.add_argument("--data", required=True, help="prepared data directory whose train split is counted")
    parser.add_argument("--kind", choices=("chars", "words", "both", "weights", "homophones"), default="both",
                        help="which models (default both); weights: choose the Transformer's weights against the "
                        "directory's word model again, building nothing; homophones: the homophone chooser")
    parser.add_argument("--order", type=int, default=4, help="character n-gram order, 1 to 4 (default 4)")
    parser.add_argument("--min-count", type=int, nargs="+", default=[2],
                        help="prune n-grams seen fewer times: one value, or one per order from 2 up (default 2)")
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.5, 1.0, 1.5],
                        help="character fusion weights to try on dev; one value skips the search")
    parser.add_argument("--word-min-count", type=int, nargs="+", default=[2], help="the word trigram's pruning (default 2)")
    parser.add_argument("--word-weights", type=float, nargs="+", default=[0.0, 0.1, 0.25, 0.5],
                        help="Transformer weights against the word lattice to try on dev")
    parser.add_argument("--text", action="append", default=[], metavar="DIR[=WEIGHT]",
                        help="another prepared data directory whose train split the word model counts, with a "
                        "mixture weight (default 1); repeatable")
    parser.add_argument("--data-weight", type=float, default=1.0, help="the mixture weight of --data's train split (default 1)")
    parser.add_argument("--frequencies", nargs="+", default=[], metavar="LIST",
                        help="word-frequency lists (wordfreq, jionlp; pinhan fetch) averaged with jieba's into the prior")
    parser.add_argument("--frequency-words", action="store_true", help="words only a frequency list holds join the lexicon")
    parser.add_argument("--sources-cache", default="data/cache/sources", help="where pinhan fetch put the lists")
    parser.add_argument("--prior-weight", "--jieba-weight", dest="prior_weight", type=float, default=0.1,
                        help="the frequency prior's share of the word unigram (default 0.1)")
    parser.add_argument("--no-dictionary", action="store_true", help="words from the train split only, no jieba dictionary")
    parser.add_argument("--dev", help="clause file (.jsonl) to choose the weights on (default: DATA/dev.jsonl)")
    parser.add_argument("--heldout", help="held-out clause hashes the dictionary's lines are checked against "
                        "(default: ../shared/bench/heldout-clauses.txt when it exists)")
    parser.add_argument("--dev-items", type=int, default=300, help="dev clauses to choose the weights on")
    parser.add_argument("--homophone-weights", type=float, nargs="+", default=[0.0, 0.1, 0.2, 0.3],
                        help="homophone chooser weights to try on dev (accurate mode)")
    parser.add_argument("--threads", type=int, help="torch threads for the dev conversions")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="--kind homophones: HomophoneTrainConfig settings, e.g. dim=16 epochs=1.5")


def run(args: argparse.Namespace) -> int:
    from pinhan.data.heldout import DEFAULT_LIST
    from pinhan.errors import ConfigError
    from pinhan.eval import lm_setup

    model_dir, data_dir = Path(args.model), Path(args.data)
    if any(w < 0 for w in args.weights + args.word_weights + args.homophone_weights):
        raise ConfigError("weights must be >= 0")
    if args.overrides and args.kind != "homophones":
        raise ConfigError(f"key=value settings are for --kind homophones only, got {' '.join(args.overrides)}")
    if args.kind == "homophones":
        from pinhan.config import resolve_config
        from pinhan.train.homophones import HomophoneTrainConfig, build_homophones

        config = resolve_config(HomophoneTrainConfig, None, args.overrides, where="homophones")
        build_homophones(model_dir, data_dir, config, weights=args.homophone_weights, n_dev=args.dev_items,
                         threads=args.threads, say=print, dev=Path(args.dev) if args.dev else None)
        return 0
    if args.kind == "weights":
        lm_setup.word_weights(model_dir, data_dir, weights=args.word_weights, n_dev=args.dev_items, threads=args.threads,
                              say=print, dev=Path(args.dev) if args.dev else None)
        return 0
    if args.kind in ("chars", "both"):
        min_count = args.min_count[0] if len(args.min_count) == 1 else args.min_count
        lm_setup.char_ngram(model_dir, data_dir, order=args.order, min_count=min_count, weights=args.weights,
                            n_dev=args.dev_items, threads=args.threads, say=print)
    if args.kind in ("words", "both"):
        min_count = args.word_min_count[0] if len(args.word_min_count) == 1 else args.word_min_count
        lm_setup.word_model(model_dir, data_dir, word_config(args, min_count), weights=args.word_weights,
                            n_dev=args.dev_items, threads=args.threads, say=print, dev=Path(args.dev) if args.dev else None,
                            heldout=Path(args.heldout) if args.heldout else (DEFAULT_LIST if DEFAULT_LIST.is_file() else None))
    return 0


def word_config(args: argparse.Namespace, min_count):
    """The flags as a checked ``WordModelConfig`` (a bad weight or list name is one line)."""
    from pinhan.config import resolve_config
    from pinhan.lm.word_build import WordModelConfig, parse_texts

    base = {"min_count": min_count, "texts": parse_texts(args.text), "data_weight": args.data_weight,
            "dictionary": not args.no_dictionary, "frequencies": args.frequencies,
            "frequency_words": args.frequency_words, "prior_weight": args.prior_weight, "sources_cache": args.sources_cache}
    return resolve_config(WordModelConfig, None, [], base=base, where="word model")
