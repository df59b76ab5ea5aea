"""Frequency lists: tiny stand-ins of wordfreq's cBpack and jionlp's word_distribution.zip."""

import gzip
import hashlib
import json
import zipfile

import msgpack
import pytest

from pinhan.data.heldout import HeldoutRule
from pinhan.lm.frequencies import JIONLP_FILE, SCALE, WORDFREQ_FILE, read_frequencies
from pinhan.errors import DataError


def write_wordfreq(root, buckets, header=None):
    path = root / WORDFREQ_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(msgpack.packb([header or {"format": "cB", "version": 1}, *buckets])))


def write_jionlp(root, pairs):
    path = root / JIONLP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("word_distribution.json", "\n".join(json.dumps(p, ensure_ascii=False) for p in pairs) + "\n")


def test_wordfreq_buckets_become_scaled_counts(tmp_path):
    # bucket 0: frequency 1, bucket 100: 0.1 (10 ** (-100 / 100)); Latin and punctuation are left out
    write_wordfreq(tmp_path, [["的", "the", "，"]] + [[] for _ in range(99)] + [["中国"]])
    result = read_frequencies("wordfreq", root=tmp_path)
    assert result.raw_words == 4 and result.non_hanzi == 2
    assert result.counts == {"的": round(SCALE / 1.1), "中国": round(SCALE * 0.1 / 1.1)}


def test_jionlp_counts_on_the_same_scale(tmp_path):
    write_jionlp(tmp_path, [[" ", 1000], ["的", 300], ["中国", 100], ["中华人民共和国", 1e-9]])
    result = read_frequencies("jionlp", root=tmp_path)
    assert result.counts["的"] == pytest.approx(3 * result.counts["中国"], abs=3) and sum(result.counts.values()) == pytest.approx(SCALE, abs=2)
    assert result.counts["中华人民共和国"] == 1  # listed words never fall to 0


def test_heldout_rule_drops_words_and_counts_them(tmp_path):
    write_jionlp(tmp_path, [["中华人民共和国", 5], ["中国", 100]])
    held = tmp_path / "held.txt"
    held.write_text(hashlib.sha256("中华人民共和国".encode()).hexdigest()[:16] + "\n")
    result = read_frequencies("jionlp", root=tmp_path, heldout=HeldoutRule(held))
    assert result.heldout_dropped == 1 and set(result.counts) == {"中国"}


def test_bad_lists_are_clear_errors(tmp_path):
    write_wordfreq(tmp_path, [["的"]], header={"format": "other"})
    with pytest.raises(DataError, match="not a wordfreq cBpack"):
        read_frequencies("wordfreq", root=tmp_path)
    (tmp_path / JIONLP_FILE).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / JIONLP_FILE).write_bytes(b"not a zip")
    with pytest.raises(DataError, match="cannot read jionlp"):
        read_frequencies("jionlp", root=tmp_path)
    with pytest.raises(DataError, match="unknown frequency list"):
        read_frequencies("jieba", root=tmp_path)
    with pytest.raises(DataError, match="pinhan fetch wordfreq"):
        read_frequencies("wordfreq", cache=tmp_path / "empty")
