import pytest
import torch

from pinhan.data.vocab import Lexicon, Vocab
from pinhan.model import PinhanModel, tiny


@pytest.fixture(scope="package")
def untrained(prepared_tiny):
    """(vocab, lexicon, model): a tiny random model over the prepared tiny corpus's vocabulary;
    decoding invariants hold for any weights."""
    vocab = Vocab.load(prepared_tiny / "vocab.json")
    lexicon = Lexicon.load(prepared_tiny / "lexicon.json")
    torch.manual_seed(0)
    model = PinhanModel(tiny(n_chars=len(vocab.chars), n_syllables=len(vocab.syllables), n_initials=len(vocab.initials),
                             n_finals=len(vocab.finals), d_model=32, d_ff=64)).eval()
    return vocab, lexicon, model
