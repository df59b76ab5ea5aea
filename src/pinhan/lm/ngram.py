"""Character n-gram language model with interpolated Kneser-Ney smoothing, in packed arrays.

Built from the train split of a prepared data directory; used for shallow fusion: during
decoding, a candidate hanzi's score is ``score_model + weight * log p_ngram``. It brings the
classical model's strength, exact memory of frequent character sequences, to a small neural
model that has seen the corpus only once or twice.

Lower orders use continuation counts (how many distinct characters precede an n-gram), the
Kneser-Ney idea that a character seen after many contexts is a better guess for a new one. The
discount is fixed (0.75) or, for the word model, modified Kneser-Ney's three per order.

The model is stored in backoff form so that it can be pruned and queried with numpy alone:
for every kept n-gram ``h + c`` its interpolated ``log p(c | h)``; for every context ``h`` its
``log gamma(h)``, the mass the interpolation hands to the order below (the discounts of the n-grams
under ``h`` over ``total(h)``: ``D * types(h) / total(h)`` with one fixed discount).
Then ``p(c | h) = p_stored(h + c)`` when kept, else ``gamma(h) * p(c | h[1:])``. Unpruned, this
is exactly interpolated Kneser-Ney. Pruning drops n-grams seen fewer than ``min_count`` times
(most are singletons); a context whose n-grams were all dropped gets its order's mean
``log gamma`` (which a context never seen in training also gets, where the exact model says 0).

Characters are vocabulary ids (< 65535); an n-gram is packed 16 bits a character into one
uint64, first character highest, so ``key >> 16`` is its context. The same model over words
(:class:`WordNgram`: ids of 21 bits, order up to 3) shares every line of it; only the packing
width differs. A word model also takes prior unigram counts (a dictionary's word frequencies),
so that a word the corpus never had is still ranked by how common it is.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from pinhan.errors import ConfigError, DataError

DISCOUNT = 0.75
STORAGE_VERSION = 2  # files store context runs + last ids (1: the packed keys themselves)
BOS = 0xFFFF  # start of line for the character model: pads every history on the left


def pack(grams: np.ndarray, bits: int = 16) -> np.ndarray:
    """(Q, n) ids -> (Q,) uint64 keys, ``bits`` per id."""
    keys = np.zeros(grams.shape[0], dtype=np.uint64)
    for j in range(grams.shape[1]):
        keys = (keys << np.uint64(bits)) | grams[:, j].astype(np.uint64)
    return keys


def _lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted ``keys`` -> (found mask, value where found else 0) for each query key."""
    if len(keys) == 0:
        return np.zeros(len(query), dtype=bool), np.zeros(len(query), dtype=np.float32)
    pos = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    found = keys[pos] == query
    return found, np.where(found, values[pos].astype(np.float32), 0.0)


class KneserNeyNgram:
    """``logprob_ids(histories, chars)`` for an order-``order`` interpolated Kneser-Ney model
    over ids of ``ID_BITS`` bits (a subclass fixes the width, start symbol and file format).

    ``keys[k]`` / ``logp[k]``: the kept (k+1)-grams, sorted, and their log-probabilities;
    ``ctx_keys[k]`` / ``ctx_log_gamma[k]``: contexts of length k and their backoff log-weights
    (``ctx_*[0]`` is the empty context, which backs off to uniform over the vocabulary);
    ``default_log_gamma[k]``: the weight of a context of length k that is not stored.
    """

    ID_BITS = 16
    BOS = BOS
    MAX_ORDER = 4  # 4 x 16 bits fill a uint64
    LOGP_CODEBOOK = False  # files code log-probabilities above the unigram in 8 bits (lossy; see _quantize)
    FORMAT = "pinhan-char-ngram/1"
    UNIT = "character"

    def __init__(self, order: int, vocab_size: int, keys: list[np.ndarray], logp: list[np.ndarray],
                 ctx_keys: list[np.ndarray], ctx_log_gamma: list[np.ndarray], default_log_gamma: list[float],
                 info: dict | None = None) -> None:
        if not 1 <= order <= self.MAX_ORDER:
            raise ValueError(f"order must be between 1 and {self.MAX_ORDER}, got {order}")
        if not 0 < vocab_size < self.BOS:
            raise ValueError(f"vocabulary size must be between 1 and {self.BOS - 1}, got {vocab_size}")
        self.order, self.vocab_size = order, vocab_size
        self.keys, self.logp, self.ctx_keys, self.ctx_log_gamma = keys, logp, ctx_keys, ctx_log_gamma
        self.default_log_gamma = default_log_gamma
        self.info = info or {}

    # --- build --------------------------------------------------------------------------------
    @classmethod
    def build(cls, lines: Iterable[Sequence[int] | np.ndarray], vocab_size: int, order: int = 4,
              min_count: int | Sequence[int] = 1, prior_counts: np.ndarray | None = None, modified: bool = False):
        """Count ``lines`` (each a sequence of ids < vocab_size) and estimate the model.

        ``min_count``: an n-gram seen fewer times (continuation count below the top order) is
        pruned; one number applies to every order above 1, a list gives one per order from 2 up.
        Unigrams are always kept. ``prior_counts`` (vocab_size,) are added to the unigram
        (continuation) counts: ids with a prior count are predicted by it even if never counted.
        ``modified``: modified Kneser-Ney (:func:`_discounts`): above the unigrams, three
        discounts per order, for n-grams seen once, twice and three times or more, estimated
        from the order's counts of counts, instead of one fixed discount (0.75).
        """
        if not 1 <= order <= cls.MAX_ORDER:  # ConfigError is a ValueError: `pinhan lm --order 5` prints one line
            raise ConfigError(f"order must be between 1 and {cls.MAX_ORDER}, got {order}")
        mins = [1] + ([int(min_count)] * (order - 1) if np.isscalar(min_count) else [int(m) for m in min_count])
        if len(mins) != order or min(mins) < 1:
            raise ConfigError(f"min_count needs one value >= 1 per order above 1, got {min_count!r}")
        bits, bos = cls.ID_BITS, cls.BOS
        pad = np.full(order - 1, bos, dtype=np.int64)
        pieces, n_chars = [], 0
        for line in lines:
            ids = np.asarray(line, dtype=np.int64)
            if len(ids) and (ids.min() < 0 or ids.max() >= vocab_size):
                raise DataError(f"{cls.UNIT} id outside the vocabulary of {vocab_size} in an n-gram training line")
            pieces += [pad, ids]
            n_chars += len(ids)
        if n_chars == 0:
            raise DataError(f"no {cls.UNIT}s to build an n-gram model from")
        seq = np.concatenate(pieces)
        ends = np.flatnonzero(seq != bos)  # every predicted position; its history lies in its own line

        # Counts, top order first: raw counts there, continuation counts below.
        grams: list[np.ndarray] = [None] * order  # type: ignore[list-item]
        counts: list[np.ndarray] = [None] * order  # type: ignore[list-item]
        windows = np.stack([seq[ends - (order - 1 - j)] for j in range(order)], axis=1)  # (N, order)
        grams[-1], counts[-1] = np.unique(pack(windows, bits), return_counts=True)
        for k in range(order - 2, -1, -1):
            suffix = grams[k + 1] & np.uint64((1 << (bits * (k + 1))) - 1)
            grams[k], counts[k] = np.unique(suffix, return_counts=True)
        if prior_counts is not None:
            grams[0], counts[0] = _with_prior(grams[0], counts[0], np.asarray(prior_counts, dtype=np.float64), vocab_size)

        # Interpolated probabilities, lowest order first: p_k = max(c - D, 0) / T + gamma * p_{k-1}.
        keys, logp, ctx_keys, ctx_gamma, defaults = [], [], [], [], []
        lower_p = None
        for k in range(order):
            ctx = grams[k] >> np.uint64(bits)
            uniq_ctx, first, inverse = np.unique(ctx, return_index=True, return_inverse=True)
            total = np.bincount(inverse, weights=counts[k]).astype(np.float64)
            discount = _discounts(counts[k]) if modified and k else np.full(len(counts[k]), DISCOUNT)  # per n-gram
            gamma = np.bincount(inverse, weights=discount) / total
            if k == 0:
                below = np.full(len(grams[0]), 1.0 / vocab_size)
            else:
                suffix = grams[k] & np.uint64((1 << (bits * k)) - 1)
                below = lower_p[np.searchsorted(grams[k - 1], suffix)]  # every suffix is counted below
            p = np.maximum(counts[k] - discount, 0.0) / total[inverse] + gamma[inverse] * below
            lower_p = p
            keep = counts[k] >= mins[k] if k else counts[k] > 0  # unigrams: all (a prior count may be < 1)
            keys.append(grams[k][keep])
            logp.append(np.log(p[keep]).astype(np.float16))
            kept_ctx = np.zeros(len(uniq_ctx), dtype=bool)
            kept_ctx[inverse[keep]] = True
            ctx_keys.append(uniq_ctx[kept_ctx])
            ctx_gamma.append(np.log(gamma[kept_ctx]).astype(np.float16))
            dropped = np.log(gamma[~kept_ctx])
            defaults.append(float(dropped.mean()) if len(dropped) else 0.0)
        info = {f"{cls.UNIT}s": int(n_chars), "lines_counted": len(pieces) // 2, "min_count": mins,
                "discounts": "modified" if modified else "fixed",
                "ngrams_counted": [int(len(g)) for g in grams], "ngrams_kept": [int(len(k)) for k in keys]}
        return cls(order, vocab_size, keys, logp, ctx_keys, ctx_gamma, defaults, info)

    @property
    def unigram_logp(self) -> np.ndarray:
        """(vocab_size,) log p(char) with no history (cached)."""
        if getattr(self, "_unigram", None) is None:
            chars = np.arange(self.vocab_size, dtype=np.uint64)
            found, value = _lookup(self.keys[0], self.logp[0], chars)  # unigram keys: the character alone
            _, gamma = _lookup(self.ctx_keys[0], self.ctx_log_gamma[0], np.zeros(1, dtype=np.uint64))
            self._unigram = np.where(found, value, gamma[0] - math.log(self.vocab_size)).astype(np.float32)
        return self._unigram

    # --- query --------------------------------------------------------------------------------
    def logprob_ids(self, histories: np.ndarray, chars: np.ndarray) -> np.ndarray:
        """(Q, h) history ids (BOS-padded on the left, any h) and (Q,) character ids -> (Q,)
        natural-log probabilities of each character after its history."""
        chars = np.asarray(chars, dtype=np.int64)
        return self.logprob_grid(np.asarray(histories).reshape(len(chars), -1), chars[:, None])[:, 0]

    def logprob_grid(self, histories: np.ndarray, chars: np.ndarray) -> np.ndarray:
        """(H, h) history ids (BOS-padded on the left, any h) and (H, M) character ids, -1 for
        none -> (H, M) natural-log probabilities of each character after its row's history (0
        where the id is -1).

        Made for a search whose beams each ask about many characters: a context's backoff weight
        is looked up once per history instead of once per character, and a history whose context
        has no stored n-gram of an order (a pruned model: most) skips that order's lookup."""
        histories = np.asarray(histories, dtype=np.int64)
        chars = np.asarray(chars, dtype=np.int64)
        H, need = chars.shape[0], self.order - 1
        histories = histories.reshape(H, -1)
        if histories.shape[1] < need:
            histories = np.concatenate([np.full((H, need - histories.shape[1]), self.BOS, dtype=np.int64), histories], 1)
        hist = histories[:, histories.shape[1] - need:]  # (H, order-1)
        out = np.zeros(chars.shape, dtype=np.float32)
        backoff = np.zeros(H, dtype=np.float32)  # (H,) log-weight handed down to the current order
        rows, cols = np.nonzero(chars >= 0)  # the open entries, resolved order by order
        for k in range(self.order - 1, -1, -1):
            ctx = pack(hist[:, need - k:], self.ID_BITS) if k else np.zeros(H, dtype=np.uint64)  # (H,)
            stored, gamma = _lookup(self.ctx_keys[k], self.ctx_log_gamma[k], ctx)  # (H,)
            # Every kept n-gram's context is stored, so an unstored context has none to find.
            ask = stored[rows]
            found = np.zeros(len(rows), dtype=bool)
            if ask.any():
                r, c = rows[ask], cols[ask]
                hit, value = _lookup(self.keys[k], self.logp[k], (ctx[r] << np.uint64(self.ID_BITS)) | chars[r, c].astype(np.uint64))
                out[r[hit], c[hit]] = backoff[r[hit]] + value[hit]
                found[np.flatnonzero(ask)[hit]] = True
            rows, cols = rows[~found], cols[~found]
            if not len(rows):
                return out
            backoff += np.where(stored, gamma, np.float32(self.default_log_gamma[k]))
        out[rows, cols] = backoff[rows] - math.log(self.vocab_size)
        return out

    # --- files --------------------------------------------------------------------------------
    def save(self, path: str | Path, extra: dict | None = None) -> None:
        """Write one safetensors file (atomically: a temporary name, then a rename).

        On disk an n-gram is not its packed key: the keys of one order are sorted, so they come
        in runs that share a context, and the contexts are exactly ``ctx_keys`` (a context is
        stored when it keeps an n-gram). So the file holds, per order, ``runs`` (n-grams per
        stored context) and ``last`` (each n-gram's last id), every integer array in the fewest
        bytes that hold it (:func:`_narrow`: 2 bytes a character id, 3 a word id), and
        :meth:`load` rebuilds the keys: 5-6 bytes an n-gram fewer than the keys themselves."""
        tensors = {}
        for k in range(self.order):
            contexts, runs = np.unique(self.keys[k] >> np.uint64(self.ID_BITS), return_counts=True)
            if not np.array_equal(contexts, self.ctx_keys[k]):
                raise DataError(f"order {k + 1}: the stored contexts differ from the n-grams' (not a pruned model?)")
            tensors[f"ctx_keys.{k}"], tensors[f"ctx_log_gamma.{k}"] = _narrow(contexts), self.ctx_log_gamma[k]
            tensors[f"runs.{k}"] = _narrow(runs)
            tensors[f"last.{k}"] = _narrow(self.keys[k] & np.uint64((1 << self.ID_BITS) - 1))
            if k and self.LOGP_CODEBOOK and len(self.logp[k]) > 256:
                tensors[f"logp.{k}"], tensors[f"logp_book.{k}"] = _quantize(self.logp[k])
            else:
                tensors[f"logp.{k}"] = self.logp[k]
        meta = {"format": self.FORMAT, "version": STORAGE_VERSION, "order": self.order, "vocab_size": self.vocab_size,
                "default_log_gamma": self.default_log_gamma, "info": self.info, **(extra or {})}
        _write(path, tensors, meta)

    @classmethod
    def load(cls, path: str | Path):
        """Read a file :meth:`save` wrote (or one of version 1, which stored the packed keys)."""
        from safetensors import SafetensorError
        from safetensors.numpy import load_file, safe_open

        path = Path(path)
        try:
            with safe_open(str(path), framework="numpy") as f:
                meta = json.loads((f.metadata() or {}).get("pinhan", "{}"))
            tensors = load_file(str(path))
            if meta.get("format") != cls.FORMAT:
                raise DataError(f"{path}: not a pinhan {cls.UNIT} n-gram file (format {meta.get('format')!r}, expected {cls.FORMAT})")
            order, version = int(meta["order"]), int(meta.get("version", 1))
            if version not in (1, STORAGE_VERSION):
                raise DataError(f"{path}: n-gram storage version {version} is newer than this pinhan reads ({STORAGE_VERSION})")
            ctx_keys = [_widen(tensors[f"ctx_keys.{k}"]) for k in range(order)]
            if version == 1:
                keys = [tensors[f"keys.{k}"] for k in range(order)]
            else:
                keys = [_unrun(ctx_keys[k], _widen(tensors[f"runs.{k}"]), _widen(tensors[f"last.{k}"]), cls.ID_BITS)
                        for k in range(order)]
            logp = [tensors[f"logp_book.{k}"][tensors[f"logp.{k}"]].astype(np.float16) if f"logp_book.{k}" in tensors
                    else tensors[f"logp.{k}"] for k in range(order)]
            gamma = [tensors[f"ctx_log_gamma.{k}"] for k in range(order)]
            if any(len(a) != len(b) for a, b in zip(keys + ctx_keys, logp + gamma)):
                raise DataError(f"{path}: n-gram arrays of different lengths (a damaged file?)")
            return cls(order, int(meta["vocab_size"]), keys, logp, ctx_keys, gamma,
                       [float(x) for x in meta["default_log_gamma"]], meta.get("info"))
        except (OSError, SafetensorError, KeyError, IndexError, ValueError, TypeError, json.JSONDecodeError) as e:
            raise DataError(f"{path}: cannot read the n-gram model ({e})") from e

    @classmethod
    def update_info(cls, path: str | Path, changes: dict) -> None:
        """Change entries of a saved file's ``info`` (its fusion weights, say) and nothing else:
        the tensors are written back as they were read, byte for byte (a :meth:`load` and
        :meth:`save` would re-quantize the 8-bit log-probabilities), atomically."""
        from safetensors import SafetensorError
        from safetensors.numpy import safe_open

        path = Path(path)
        try:
            with safe_open(str(path), framework="numpy") as f:
                meta = json.loads((f.metadata() or {}).get("pinhan", "{}"))
                tensors = {k: f.get_tensor(k) for k in f.keys()}
        except (OSError, SafetensorError, ValueError, json.JSONDecodeError) as e:
            raise DataError(f"{path}: cannot read the n-gram model ({e})") from e
        if meta.get("format") != cls.FORMAT:
            raise DataError(f"{path}: not a pinhan {cls.UNIT} n-gram file (format {meta.get('format')!r}, expected {cls.FORMAT})")
        meta["info"] = {**meta.get("info", {}), **changes}
        _write(path, tensors, meta)

    def nbytes(self) -> int:
        return int(sum(a.nbytes for arrays in (self.keys, self.logp, self.ctx_keys, self.ctx_log_gamma) for a in arrays))


def _write(path: str | Path, tensors: dict[str, np.ndarray], meta: dict) -> None:
    """One safetensors file with ``meta`` as its ``pinhan`` metadata, atomically (a temporary
    name, then a rename)."""
    from safetensors.numpy import save_file

    from pinhan.model.io import fsync_dir

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(tmp), metadata={"pinhan": json.dumps(meta)})
    tmp.replace(path)
    fsync_dir(path.parent)


def _quantize(logp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n,) log-probabilities -> (n,) uint8 codes and a (256,) float32 codebook: the values at
    256 evenly spaced quantiles, each value coded as its nearest. On the word trigram's bigrams
    and trigrams the mean error is 0.012 nats (max 0.33), and dev accuracy moved within its noise
    (RESULTS.md, "General-domain sources, second part")."""
    values = logp.astype(np.float32)
    book = np.unique(np.quantile(values, (np.arange(256) + 0.5) / 256).astype(np.float32))
    codes = np.searchsorted((book[1:] + book[:-1]) / 2, values).astype(np.uint8)
    return codes, np.pad(book, (0, 256 - len(book)), mode="edge")


def _narrow(values: np.ndarray) -> np.ndarray:
    """Unsigned integers in the fewest bytes that hold them: uint8/16/32/64, or (n, 3) bytes,
    little-endian, for values under 2**24 (a 21-bit word id takes 3 bytes, not 4)."""
    top = int(values.max()) if len(values) else 0
    if 2**16 <= top < 2**24:
        little = values.astype("<u4").view(np.uint8).reshape(-1, 4)
        return np.ascontiguousarray(little[:, :3])
    for kind in (np.uint8, np.uint16, np.uint32):
        if top < 2 ** (8 * np.dtype(kind).itemsize):
            return values.astype(kind)
    return values.astype(np.uint64)


def _widen(stored: np.ndarray) -> np.ndarray:
    """:func:`_narrow` undone: (n,) uint64."""
    if stored.ndim == 2:
        if stored.shape[1] != 3 or stored.dtype != np.uint8:
            raise ValueError(f"packed integers of shape {stored.shape} and type {stored.dtype}")
        padded = np.zeros((len(stored), 4), dtype=np.uint8)
        padded[:, :3] = stored
        return padded.view("<u4").reshape(-1).astype(np.uint64)
    if stored.dtype.kind != "u":
        raise ValueError(f"stored integers of type {stored.dtype}")
    return stored.astype(np.uint64)


def _unrun(contexts: np.ndarray, runs: np.ndarray, last: np.ndarray, bits: int) -> np.ndarray:
    """Packed keys from the stored form: context ``i`` repeated ``runs[i]`` times, shifted, with
    each n-gram's last id below it."""
    if len(runs) != len(contexts) or int(runs.sum()) != len(last):
        raise ValueError("n-gram runs do not add up to the stored n-grams")
    return (np.repeat(contexts, runs.astype(np.int64)) << np.uint64(bits)) | last.astype(np.uint64)


def _discounts(counts: np.ndarray) -> np.ndarray:
    """Modified Kneser-Ney (Chen & Goodman 1998): one discount for n-grams seen once, one for
    twice, one for three times or more, each estimated from the order's counts of counts; the
    fixed discount where those are too few to estimate from (a toy corpus)."""
    n = [np.count_nonzero(counts == c) for c in (1, 2, 3, 4)]
    if min(n) == 0:
        return np.full(len(counts), DISCOUNT)
    y = n[0] / (n[0] + 2 * n[1])
    d = [1 - 2 * y * n[1] / n[0], 2 - 3 * y * n[2] / n[1], 3 - 4 * y * n[3] / n[2]]
    if not all(0 < x < c for x, c in zip(d, (1, 2, 3))):
        return np.full(len(counts), DISCOUNT)
    return np.where(counts >= 3, d[2], np.where(counts == 2, d[1], d[0]))


def _with_prior(grams: np.ndarray, counts: np.ndarray, prior: np.ndarray, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Unigram keys and counts with ``prior`` (vocab_size,) added; ids only in the prior join."""
    if prior.shape != (vocab_size,) or (prior < 0).any():
        raise ConfigError(f"prior counts must be {vocab_size} numbers >= 0")
    total = prior.copy()
    total[grams.astype(np.int64)] += counts
    ids = np.flatnonzero(total > 0)
    return ids.astype(np.uint64), total[ids]


class CharNgram(KneserNeyNgram):
    """The character model fused into conversion and continuation (16-bit ids, order <= 4)."""


class WordNgram(KneserNeyNgram):
    """A word model: ids of a word lexicon (up to 2 million words), order <= 3 (3 x 21 bits)."""

    ID_BITS = 21
    BOS = (1 << 21) - 1
    MAX_ORDER = 3
    LOGP_CODEBOOK = True  # 2 bytes -> 1 an n-gram: the general-domain trigram fits the model's 40 MB
    FORMAT = "pinhan-word-ngram/1"
    UNIT = "word"
