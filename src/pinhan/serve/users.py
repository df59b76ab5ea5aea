"""Per-user learning state of the service: user histories keyed by a client-supplied opaque id.

The id (``user`` in a request: 8-64 of ``A-Z a-z 0-9 _ -``) is only a key. Histories live in an
LRU of at most ``max_users`` in memory and, when the server has a user directory
(``pinhan serve --user-dir``), in one file each under ``<user dir>/<sha256(id)[:32]>/user.json``
(:class:`~pinhan.infer.user.UserStore`: atomic saves, versioned, a corrupt file moved aside):
no request can name a file, and every worker sharing the directory sees every other's learning
(a history is reloaded when its file changed; learning holds the user's lock file while it
reads, learns and saves). Without a directory a history lives in this process only and an
evicted one is lost.

A history in use by a conversion is never changed: learning makes a new one and swaps it in.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import re
import shutil
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from pinhan.infer.search.user_lattice import carry_views, learn_pieces
from pinhan.infer.user import UserDataError, UserModel, UserSettings, UserStore

log = logging.getLogger("pinhan.serve")

USER_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


class UserRegistry:
    """Histories by user id (see the module docstring)."""

    def __init__(self, max_users: int, directory: str | Path | None = None, settings: UserSettings | None = None) -> None:
        self.max_users, self.settings = max_users, settings or UserSettings()
        self.directory = Path(directory).expanduser() if directory is not None else None
        self._held: OrderedDict[str, tuple[UserModel, tuple | None]] = OrderedDict()  # id -> (history, file stamp)
        self._lock = threading.Lock()

    def get(self, user_id: str) -> UserModel | None:
        """The user's history (None: nothing learned yet)."""
        store = self._store(user_id)
        with self._lock:
            held = self._held.get(user_id)
            if held is not None:
                self._held.move_to_end(user_id)
        if held is not None and (store is None or store.stamp() == held[1]):
            return held[0]
        if store is None or store.stamp() is None:
            return None
        return self._load(user_id, store)

    def learn(self, user_id: str, lattice, pieces: Sequence[tuple[str, Sequence[str]]]) -> UserModel:
        """Learn one conversion's committed pieces (text, pinyin per character) and save."""
        store = self._store(user_id)
        if store is None:
            with self._lock:
                held = self._held.get(user_id)
            user = _copy(held[0]) if held else UserModel(self.settings)
            learn_pieces(user, lattice, pieces)
            self._keep(user_id, user, None)
            return user
        store.directory.mkdir(parents=True, exist_ok=True)
        with open(store.directory / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one learner at a time per user, across workers
            user = _copy(self.get(user_id) or UserModel(self.settings))
            learn_pieces(user, lattice, pieces)
            store.save(user)
            self._keep(user_id, user, store.stamp())
        return user

    def forget(self, user_id: str) -> bool:
        """Drop the user's history (memory and file); whether there was one."""
        with self._lock:
            known = self._held.pop(user_id, None) is not None
        store = self._store(user_id)
        if store is not None and store.directory.exists():
            shutil.rmtree(store.directory, ignore_errors=True)
            known = True
        return known

    def __len__(self) -> int:
        return len(self._held)

    def _store(self, user_id: str) -> UserStore | None:
        if not USER_ID.fullmatch(user_id):  # the schemas check it first; this is the last guard
            raise ValueError("a user id is 8-64 characters of A-Z a-z 0-9 _ -")
        if self.directory is None:
            return None
        return UserStore(self.directory / hashlib.sha256(user_id.encode()).hexdigest()[:32], self.settings)

    def _load(self, user_id: str, store: UserStore) -> UserModel:
        stamp = store.stamp()
        try:
            user = store.load()
        except UserDataError as err:  # moved aside: learning starts again, and the log says so
            log.warning("user history: %s", err)
            user, stamp = UserModel(self.settings), None
        self._keep(user_id, user, stamp)
        return user

    def _keep(self, user_id: str, user: UserModel, stamp) -> None:
        with self._lock:
            self._held[user_id] = (user, stamp)
            self._held.move_to_end(user_id)
            while len(self._held) > self.max_users:
                self._held.popitem(last=False)


def _copy(user: UserModel) -> UserModel:
    """A copy to learn on, with the original's lattice views to bring up to date."""
    other = user.copy()
    carry_views(user, other)
    return other
