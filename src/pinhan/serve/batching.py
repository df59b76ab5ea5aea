"""The micro-batcher: one inference thread serves every request, in batches.

::

    batcher = Batcher(model, ServeConfig(batch_window_ms=2))
    batcher.start()
    candidates = await batcher.convert("nihao", context="", k=5, mode="accurate", fuzzy=())

Torch models are not re-entrant, so all inference runs on one worker thread; the event loop only
queues a job and awaits its future, and never blocks. The worker takes the first queued job, then
whatever is queued or arrives within ``batch_window_ms`` (up to ``GATHER * max_batch`` jobs), and
runs jobs that share their options together: conversions with equal ``(k, mode, fuzzy)`` go to
``convert_batch``, g2p requests with equal ``tones`` to ``g2p_batch``, generate requests with
equal options to ``generate_batch``, predict requests with equal ``k`` to ``predict_batch``, each group sorted by input length (so that a call pads
little, and short inputs are answered first) and cut into calls of at most ``max_batch``. Under
load, requests pile up while a batch runs and the next round takes them all, so throughput grows
with load as far as the model gains from batching (see ``ServeConfig.max_batch``).

If a batch fails on one bad input (unreadable pinyin, too many syllables), its jobs are run one by
one so that only that request gets the error. A job whose caller has given up (timeout) is
skipped. A full queue raises :class:`Overloaded` at once (the service answers 503); a job not
answered within ``timeout_s`` raises :class:`Timeout` (504).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from pinhan.errors import PinhanError
from pinhan.serve.schemas import ServeConfig

log = logging.getLogger("pinhan.serve")


class Overloaded(Exception):
    """The queue is full: the service answers 503 with a Retry-After."""


class Timeout(Exception):
    """No answer within the configured timeout: the service answers 504."""


class InferenceFailure(Exception):
    """Inference raised something that is not a :class:`PinhanError` (a bug): the service answers
    500 with a short message and logs the traceback."""


@dataclass
class _Job:
    task: str  # "convert" | "g2p" | "generate" | "predict"
    options: Hashable  # jobs with equal (task, options) share a batch call
    item: Any  # one element of the batch call's input list
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    deadline: float
    abandoned: bool = field(default=False)


_STOP = object()
GATHER = 4  # the worker takes up to GATHER * max_batch queued jobs at once, to sort them by length


def _length(item: Any) -> int:
    """The input length that sets a job's padded size: pinyin + context, text, or prefix."""
    if isinstance(item, tuple):
        return sum(len(part) for part in item)
    return len(item) if isinstance(item, str) else 0


class Batcher:
    """Queue requests for one inference thread and batch them (see the module docstring).

    Args:
        model: a :class:`pinhan.infer.api.Pinhan` (or anything with ``convert_batch``,
            ``g2p_batch`` and ``generate_batch``).
        config: the window, batch size, queue size and timeout.
        observe: called after each batch call with ``(task, size, seconds)`` (metrics).
    """

    def __init__(self, model, config: ServeConfig, observe: Callable[[str, int, float], None] | None = None) -> None:
        self.model, self.config, self.observe = model, config, observe
        self._queue: queue.Queue = queue.Queue(maxsize=config.max_queue)
        self._thread: threading.Thread | None = None
        self.batches = 0  # batch calls run so far
        self.largest_batch = 0

    # --- life cycle ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._work, name="pinhan-inference", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread is not None and self._thread.is_alive():
            try:
                self._queue.put(_STOP, timeout=timeout)
            except queue.Full:
                pass
            self._thread.join(timeout)
        self._thread = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    # --- the event loop's side ----------------------------------------------------------------
    async def convert(self, pinyin: str, *, context: str = "", k: int = 5, mode: str = "accurate",
                      fuzzy: tuple[str, ...] = (), user=None) -> list:
        return await self.submit("convert", (k, mode, tuple(fuzzy), user), (pinyin, context))  # batched per user

    async def g2p(self, text: str, *, tones: str = "number"):
        return await self.submit("g2p", tones, text)

    async def generate(self, prefix: str, **options) -> list:
        return await self.submit("generate", tuple(sorted(options.items())), prefix)

    async def predict(self, context: str, *, k: int = 10) -> list:
        return await self.submit("predict", k, context)

    async def submit(self, task: str, options: Hashable, item: Any) -> Any:
        """Queue one job and wait for its result (or its error)."""
        if not self.alive:
            self.start()
        loop = asyncio.get_running_loop()
        job = _Job(task, options, item, loop, loop.create_future(), time.monotonic() + self.config.timeout_s)
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise Overloaded(f"the server is busy: {self.config.max_queue} requests are waiting (max_queue); "
                             "retry shortly") from None
        try:
            return await asyncio.wait_for(job.future, self.config.timeout_s)
        except asyncio.TimeoutError:
            job.abandoned = True
            raise Timeout(f"no answer within {self.config.timeout_s:g} s (timeout_s): the server is overloaded "
                          "or the input is too long; retry, or send a shorter input") from None
        except asyncio.CancelledError:
            job.abandoned = True  # the client went away
            raise

    # --- the worker's side --------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            jobs = [first]
            stop = self._gather(jobs)
            try:
                self._run(jobs)
            except BaseException as exc:  # never let the worker die with futures left waiting
                log.exception("inference worker: unexpected failure")
                for job in jobs:
                    self._fail(job, InferenceFailure(f"inference failed: {type(exc).__name__}"))
                if not isinstance(exc, Exception):
                    raise
            if stop:
                return

    def _gather(self, jobs: list) -> bool:
        """Add queued jobs to ``jobs`` until the window closes or the batch is full; True if a
        stop request was taken from the queue."""
        window_end = time.monotonic() + self.config.batch_window_ms / 1000
        while len(jobs) < GATHER * self.config.max_batch:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                left = window_end - time.monotonic()
                if left <= 0:
                    break
                try:
                    job = self._queue.get(timeout=left)
                except queue.Empty:
                    break
            if job is _STOP:
                return True
            jobs.append(job)
        return False

    def _run(self, jobs: list[_Job]) -> None:
        groups: dict[tuple, list[_Job]] = {}
        for job in jobs:
            groups.setdefault((job.task, job.options), []).append(job)
        for (task, options), group in groups.items():
            group.sort(key=lambda job: _length(job.item))  # little padding per call; shortest first
            for start in range(0, len(group), self.config.max_batch):
                now = time.monotonic()
                # A job whose caller has been answered 504 (or has left) is not run.
                chunk = [job for job in group[start : start + self.config.max_batch]
                         if not job.abandoned and job.deadline > now]
                if chunk:
                    self._run_batch(task, options, chunk)

    def _run_batch(self, task: str, options: Hashable, group: list[_Job]) -> None:
        try:
            results = self._call(task, options, [job.item for job in group])
        except Exception as exc:
            if not isinstance(exc, PinhanError):
                log.exception("inference worker: %s batch of %d failed", task, len(group))
            if len(group) == 1:
                self._fail(group[0], _client_error(exc))
            else:
                self._one_by_one(task, options, group)  # only the bad input(s) get the error
            return
        for job, result in zip(group, results):
            self._done(job, result)

    def _one_by_one(self, task: str, options: Hashable, group: list[_Job]) -> None:
        for job in group:
            try:
                self._done(job, self._call(task, options, [job.item])[0])
            except Exception as exc:
                if not isinstance(exc, PinhanError):
                    log.exception("inference worker: %s failed on one input", task)
                self._fail(job, _client_error(exc))

    def _call(self, task: str, options: Hashable, items: list) -> list:
        started = time.perf_counter()
        if task == "convert":
            k, mode, fuzzy, user = options
            extra = {} if user is None else {"user": user}  # a user history (pinhan.serve.users)
            results = self.model.convert_batch(items, k=k, mode=mode, fuzzy=fuzzy, **extra)
        elif task == "g2p":
            results = self.model.g2p_batch(items, tones=options)
        elif task == "generate":
            results = self.model.generate_batch(items, **dict(options))
        elif task == "predict":
            results = self.model.predict_batch(items, k=options)
        else:  # pragma: no cover - the event loop's side only submits the three tasks
            raise ValueError(f"unknown task {task!r}")
        self.batches += 1
        self.largest_batch = max(self.largest_batch, len(items))
        if self.observe is not None:
            self.observe(task, len(items), time.perf_counter() - started)
        return results

    @staticmethod
    def _done(job: _Job, result: Any) -> None:
        _resolve(job, lambda f: f.set_result(result))

    @staticmethod
    def _fail(job: _Job, exc: BaseException) -> None:
        _resolve(job, lambda f: f.set_exception(exc))


def _client_error(exc: Exception) -> Exception:
    """What the caller gets: a PinhanError as it is (its message is for the user), anything else
    as an :class:`InferenceFailure` that names only the exception type."""
    return exc if isinstance(exc, PinhanError) else InferenceFailure(f"inference failed: {type(exc).__name__}")


def _resolve(job: _Job, action: Callable[[asyncio.Future], None]) -> None:
    def apply() -> None:
        if not job.future.done():
            action(job.future)

    try:
        job.loop.call_soon_threadsafe(apply)
    except RuntimeError:  # the loop is closed (shutdown): nobody is waiting
        pass
