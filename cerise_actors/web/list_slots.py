"""How many job lists may be written at once, so that slow readers cannot take every thread.

A list is written by one of the server's threads, page after page. Once 16
MiB wait to be sent to a client that reads slowly, waitress makes that
thread wait too: eight clients that asked for a list of large jobs and then
read nothing held all eight threads, and GET /jobs/{id} went unanswered.
So lists (GET /jobs, WES GET /runs) are written in slots, as many as the
server's ThreadBudget lets /files hold threads (all but a quarter; see
dispatch.py): a list beyond them is answered 503 with Retry-After at once,
since waiting for a slot would itself hold a thread. Without a budget in the
request (an app served by anything but HttpServer), there is no limit.
"""

import threading
from typing import Generator, Iterator, Optional

import falcon

from .dispatch import BUDGET_KEY, RETRY_AFTER, ThreadBudget
from .paging import started


class ListSlots:
    """The slots of the lists of one app, sized by the first request's budget."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._free: Optional[threading.BoundedSemaphore] = None

    def answer(self, req: falcon.Request, chunks: Iterator[bytes]) -> '_Releasing':
        """The iterable to set as `resp.stream`: `chunks`, started now (see
        `paging.started`), holding a slot until the server closes it."""
        free = self._semaphore(req.env.get(BUDGET_KEY))
        if free is not None and not free.acquire(blocking=False):
            raise falcon.HTTPServiceUnavailable(
                title='Service unavailable',
                description='too many job lists are being written at once; retry shortly',
                retry_after=RETRY_AFTER,
            )
        try:
            return _Releasing(started(chunks), free)
        except BaseException:
            if free is not None:
                free.release()
            raise

    def _semaphore(self, budget: Optional[ThreadBudget]) -> Optional[threading.BoundedSemaphore]:
        if budget is None:
            return None
        with self._lock:
            if self._free is None:
                self._free = threading.BoundedSemaphore(budget.slots)
            return self._free


class _Releasing:
    """An answer's chunks that give their slot back once, when the server closes them."""

    def __init__(
        self, chunks: Generator[bytes, None, None], free: Optional[threading.BoundedSemaphore]
    ) -> None:
        self._chunks = chunks
        self._free = free

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        try:
            self._chunks.close()
        finally:
            free, self._free = self._free, None
            if free is not None:
                free.release()

    __del__ = close  # an answer dropped unclosed gives its slot back too
