"""A small pool of StagerActors that hands each job to the least busy one.

The StoreActor calls the pool's methods as its subscriber callbacks; they
only count and `tell`, never block.
"""

import threading
from typing import List

from ..defaults import ASK_TIMEOUT


class StagerPool:
    def __init__(self, size: int, make_stager):
        """`make_stager(on_done)` starts one StagerActor and returns its ref."""
        self._lock = threading.Lock()
        self._load: List[int] = [0] * size
        self._refs = [make_stager(self._done_callback(i)) for i in range(size)]
        self._proxies = [ref.proxy() for ref in self._refs]

    def _done_callback(self, index: int):
        def done():
            with self._lock:
                self._load[index] -= 1

        return done

    def _pick(self):
        with self._lock:
            index = min(range(len(self._load)), key=self._load.__getitem__)
            self._load[index] += 1
        return self._proxies[index]

    def stage_in(self, job_id: str) -> None:
        self._pick().stage_in(job_id)

    def stage_out(self, job_id: str) -> None:
        self._pick().stage_out(job_id)

    def delete(self, job_id: str) -> None:
        self._pick().delete(job_id)

    def stop(self, timeout: float = ASK_TIMEOUT) -> None:
        for ref in self._refs:
            if ref.is_alive():
                ref.stop(block=False)
        for ref in self._refs:
            try:
                ref.stop(block=True, timeout=timeout)
            except Exception:  # already stopped
                pass
