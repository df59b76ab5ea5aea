"""pinhan.data: a corpus becomes a prepared data directory, and what reads one back.

Sources, cleaning and annotation, clauses, the vocabulary and lexicon, shards, ``pinhan
prepare``'s pipeline (``prepare``) and its build-then-swap directories (``staging``), the model
directory's file layout (``model_dir``), lookup tables shared by training and decoding
(``tables``), training examples and batches. data may import errors, ids, config, pinyin and
model; never infer or anything above it.
"""
