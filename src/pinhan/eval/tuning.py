"""Choosing a character n-gram's fusion weights on dev clauses (never on a benchmark set).

Each weight is tried through the public model API only: ``model.with_ngram(lm)`` gives the model
the n-gram, ``with_config(lm_weight=w)`` (``fast_lm_weight``, ``gen_lm_weight``) a model that
fuses it with weight ``w``; the loaded runner and tables are shared, nothing is patched.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pinhan.eval.metrics import char_accuracy, sentence_accuracy
from pinhan.lm.build import continuation_cases

# mode -> the InferenceConfig setting that weights the n-gram in it
CONVERT_SETTINGS = (("accurate", "lm_weight"), ("fast", "fast_lm_weight"))


def choose_weight(convert_top1, items: Sequence[dict], weights: Sequence[float]) -> tuple[float, list[dict]]:
    """Score every weight on ``items`` (toneless unsegmented pinyin with context); the best
    character accuracy wins (the smaller weight on ties). ``convert_top1(inputs, weight)`` -> texts."""
    inputs = [("".join(s.rstrip("12345") for s in it["pinyin"]), it.get("context", "")) for it in items]
    golds = [it["hanzi"] for it in items]
    table = []
    for weight in weights:
        preds = convert_top1(inputs, weight)
        table.append({"weight": weight, "char": char_accuracy(preds, golds), "sentence": sentence_accuracy(preds, golds)})
    best = max(table, key=lambda row: (row["char"], -row["weight"]))
    return best["weight"], table


def choose_gen_weight(generate_first, cases: Sequence[tuple[str, str]], weights: Sequence[float]) -> tuple[float, list[dict]]:
    """Greedy continuation with each weight: the share of prefixes whose first generated character
    is the gold one wins (the smaller weight on ties). ``generate_first(prefixes, weight)`` -> texts."""
    table = []
    for weight in weights:
        texts = generate_first([p for p, _ in cases], weight)
        hits = sum(t[:1] == gold[:1] for t, (_, gold) in zip(texts, cases))
        table.append({"weight": weight, "next_char": hits / max(len(cases), 1)})
    best = max(table, key=lambda row: (row["next_char"], -row["weight"]))
    return best["weight"], table


def tune_fusion(model, lm, items: Sequence[dict], weights: Sequence[float]) -> Iterator[tuple[str, float, list[dict]]]:
    """Choose ``lm``'s weight for accurate conversion, fast conversion and continuation (``gen``)
    on dev ``items``; yields ``(mode, chosen weight, table)`` as each mode finishes. ``model`` is a
    :class:`pinhan.infer.api.Pinhan` loaded with every n-gram weight 0."""
    fused = model.with_ngram(lm)
    yield from tune_conversion(fused, CONVERT_SETTINGS, items, weights)

    def first(prefixes, weight):  # continuation: the first greedy character after mid-clause prefixes
        tried = fused.with_config(gen_lm_weight=weight)
        return [c[0].text if c else "" for c in tried.generate_batch(prefixes, max_new_tokens=1)]

    yield ("gen", *choose_gen_weight(first, continuation_cases(items), weights))


WORD_SETTINGS = (("accurate", "word_model_weight"), ("fast", "word_head_weight"))


def tune_words(model, items: Sequence[dict], weights: Sequence[float]) -> Iterator[tuple[str, float, list[dict]]]:
    """Choose the Transformer's weight against the word lattice: the decoder's in accurate mode,
    the encoder head's in fast mode, on dev ``items``; ``model`` is a
    :class:`pinhan.infer.api.Pinhan` whose directory holds the word model. Yields
    ``(mode, chosen weight, table)``."""
    yield from tune_conversion(model, WORD_SETTINGS, items, weights)


HOMOPHONE_SETTINGS = (("accurate", "homophone_weight"),)


def tune_conversion(model, settings, items: Sequence[dict], weights: Sequence[float]) -> Iterator[tuple[str, float, list[dict]]]:
    """For each (mode, InferenceConfig setting): the weight whose top-1 conversions of ``items``
    are most accurate, and the table."""
    for mode, setting in settings:
        def top1(inputs, weight, mode=mode, setting=setting):
            tried = model.with_config(**{setting: weight})
            return [c[0].text if c else "" for c in tried.convert_batch(inputs, k=1, mode=mode, abbreviations=False,
                                                                        prefixes=False)]

        yield (mode, *choose_weight(top1, items, weights))


def format_table(mode: str, table: list[dict], where: str, weight_name: str = "fusion weight") -> str:
    """A mode's dev table in Markdown, as ``pinhan lm`` prints it; ``where`` names the dev clauses."""
    if mode == "gen":
        lines = ["continuation (greedy next character after mid-clause prefixes)", "",
                 "| fusion weight | dev next char % |", "|---:|---:|"]
        lines += [f"| {row['weight']:g} | {100 * row['next_char']:.1f} |" for row in table]
    else:
        lines = [f"{mode} mode ({where})", "", f"| {weight_name} | dev char % | dev sentence % |", "|---:|---:|---:|"]
        lines += [f"| {row['weight']:g} | {100 * row['char']:.1f} | {100 * row['sentence']:.1f} |" for row in table]
    return "\n".join(lines)
