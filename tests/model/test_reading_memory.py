"""The reading memory: what labelled examples agree on beside one neighbour."""
import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save_file

from pinhan import ids
from pinhan.model.io import CheckpointError
from pinhan.model.polyphone import PolyphoneConfig, PolyphoneHead, load_polyphone
from pinhan.model.reading_memory import LEFT, RIGHT, ReadingMemory

# (char, reading, left neighbour, right neighbour): 10 = the polyphone, 11 / 12 / 13 neighbours,
# readings 7 and 8; None: no key on that side (no neighbour, or none the caller counts)
EXAMPLES = [(10, 7, 11, 12), (10, 7, 11, 13), (10, 8, 13, None), (10, 8, 12, 11), (10, 7, None, 12)]


def test_only_keys_held_often_enough_and_never_contradicted_are_kept():
    memory = ReadingMemory.build(EXAMPLES, min_count=2)
    table = {tuple(k): (int(s), int(n)) for k, s, n in zip(memory.keys, memory.syllables, memory.counts)}
    # 11 on the left: twice, both 7. 12 on the right: 7 twice. 13 on the left once (8): too few.
    # 11 on the right once; 13 on the right once (7); 12 on the left once (8)
    assert table == {(10, LEFT, 11): (7, 2), (10, RIGHT, 12): (7, 2)}
    assert len(ReadingMemory.build(EXAMPLES, min_count=1)) == 6
    contradicted = ReadingMemory.build(EXAMPLES + [(10, 8, 11, None)], min_count=2)
    assert (10, LEFT, 11) not in {tuple(k) for k in contradicted.keys}  # 7, 7 and 8: no longer unanimous


def test_neighbours_vote_and_disagreeing_sides_do_not():
    memory = ReadingMemory(np.array([[10, LEFT, 11], [10, RIGHT, 12], [10, RIGHT, 13]]), np.array([7, 7, 8]))
    assert memory.vote([11, 10, 12], 1) == 7  # both sides: 7
    assert memory.vote([11, 10, 5], 1) == 7  # one side knows, the other is silent
    assert memory.vote([11, 10, 13], 1) is None  # 7 on the left, 8 on the right
    assert memory.vote([5, 10, 5], 1) is None and memory.vote([10], 0) is None
    assert memory.vote([ids.UNK, 10, 12], 1) == 7
    assert len(ReadingMemory.build([(10, 7, ids.UNK, None), (ids.UNK, 7, 11, 12)] * 3)) == 0  # unknown characters make no key
    only_right = ReadingMemory.build([(10, 7, None, 12)] * 2)
    assert len(only_right) == 1 and only_right.vote([12, 10, 12], 1) == 7 and only_right.vote([12, 10], 1) is None
    with pytest.raises(ValueError, match="2 keys, 1 readings"):
        ReadingMemory(np.zeros((2, 3)), np.zeros(1))


def _head():
    config = PolyphoneConfig(d_model=8, n_chars=20, n_syllables=12, n_pairs=2, dim=4, pair_dim=2)
    return PolyphoneHead(config, np.array([[10, 7], [10, 8]]))


def test_the_head_file_carries_the_memory_and_old_files_have_none(tmp_path):
    memory = ReadingMemory.build(EXAMPLES, min_count=2)
    _head().save(tmp_path / "p.safetensors", memory=memory)
    loaded = load_polyphone(tmp_path / "p.safetensors", n_chars=20, n_syllables=12, d_model=8).memory
    assert len(loaded) == 2 and loaded.vote([11, 10, 12], 1) == 7 and list(loaded.counts) == [2, 2]
    _head().save(tmp_path / "old.safetensors")
    assert load_polyphone(tmp_path / "old.safetensors", n_chars=20, n_syllables=12, d_model=8).memory is None


@pytest.mark.parametrize("change, message", [
    (lambda t: t.pop("memory_counts"), "reading memory incomplete"),
    (lambda t: t.update(memory_keys=np.zeros((2, 2), np.int32)), "reading memory tensors of shapes"),
    (lambda t: t.update(memory_syllables=np.array([7, 99], np.int32)), "outside the vocabulary"),
    (lambda t: t.update(memory_keys=np.array([[10, 2, 11], [10, 1, 12]], np.int32)), "outside the vocabulary"),
])
def test_a_broken_memory_is_refused_by_name(tmp_path, change, message):
    path = tmp_path / "p.safetensors"
    _head().save(path, memory=ReadingMemory.build(EXAMPLES, min_count=2))
    with safe_open(str(path), framework="numpy") as fh:
        meta, tensors = fh.metadata(), {k: fh.get_tensor(k) for k in fh.keys()}
    change(tensors)
    save_file(tensors, str(path), metadata=meta)
    with pytest.raises(CheckpointError, match=message):
        load_polyphone(path, n_chars=20, n_syllables=12, d_model=8)
