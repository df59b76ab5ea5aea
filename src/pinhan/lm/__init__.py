"""pinhan.lm: classical language models built from the same prepared data (for shallow fusion).

The character n-gram (``ngram``) and its building from a data directory's train split
(``build``). lm may import errors, ids, config, pinyin, model and data; never eval (its fusion
weights are chosen by ``pinhan.eval.tuning``), infer or anything above.
"""
