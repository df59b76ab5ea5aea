"""Training examples for the three tasks, cut from prepared documents.

An :class:`Example` holds unpadded numpy id arrays in the model's batch layout (see
``pinhan.model.losses``): encoder positions = context (hanzi and pinyin known) + target, decoder
input = BOS + the previous output pair, targets per step.

- ``p2h``: a span of a hanzi run is the target; its pinyin is given as typed — toneless by
  default, sometimes toned, some syllables abbreviated to their initial, some fuzzy-swapped — and
  its hanzi are masked. The encoder's hanzi head is trained on the same positions (``nar``).
- ``h2p``: the same kind of span with hanzi given and pinyin unknown; the decoder emits syllables.
- ``gen``: a prefix of the document is context; the decoder continues it character by character.

Every random choice draws from the ``numpy.random.Generator`` passed in, so an example stream is a
pure function of its seed (what makes ``--resume`` exact).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pinhan.data.shards import ShardedSplit
from pinhan.data.tables import PinyinTables
from pinhan.data.vocab import Vocab
from pinhan.errors import ConfigError
from pinhan import ids

TASKS = ids.TASK_NAMES



@dataclass
class ExampleConfig:
    """How training examples are cut and how typed pinyin is simulated.

    Args:
        task_weights: sampling weight of each task, keys among ``p2h``, ``h2p``, ``gen``.
        max_context: most characters of preceding text given as context (drawn uniformly
            from 0 up to this).
        max_target: longest p2h / h2p target span (hanzi).
        whole_run_prob: chance that a p2h / h2p target is a whole hanzi run (a clause, as in the
            benchmarks) when it fits, rather than a random part of one.
        gen_max_new: longest continuation a ``gen`` example asks for.
        toned_prob: chance that a p2h example is typed with tones.
        abbreviate_prob: chance that each p2h syllable is typed as its initial only.
        all_abbreviated_prob: chance that a whole p2h example is typed as initials (``zgwh``).
        fuzzy_prob: chance that each p2h syllable's initial or final is swapped with its fuzzy
            partner (z/zh, an/ang, ...), as a careless typist would.
        first_letter_prob: chance that an abbreviated zh, ch or sh is typed as its first letter
            (z, c, s), as initials-only typing does (``zgwh`` for 中国文化).
    """

    task_weights: dict[str, float] = field(default_factory=lambda: {"p2h": 0.6, "h2p": 0.2, "gen": 0.2})
    max_context: int = 64
    max_target: int = 32
    whole_run_prob: float = 0.5
    gen_max_new: int = 16
    toned_prob: float = 0.1
    abbreviate_prob: float = 0.05
    all_abbreviated_prob: float = 0.03
    fuzzy_prob: float = 0.01
    first_letter_prob: float = 0.5

    def __post_init__(self) -> None:
        unknown = sorted(set(self.task_weights) - set(TASKS))
        if unknown:
            raise ConfigError(f"task_weights: unknown task(s) {', '.join(unknown)} (known: {', '.join(TASKS)})")
        if any(w < 0 for w in self.task_weights.values()) or sum(self.task_weights.values()) <= 0:
            raise ConfigError("task_weights must be >= 0 with a positive sum")
        for name in ("max_target", "gen_max_new"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        if self.max_context < 0:
            raise ConfigError("max_context must be >= 0")
        for name in ("whole_run_prob", "toned_prob", "abbreviate_prob", "all_abbreviated_prob", "fuzzy_prob",
                     "first_letter_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be a probability in [0, 1]")


@dataclass
class Example:
    """One unpadded example; arrays are int64. S = context + target positions, T = steps."""

    task: int
    enc: dict[str, np.ndarray]  # chars, initials, finals, tones, segments: (S,)
    dec: dict[str, np.ndarray]  # chars, initials, finals, tones: (T,)
    tgt_chars: np.ndarray  # (T,)
    tgt_syllables: np.ndarray  # (T,)
    enc_tgt_chars: np.ndarray  # (S,)
    keys: np.ndarray  # (T, 3) (initial, final, tone) each emitted hanzi must be readable as; -1 rows: free


class ExampleSampler:
    """Cuts examples from a prepared split, documents chosen in proportion to their length."""

    def __init__(self, split: ShardedSplit, vocab: Vocab, config: ExampleConfig, char_map: np.ndarray | None = None) -> None:
        """``char_map`` maps the split's character ids to ``vocab``'s (fine-tuning on a corpus
        prepared with its own vocabulary); ``None`` when they are the same."""
        if split.num_tokens == 0:
            raise ConfigError("cannot sample training examples from an empty split")
        self.split = split
        self.vocab = vocab
        self.config = config
        self.tables = PinyinTables(vocab)
        self.char_map = char_map
        weights = np.array([config.task_weights.get(t, 0.0) for t in TASKS], dtype=np.float64)
        self.task_probs = weights / weights.sum()

    def sample(self, rng: np.random.Generator) -> Example:
        task = int(rng.choice(len(TASKS), p=self.task_probs))
        for _ in range(64):  # a document without a usable span is rare; try another token
            doc, offset = self.split.locate(int(rng.integers(self.split.num_tokens)))
            chars, syllables = (a.astype(np.int64) for a in self.split.doc(doc))
            if self.char_map is not None:
                chars = self.char_map[chars]
            example = (self._gen if task == ids.TASK_GEN else self._span)(task, chars, syllables, offset, rng)
            if example is not None:
                return example
        raise ConfigError("could not cut a training example from 64 random documents; is the corpus mostly non-hanzi?")

    # --- spans of hanzi (p2h, h2p) ----------------------------------------------------------
    def _span(self, task, chars, syllables, offset, rng) -> Example | None:
        readable = syllables >= ids.N_SPECIAL  # hanzi with a reading
        if not readable[offset]:
            return None
        start, end = offset, offset + 1  # grow to the maximal run around the sampled token
        while start > 0 and readable[start - 1]:
            start -= 1
        while end < len(syllables) and readable[end]:
            end += 1
        cfg = self.config
        if end - start > cfg.max_target or rng.random() >= cfg.whole_run_prob:
            length = int(rng.integers(1, min(cfg.max_target, end - start) + 1))
            start = int(rng.integers(start, end - length + 1))
            end = start + length
        ctx_start = max(0, start - int(rng.integers(0, cfg.max_context + 1)))
        target_syl = syllables[start:end]
        factors = self.tables.factors[target_syl]  # (L, 3) toned
        L = end - start
        if task == ids.TASK_P2H:
            typed = self._typed(factors, rng)
            target_chars = np.full(L, ids.MASK, dtype=np.int64)
            enc_tgt = chars[start:end]
            keys = typed  # each emitted hanzi must be readable as what was typed
        else:  # h2p: hanzi given, pinyin unknown
            typed = np.full((L, 3), ids.UNKNOWN, dtype=np.int64)
            target_chars = chars[start:end]
            enc_tgt = np.full(L, ids.IGNORE, dtype=np.int64)
            keys = factors  # the hanzi of each emitted syllable is read as that syllable
        return self._assemble(task, chars[ctx_start:start], syllables[ctx_start:start], target_chars, typed,
                              chars[start:end], target_syl, enc_tgt, keys)

    def _typed(self, factors: np.ndarray, rng) -> np.ndarray:
        """Toned factors -> factors as a user would type them (toneless, abbreviated, fuzzy)."""
        cfg, tables = self.config, self.tables
        typed = factors.copy()  # (L, 3)
        if rng.random() >= cfg.toned_prob:
            typed[:, 2] = ids.UNKNOWN
        L = len(typed)
        fuzzy = rng.random(L) < cfg.fuzzy_prob
        typed[fuzzy, 0] = tables.initial_swap[typed[fuzzy, 0]]
        fuzzy = rng.random(L) < cfg.fuzzy_prob
        typed[fuzzy, 1] = tables.final_swap[typed[fuzzy, 1]]
        abbreviate = rng.random(L) < cfg.abbreviate_prob
        if rng.random() < cfg.all_abbreviated_prob:
            abbreviate[:] = True
        abbreviate &= typed[:, 0] != tables.zero_initial  # "an" typed as "a" is still a syllable
        typed[abbreviate, 1] = ids.UNKNOWN
        typed[abbreviate, 2] = ids.UNKNOWN
        short = abbreviate & (rng.random(L) < cfg.first_letter_prob)
        typed[short, 0] = tables.first_letter[typed[short, 0]]
        return typed

    # --- continuation (gen) -------------------------------------------------------------------
    def _gen(self, task, chars, syllables, offset, rng) -> Example | None:
        if offset == 0 or offset >= len(chars):
            return None  # gen needs at least one character of context and one to predict
        cfg = self.config
        ctx_start = max(0, offset - max(1, int(rng.integers(1, cfg.max_context + 1))))
        end = min(len(chars), offset + int(rng.integers(1, cfg.gen_max_new + 1)))
        empty = np.zeros(0, dtype=np.int64)
        no_keys = np.full((end - offset, 3), -1, dtype=np.int64)  # nothing typed restricts a continuation
        return self._assemble(task, chars[ctx_start:offset], syllables[ctx_start:offset], empty,
                              np.zeros((0, 3), dtype=np.int64), chars[offset:end], syllables[offset:end], empty, no_keys)

    # --- layout ---------------------------------------------------------------------------------
    def _assemble(self, task, ctx_chars, ctx_syl, target_chars, typed, out_chars, out_syl, enc_tgt, keys) -> Example:
        """Encoder = context + target positions; decoder = BOS + previous output pairs."""
        factors = self.tables.factors
        C, L = len(ctx_chars), len(target_chars)
        ctx_f = factors[ctx_syl]  # (C, 3); pass-through characters have syllable PAD -> factors 0
        enc = {
            "chars": np.concatenate([ctx_chars, target_chars]),
            "initials": np.concatenate([ctx_f[:, 0], typed[:, 0]]),
            "finals": np.concatenate([ctx_f[:, 1], typed[:, 1]]),
            "tones": np.concatenate([ctx_f[:, 2], typed[:, 2]]),
            "segments": np.concatenate([np.full(C, ids.SEG_CONTEXT), np.full(L, ids.SEG_TARGET)]).astype(np.int64),
        }
        out_f = factors[out_syl]  # (T, 3)
        dec = {
            "chars": np.concatenate([[ids.BOS], out_chars[:-1]]).astype(np.int64),
            "initials": np.concatenate([[0], out_f[:-1, 0]]).astype(np.int64),
            "finals": np.concatenate([[0], out_f[:-1, 1]]).astype(np.int64),
            "tones": np.concatenate([[0], out_f[:-1, 2]]).astype(np.int64),
        }
        tgt_syl = np.where(out_syl >= ids.N_SPECIAL, out_syl, ids.IGNORE)
        enc_tgt_chars = np.concatenate([np.full(C, ids.IGNORE, dtype=np.int64), enc_tgt])
        return Example(task, enc, dec, out_chars.copy(), tgt_syl, enc_tgt_chars, keys)
