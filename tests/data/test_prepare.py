import json
import os

import pytest

from pinhan.data import prepare as prepare_module
from pinhan.data import sources
from pinhan.data.config import PrepareConfig
from pinhan.data.prepare import SKIP_REASONS, hash_split, prepare
from pinhan.data.shards import ShardedSplit
from pinhan.data.vocab import Vocab
from pinhan.errors import ConfigError, DataError

FAST = dict(extra_charset="none", workers=1, min_count=1)


def decode_split(directory, split):
    vocab = Vocab.load(directory / "vocab.json")
    data = ShardedSplit(directory / "shards", split)
    return ["".join(vocab.chars[c] for c in data.doc(i)[0]) for i in range(len(data))]


def test_prepare_text_corpus(tmp_path, tiny_corpus):
    out = tmp_path / "out"
    report = prepare(PrepareConfig(sources=[str(tiny_corpus)], dev_ratio=0.2, test_ratio=0.2, **FAST), out, progress=False)
    assert set(report["skipped"]) == set(SKIP_REASONS)
    assert report["skipped"]["no_hanzi"] == 1 and report["skipped"]["empty"] == 1 and report["skipped"]["duplicate"] == 1
    assert report["lines_read"] == 47
    assert report["lines_kept"] == 47 - 3
    assert sum(s["lines"] for s in report["splits"].values()) == report["lines_kept"]
    for name in ("vocab.json", "lexicon.json", "shards/manifest.json", "dev.jsonl", "test.jsonl", "prepare_report.json"):
        assert (out / name).is_file(), name
    assert json.loads((out / "prepare_report.json").read_text(encoding="utf-8"))["lines_kept"] == 44
    # every kept line lands in the split its hash names, cleaned (NFKC) and intact
    from pinhan.data.clean import Cleaner

    clean = Cleaner()
    expected = {"train": set(), "dev": set(), "test": set()}
    for line in tiny_corpus.read_text(encoding="utf-8").splitlines():
        text = clean(line)
        if any("\u4e00" <= ch <= "\u9fff" for ch in text):
            expected[hash_split(text, 0.2, 0.2)].add(text)
    train = decode_split(out, "train")
    assert set(train) == expected["train"] and len(train) == len(expected["train"])
    for split in ("dev", "test"):
        assert report["splits"][split]["lines"] == len(expected[split])
    assert "银行行长说,今年的利率不会变。" in set().union(*expected.values())
    # annotation stored aligned: the syllable ids decode back to pypinyin's readings
    vocab = Vocab.load(out / "vocab.json")
    data = ShardedSplit(out / "shards", "train")
    for i in range(len(data)):
        chars, syllables = data.doc(i)
        text = "".join(vocab.chars[c] for c in chars)
        if text.startswith("银行行长"):
            assert [vocab.syllables[s] for s in syllables[:4]] == ["yin2", "hang2", "hang2", "zhang3"]


def test_dev_clauses_leave_out_train_overlap(tmp_path):
    # Two copies of a clause in different lines: once in train, once in dev -> not a dev clause.
    corpus = tmp_path / "c.txt"
    lines = [f"甲乙丙丁戊己庚辛{i}号" for i in range(200)] + ["我们一起学习中文吧", "今天的天气非常好"] * 50
    corpus.write_text("\n".join(lines), encoding="utf-8")
    out = tmp_path / "out"
    report = prepare(PrepareConfig(sources=[str(corpus)], dev_ratio=0.3, test_ratio=0.3, **FAST), out, progress=False)
    dev = [json.loads(l) for l in (out / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    train_text = "\n".join(decode_split(out, "train"))
    assert report["clauses"]["dev"]["in_train"] >= 1
    for item in dev:
        assert item["hanzi"] not in train_text
        assert len(item["pinyin"]) == len(item["hanzi"])
        assert set(item) == {"id", "hanzi", "context", "pinyin"}
    assert len({item["hanzi"] for item in dev}) == len(dev)


def test_bundled_rule_keeps_dev_and_test_out_of_train(tmp_path, monkeypatch):
    """The bundled corpus split: only lines with i % 10 < 8 reach the train shards."""
    fakes = []
    for f in sources.bundled_files():
        with open(f.path, "rb") as fh:
            head = b"".join(fh.readline() for _ in range(120))
        path = tmp_path / f"{f.name}.txt"
        path.write_bytes(head)
        fakes.append(sources.SourceFile(path, f.name, f.kind, fixed_split=True))
    monkeypatch.setattr(sources, "bundled_files", lambda: fakes)
    out = tmp_path / "out"
    report = prepare(PrepareConfig(sources=["bundled"], **FAST), out, progress=False)
    from pinhan.data.clean import Cleaner

    clean = Cleaner()
    by_split = {"train": set(), "dev": set(), "test": set()}
    for fake in fakes:
        for line in sources.read(fake):
            text = clean(line.text or "")
            if text:
                by_split[line.split].add(text)
    train = set(decode_split(out, "train"))
    assert train and train <= by_split["train"]
    held_out_only = (by_split["dev"] | by_split["test"]) - by_split["train"]
    assert held_out_only and not (train & held_out_only)
    # held-out lines are kept (as their own splits), one per distinct cleaned text
    assert report["splits"]["test"]["lines"] == len(by_split["test"])
    assert report["splits"]["dev"]["lines"] == len(by_split["dev"])


def test_parallel_workers_give_identical_output(tmp_path, tiny_corpus):
    outputs = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        prepare(PrepareConfig(sources=[str(tiny_corpus)], extra_charset="none", workers=workers, chunk_lines=5), out, progress=False)
        outputs.append(out)
    for name in ("vocab.json", "lexicon.json", "dev.jsonl", "test.jsonl", "shards/manifest.json", "shards/train-00000.tok", "shards/train-00000.idx"):
        assert (outputs[0] / name).read_bytes() == (outputs[1] / name).read_bytes(), name


def test_existing_output_refused_unless_overwrite(tmp_path, tiny_corpus):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    config = PrepareConfig(sources=[str(tiny_corpus)], **FAST)
    with pytest.raises(DataError, match="already exists"):
        prepare(config, out, progress=False)
    assert (out / "keep.txt").read_text() == "mine"
    prepare(config, out, overwrite=True, progress=False)
    assert (out / "vocab.json").is_file() and not (out / "keep.txt").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_interrupted_run_leaves_nothing(tmp_path, tiny_corpus, monkeypatch):
    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(prepare_module, "_encode_splits", boom)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        prepare(PrepareConfig(sources=[str(tiny_corpus)], **FAST), out, progress=False)
    assert not out.exists()
    assert os.listdir(tmp_path) == ["corpus.txt"]


def test_missing_source_and_empty_corpus(tmp_path):
    with pytest.raises(DataError, match="source not found"):
        prepare(PrepareConfig(sources=[str(tmp_path / "nope.txt")], **FAST), tmp_path / "out", progress=False)
    (tmp_path / "latin.txt").write_text("hello\nworld\n", encoding="utf-8")
    with pytest.raises(DataError, match="no usable train lines"):
        prepare(PrepareConfig(sources=[str(tmp_path / "latin.txt")], **FAST), tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_too_long_lines_are_counted(tmp_path):
    (tmp_path / "c.txt").write_text("短句子一\n" + "长" * 50 + "\n短句子二\n", encoding="utf-8")
    report = prepare(PrepareConfig(sources=[str(tmp_path / "c.txt")], max_line_chars=20, dev_ratio=0.0, test_ratio=0.0, **FAST),
                     tmp_path / "out", progress=False)
    assert report["skipped"]["too_long"] == 1 and report["lines_kept"] == 2


@pytest.mark.parametrize("kwargs, message", [
    (dict(dev_ratio=0.6, test_ratio=0.5), "dev_ratio and test_ratio"),
    (dict(sources=[]), "at least one source"),
    (dict(extra_charset="big5"), "extra_charset"),
    (dict(clause_min=10, clause_max=5), "clause_min"),
])
def test_config_validation(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        PrepareConfig(**kwargs)


def test_gold_readings_from_a_polyphone_set_replace_pypinyin(tmp_path):
    """CPP-format items (shared/bench/cpp-dev.jsonl) give their labelled character its gold reading."""
    import json

    from pinhan.data.config import PrepareConfig
    from pinhan.data.prepare import prepare
    from pinhan.data.shards import ShardedSplit
    from pinhan.data.vocab import Vocab

    items = [{"sentence": f"我们去银行办事{i}次", "index": 3, "char": "银", "pinyin": "yin2"} for i in range(30)]
    items += [{"sentence": "他的行为很好", "index": 2, "char": "行", "pinyin": "hang2"},  # gold beats pypinyin's xing2
              {"sentence": "他  说\u200b了很长", "index": 7, "char": "长", "pinyin": "zhang3"},  # cleaning shifts the index
              {"sentence": "长城", "index": 0, "char": "城", "pinyin": "cheng2"},  # char does not match: rejected
              {"sentence": "长城", "index": 9, "char": "长", "pinyin": "chang2"},  # index out of range: rejected
              {"sentence": "长城很长", "index": 0, "char": "长", "pinyin": "xyz9"}]  # not a syllable: rejected
    src = tmp_path / "cpp.jsonl"
    src.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    report = prepare(PrepareConfig(sources=[str(src)], extra_charset="none", workers=1, min_count=1, dev_ratio=0.0,
                                   test_ratio=0.0), tmp_path / "out", progress=False)
    assert report["skipped"]["bad_label"] == 3 and report["gold_readings"] == 32
    vocab = Vocab.load(tmp_path / "out" / "vocab.json")
    split = ShardedSplit(tmp_path / "out" / "shards", "train")
    found = 0
    for doc in range(len(split)):
        chars, syllables = split.doc(doc)
        text = "".join(vocab.chars[c] for c in chars)
        if text == "他的行为很好":
            assert vocab.syllables[syllables[2]] == "hang2"
            found += 1
        if text == "他 说了很长":  # two spaces folded, the zero-width space dropped
            assert vocab.syllables[syllables[5]] == "zhang3"
            found += 1
    assert found == 2


def test_hostile_jsonl_lines_are_counted_by_reason(tmp_path):
    """Nesting past the recursion limit, a 5,000-digit number and a line past max_line_bytes: each
    counted in the report (the number does not cost its line), never a traceback."""
    good = [json.dumps({"text": f"今天天气很好第{i}次"}, ensure_ascii=False) for i in range(20)]
    hostile = ["[" * 100_000 + "]" * 100_000, '{"text": "我们去公园散步", "n": ' + "9" * 5000 + "}",
               json.dumps({"text": "长" * 90_000}, ensure_ascii=False), "{not json"]
    src = tmp_path / "c.jsonl"
    src.write_text("\n".join(good + hostile) + "\n", encoding="utf-8")
    report = prepare(PrepareConfig(sources=[str(src)], max_line_bytes=250_000, dev_ratio=0.0, test_ratio=0.0, **FAST),
                     tmp_path / "out", progress=False)
    assert set(report["skipped"]) == set(SKIP_REASONS)
    assert report["lines_read"] == 24 and report["lines_kept"] == 21
    assert {k: v for k, v in report["skipped"].items() if v} == {"json_too_deep": 1, "too_long": 1, "invalid_json": 1}
    assert "json_too_deep 1" in prepare_module.format_report(report)


def test_corrupt_gzip_source_fails_cleanly(tmp_path):
    import gzip
    import random
    import zlib

    rng = random.Random(1)
    lines = ["".join(chr(rng.randrange(0x4E00, 0x5A00)) for _ in range(30)) for _ in range(2000)]
    data = gzip.compress("\n".join(lines).encode("utf-8"), mtime=0)
    for at in range(len(data) // 2, len(data)):  # a changed byte that zlib rejects, mid-stream
        broken = data[:at] + bytes([data[at] ^ 0x5A]) + data[at + 1:]
        try:
            zlib.decompressobj(wbits=-15).decompress(broken[10:])
        except zlib.error:
            break
    (tmp_path / "c.txt.gz").write_bytes(broken)
    with pytest.raises(DataError, match=r"corrupt or truncated gzip file .*c\.txt\.gz \(after line [\d,]+"):
        prepare(PrepareConfig(sources=[str(tmp_path / "c.txt.gz")], **FAST), tmp_path / "out", progress=False)
    assert os.listdir(tmp_path) == ["c.txt.gz"]  # no output, no temporary directory


def test_chunks_are_bounded_by_lines_and_by_characters():
    lines = [sources.RawLine("s", i, "好" * n) for i, n in enumerate([1, 1, 1, 50, 1, 60, 70, 1, 1])]
    chunks = list(prepare_module._chunks(lines, 3, max_chars=50))
    assert [[line.index for line in chunk] for chunk in chunks] == [[0, 1, 2], [3], [4, 5], [6], [7, 8]]


def dead_pid() -> int:
    """The PID of a process that has exited (and been reaped)."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temp_dirs_of_killed_runs_are_swept(tmp_path, tiny_corpus):
    """A run killed with -9 leaves ``.NAME.tmp-PID`` beside the output: the next run removes those
    whose process is gone and keeps those of a live one (a run in progress: here the process that
    started the tests; this one's own PID names the run's own temporary directory)."""
    out = tmp_path / "out"
    dead, live = dead_pid(), os.getppid()
    for name in (f".out.tmp-{dead}", f".out.tmp-{live}", f".other.tmp-{dead}", ".out.tmp-x"):
        (tmp_path / name / "shards").mkdir(parents=True)
        (tmp_path / name / "shards" / "train-00000.tok").write_bytes(b"\0" * 64)
    report = prepare(PrepareConfig(sources=[str(tiny_corpus)], **FAST), out, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["corpus.txt", "out", f".out.tmp-{live}", f".other.tmp-{dead}", ".out.tmp-x"])
    assert report["swept"] == {"removed": 1, "restored": 0}
    assert "removed 1 temporary directory" in prepare_module.format_report(report)


def test_sweep_restores_an_output_a_killed_run_had_moved_aside(tmp_path):
    """Killed between moving the old output aside and moving the new one in: the old one comes back."""
    from pinhan.data.staging import sweep_stale

    out = tmp_path / "out"
    dead = dead_pid()
    (tmp_path / f".out.old-{dead}").mkdir()
    (tmp_path / f".out.old-{dead}" / "vocab.json").write_text("{}")
    (tmp_path / f".out.tmp-{dead}").mkdir()
    assert sweep_stale(out) == {"removed": 1, "restored": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"] and (out / "vocab.json").read_text() == "{}"
    # with the output in place, a leftover old copy is only removed
    (tmp_path / f".out.old-{dead}").mkdir()
    assert sweep_stale(out) == {"removed": 1, "restored": 0} and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_sweep_treats_a_reused_pid_as_dead(tmp_path):
    """A live PID whose process started after the directory was last changed did not make it."""
    from pinhan.data.staging import sweep_stale

    if not os.path.exists(f"/proc/{os.getpid()}/stat"):
        pytest.skip("process start times come from /proc")
    stale = tmp_path / f".out.tmp-{os.getpid()}"
    stale.mkdir()
    os.utime(stale, (1_000_000_000, 1_000_000_000))  # 2001: before this process started
    assert sweep_stale(tmp_path / "out") == {"removed": 1, "restored": 0} and not stale.exists()
