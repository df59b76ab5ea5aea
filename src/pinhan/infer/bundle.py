"""What a loaded model's tasks share, built once per load: the runner, the vocabulary and
lexicon, the tables derived from them, the word list for prefix candidates and the n-gram.

Conversion, g2p, continuation and sessions each receive the same :class:`ModelBundle` and the
model's one frozen :class:`~pinhan.infer.config.InferenceConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from pinhan.data.tables import CandidateIndex, PinyinTables
from pinhan.data.vocab import Lexicon, Vocab
from pinhan.infer.runner import Runner
from pinhan.lm.ngram import CharNgram


@lru_cache(maxsize=1)
def default_words() -> frozenset[str]:
    """Multi-character words a prefix candidate may be: pypinyin's phrase dictionary (~47k)."""
    from pypinyin.constants import PHRASES_DICT

    return frozenset(w for w in PHRASES_DICT if len(w) > 1)


@dataclass(frozen=True, eq=False)
class ModelBundle:
    """A loaded model's shared parts. ``lm`` is the character n-gram (None: none loaded)."""

    runner: Runner
    vocab: Vocab
    lexicon: Lexicon
    lm: CharNgram | None = None
    path: Path | None = None
    backend: str = "torch"

    @cached_property
    def tables(self) -> PinyinTables:
        return PinyinTables(self.vocab)

    @cached_property
    def index(self) -> CandidateIndex:
        return CandidateIndex(self.vocab, self.lexicon)

    @cached_property
    def readings(self) -> dict[str, np.ndarray]:
        """hanzi -> toned-syllable ids it may read as, most frequent first (readable hanzi only)."""
        out = {}
        for ch, syllables in self.lexicon.readings().items():
            found = [self.vocab.syllable_to_id[s] for s in syllables if s in self.vocab.syllable_to_id]
            if found:
                out[ch] = np.asarray(found, dtype=np.int64)
        return out

    @cached_property
    def polyphone(self):
        """g2p's polyphone head (:class:`~pinhan.model.polyphone.PolyphoneScorer`) from the model
        directory's ``polyphone.safetensors``, or None without one; read on first use."""
        from pinhan.data.model_dir import ModelDir
        from pinhan.model.polyphone import load_polyphone

        if self.path is None or not ModelDir(self.path).polyphone.is_file():
            return None
        directory = ModelDir(self.path)
        model = directory.config()["model"]
        return load_polyphone(directory.polyphone, len(self.vocab.chars), len(self.vocab.syllables),
                              int(model["d_model"]), int(model["n_encoder_layers"]))

    @cached_property
    def homophones(self):
        """The homophone chooser (:class:`~pinhan.lm.homophones.HomophoneModel`) from the model
        directory's ``homophones.safetensors``, or None without one; read on first use."""
        from pinhan.data.model_dir import ModelDir
        from pinhan.lm.homophones import HomophoneModel

        if self.path is None or not ModelDir(self.path).homophones.is_file():
            return None
        return HomophoneModel.load(ModelDir(self.path).homophones)

    @cached_property
    def phrases(self):
        """Readings pypinyin's phrase dictionary fixes (:class:`~pinhan.lm.phrases.PhraseReadings`)."""
        from pinhan.lm.phrases import PhraseReadings

        return PhraseReadings.pypinyin()

    def annotate(self, text: str) -> list[str | None]:
        """Toned syllables of committed context (:meth:`PhraseReadings.annotate` over
        :attr:`phrases`, read on first use): pypinyin's annotation at a seventh of its time."""
        return self.phrases.annotate(text)

    @cached_property
    def second_phrases(self):
        """CC-CEDICT's phrase readings, g2p's second opinion (read on first use)."""
        from pinhan.lm.phrases import PhraseReadings

        return PhraseReadings.cc_cedict()

    @property
    def words(self) -> frozenset[str]:
        return default_words()

    @cached_property
    def _word_model(self):
        """(WordLexicon, WordNgram) from the model directory, or None: read on first use (a few
        seconds for a full lexicon), never for a model that converts without it."""
        from pinhan.data.model_dir import ModelDir
        from pinhan.lm.ngram import WordNgram
        from pinhan.lm.words import WordLexicon

        directory = ModelDir(self.path) if self.path is not None else None
        if directory is None or not directory.has_words():
            return None
        return WordLexicon.load(directory.words), WordNgram.load(directory.word_ngram)

    def lattice(self, beam: int):
        """The word lattice searched with ``beam`` states a position (None without a word model)."""
        from pinhan.infer.search.lattice import LatticeSettings, WordLattice

        model = self._word_model
        return None if model is None else WordLattice(*model, LatticeSettings(beam=beam))

    def with_ngram(self, lm: CharNgram | None) -> ModelBundle:
        """The same parts with another n-gram (the tables already built are not rebuilt)."""
        other = replace(self, lm=lm)
        for name in ("tables", "index", "readings", "_word_model", "polyphone", "homophones", "phrases", "second_phrases"):
            if name in self.__dict__:
                other.__dict__[name] = self.__dict__[name]
        return other
