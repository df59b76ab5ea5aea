"""Train g2p's polyphone head on a model's frozen encoder: pinhan polyphone --model DIR
[--config FILE] [key=value ...] [--out FILE | --measure-only]

Gold readings from CPP-format items (``labelled``, default ``../shared/bench/cpp-dev.jsonl``), a
fixed-seed fold of them held out to measure (``dev_fraction=0`` trains on all), weak readings from
a teacher (``teacher=g2pm``, needs the ``bench`` extra; ``teacher=null`` for none) on the bundled
corpus, and on sentences of fetched corpora that hold polyphones still short of examples
(``corpus_sources=[inews]``, ``sources_cache=DIR``; ``pinhan fetch inews`` first). Settings:
:class:`pinhan.train.polyphone.PolyphoneTrainConfig`. Writes ``DIR/polyphone.safetensors`` unless
``--out`` names another file.

``--memory-only`` trains nothing: it rebuilds the head's reading memory (what the labelled items
agree on beside a neighbour, ``memory_min_count``) from ``labelled`` and puts it in the existing
head file, its weights untouched.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

EXTRA_ARGS = "overrides"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model directory (default: the shipped default model)")
    parser.add_argument("--config", help="yaml file of PolyphoneTrainConfig settings")
    parser.add_argument("--out", help="where to write the head (default: MODEL/polyphone.safetensors)")
    parser.add_argument("--measure-only", action="store_true", help="train and report, write nothing")
    parser.add_argument("--memory-only", action="store_true",
                        help="rebuild only the existing head's reading memory from the labelled items")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--json", help="write the report here")
    parser.set_defaults(overrides=[])


def run(args: argparse.Namespace) -> int:
    import torch

    from pinhan.config import resolve_config
    from pinhan.errors import ConfigError
    from pinhan.data.model_dir import ModelDir
    from pinhan.loader import default_model_dir
    from pinhan.train.polyphone import PolyphoneTrainConfig, refresh_memory, train_polyphone

    torch.set_num_threads(args.threads)
    config = resolve_config(PolyphoneTrainConfig, args.config, args.overrides, where="polyphone")
    model = Path(args.model) if args.model else default_model_dir()
    out = None if args.measure_only else (args.out or str(ModelDir(model).polyphone))
    if args.memory_only:
        if out is None:
            raise ConfigError("--memory-only writes the head file; it cannot go with --measure-only")
        report = refresh_memory(str(model), config, out)
    else:
        report = train_polyphone(str(model), config, out)
    print(json.dumps({k: v for k, v in report.items() if k != "config"}, ensure_ascii=False))
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0
