"""What ``pinhan lm`` does, as library functions: build a model directory's classical models from
a prepared data directory's train split, choose how much the Transformer weighs against each on
the data directory's dev clauses (never a benchmark set), and write them into the directory.

- :func:`char_ngram`: the character n-gram fused into conversion and continuation.
- :func:`word_model`: the word lexicon and word n-gram the word lattice converts with.

``say`` receives the lines to show (the CLI prints them).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pinhan.eval.tuning import format_table, tune_fusion, tune_words
from pinhan.infer.config import InferenceConfig
from pinhan.errors import DataError
from pinhan.eval.sets import check_task, read_set
from pinhan.lm.build import build_ngram, dev_items, draw, save_ngram
from pinhan.loader import load

OFF = InferenceConfig(lm_weight=0, fast_lm_weight=0, gen_lm_weight=0)


def char_ngram(model_dir: Path, data_dir: Path, *, order: int, min_count, weights: Sequence[float], n_dev: int,
               threads: int | None, say: Callable[[str], None]) -> Path:
    """Build, tune and write the character n-gram; returns its path."""
    model = load(model_dir, threads=threads, config=OFF)
    started = time.perf_counter()
    lm = build_ngram(data_dir, model.vocab, order, min_count)
    say(f"{order}-gram from {data_dir}/train: {lm.info['characters']:,} characters, n-grams kept / counted "
        + ", ".join(f"{k:,} / {c:,}" for k, c in zip(lm.info["ngrams_kept"], lm.info["ngrams_counted"]))
        + f", {lm.nbytes() / 1e6:.1f} MB, {time.perf_counter() - started:.0f} s")
    chosen = {mode: weights[0] for mode in ("accurate", "fast", "gen")}  # one weight: no search
    tables: dict[str, list[dict]] = {"accurate": [], "fast": []}
    if len(weights) > 1:
        items = dev_items(data_dir, n_dev)
        for mode, weight, table in tune_fusion(model, lm, items, weights):
            chosen[mode], tables[mode] = weight, table
            say("\n" + format_table(mode, table, f"{len(items)} clauses of {data_dir}/dev.jsonl"))
    path = save_ngram(lm, model_dir, chosen, data_dir, tables)
    say(f"\nwrote {path} (fusion weights: accurate {chosen['accurate']:g}, fast {chosen['fast']:g}, "
        f"continuation {chosen['gen']:g})")
    return path


def word_model(model_dir: Path, data_dir: Path, config, *, weights: Sequence[float], n_dev: int,
               threads: int | None, say: Callable[[str], None], heldout: Path | None = None,
               dev: Path | None = None) -> Path:
    """Build the word lexicon and word n-gram (``config``: a
    :class:`~pinhan.lm.word_build.WordModelConfig`), write them, then choose the decoder's
    (accurate) and the encoder head's (fast) weight against the lattice on dev clauses (``dev``,
    a clause file, or the data directory's ``dev.jsonl``) and write those too."""
    from pinhan.data.heldout import HeldoutRule
    from pinhan.lm.word_build import build_words, save_words

    model = load(model_dir, threads=threads, config=OFF)
    rule = HeldoutRule(heldout) if heldout is not None else None
    lexicon, lm = build_words(data_dir, model.lexicon, config, heldout=rule, progress=say)
    chosen, tables = {"model": weights[0], "head": weights[0]}, {}
    paths = save_words(lexicon, lm, model_dir, chosen)  # the lattice alone until the weights are chosen
    if len(weights) > 1:
        items = dev_clauses(data_dir, n_dev, dev)
        where = dev or data_dir / "dev.jsonl"
        model = load(model_dir, threads=threads, config=OFF)
        for mode, weight, table in tune_words(model, items, weights):
            chosen["model" if mode == "accurate" else "head"], tables[mode] = weight, table
            say("\n" + format_table(mode, table, f"{len(items)} clauses of {where}", "Transformer weight"))
        paths = save_words(lexicon, lm, model_dir, chosen, tables)
    say(f"\nwrote {paths[0]} and {paths[1]} ({len(lexicon):,} words; n-gram {paths[1].stat().st_size / 1e6:.1f} MB "
        f"on disk, {lm.nbytes() / 1e6:.1f} MB loaded; "
        f"Transformer weights: accurate {chosen['model']:g}, fast {chosen['head']:g})")
    return paths[1]


def word_weights(model_dir: Path, data_dir: Path, *, weights: Sequence[float], n_dev: int, threads: int | None,
                 say: Callable[[str], None], dev: Path | None = None) -> Path:
    """Choose the Transformer's weights against the directory's word model again, on dev clauses
    as :func:`word_model` does, without rebuilding it (after a change to the lattice's search,
    say); only the weights and their dev tables in the word n-gram's file change."""
    from pinhan.data.model_dir import ModelDir
    from pinhan.lm.ngram import WordNgram

    path = ModelDir(model_dir).word_ngram
    if not path.is_file():
        raise DataError(f"{model_dir} has no word model to weigh (build one: pinhan lm --kind words)")
    if len(weights) < 2:
        raise DataError("give at least two --word-weights to choose from")
    items = dev_clauses(data_dir, n_dev, dev)
    model = load(model_dir, threads=threads, config=OFF)
    chosen, tables = {}, {}
    for mode, weight, table in tune_words(model, items, weights):
        chosen["model" if mode == "accurate" else "head"], tables[mode] = weight, table
        say("\n" + format_table(mode, table, f"{len(items)} clauses of {dev or data_dir / 'dev.jsonl'}", "Transformer weight"))
    WordNgram.update_info(path, {"model_weight": chosen["model"], "head_weight": chosen["head"], "dev_tables": tables})
    say(f"\nwrote {path}: Transformer weights accurate {chosen['model']:g}, fast {chosen['head']:g}")
    return path


def dev_clauses(data_dir: Path, limit: int, dev: Path | None) -> list[dict]:
    """The dev clauses weights are chosen on: drawn from ``dev`` (a clause file, read and checked
    line by line as a benchmark set is) or else from the data directory's ``dev.jsonl``."""
    if dev is None:
        return dev_items(data_dir, limit)
    if not dev.is_file():
        raise DataError(f"dev clauses {dev}: no such file")
    clauses = read_set(dev)
    check_task(clauses, "p2h")
    return draw(clauses.items, limit)
