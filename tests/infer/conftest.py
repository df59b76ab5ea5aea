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


@pytest.fixture(scope="package")
def model_dir(prepared_tiny, untrained, tmp_path_factory):
    """The untrained tiny model saved as a model directory (weights, config, vocab, lexicon)."""
    import shutil

    from pinhan.model.io import save_model

    _, _, model = untrained
    out = tmp_path_factory.mktemp("model") / "tiny"
    save_model(model, out)
    for name in ("vocab.json", "lexicon.json"):
        shutil.copy(prepared_tiny / name, out / name)
    return out


@pytest.fixture(scope="package")
def api(model_dir):
    """``pinhan.load`` of :func:`model_dir`."""
    import pinhan

    return pinhan.load(model_dir)
