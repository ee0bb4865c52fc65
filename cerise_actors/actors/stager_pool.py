"""A pool of StagerActors that never queues a job behind a stuck one, nor one user behind another.

The StoreActor calls the pool's methods as its subscriber callbacks, with
the job's owner; they only queue and `tell`, never block. Work waits in a
`FairQueue` (one lane per user, taken in turns) and goes to an idle
stager, so a burst of one user's submissions does not hold another user's
first job back behind all of it, and a stager busy with a slow source holds
up nobody while another is free. When every stager has been busy on its current job for
`slow_after` seconds (slow sources, large uploads), the pool starts one
more, up to `max_size`: a few stuck transfers cannot stop other jobs'
staging or deletion, while a burst of quick jobs still shares the usual
few stagers.
"""

import dataclasses
import threading
import time
from typing import Callable, List, Optional

import pykka

from ..defaults import ASK_TIMEOUT, STAGER_MAX, STAGER_SLOW_AFTER
from .fair_queue import FairQueue
from .proxies import StagerProxy, stager_proxy
from .stager import StagerActor

#: `make_stager(on_done)` starts one StagerActor, which calls `on_done()` after each job
MakeStager = Callable[[Callable[[], None]], 'pykka.ActorRef[StagerActor]']


@dataclasses.dataclass
class _Slot:
    ref: 'pykka.ActorRef[StagerActor]'
    proxy: StagerProxy
    busy_since: Optional[float] = None


class StagerPool:
    def __init__(
        self,
        size: int,
        make_stager: MakeStager,
        max_size: int = STAGER_MAX,
        slow_after: float = STAGER_SLOW_AFTER,
    ) -> None:
        """`make_stager(on_done)` starts one StagerActor and returns its ref."""
        self._make_stager = make_stager
        self._max_size = max(size, max_size)
        self._slow_after = slow_after
        self._lock = threading.Lock()
        self._slots: List[_Slot] = []
        #: work items `<method> <job id>`, one lane per owner
        self._queue = FairQueue()
        self._timer: Optional[threading.Timer] = None
        self._stopped = False
        with self._lock:
            for _ in range(size):
                self._add_slot()

    @property
    def size(self) -> int:
        """How many stagers the pool has started."""
        return len(self._slots)

    def stage_in(self, job_id: str, owner: str = '') -> None:
        self._submit('stage_in', job_id, owner)

    def stage_out(self, job_id: str, owner: str = '') -> None:
        self._submit('stage_out', job_id, owner)

    def delete(self, job_id: str, owner: str = '') -> None:
        self._submit('delete', job_id, owner)

    def _submit(self, method: str, job_id: str, owner: str) -> None:
        with self._lock:
            if self._stopped:
                return  # the job stays in its rest state; the next start resumes it
            self._queue.add(f'{method} {job_id}', owner)
            self._dispatch()

    # --- with the lock held --------------------------------------------
    def _add_slot(self) -> _Slot:
        index = len(self._slots)
        ref = self._make_stager(self._done_callback(index))
        slot = _Slot(ref, stager_proxy(ref))
        self._slots.append(slot)
        return slot

    def _dispatch(self) -> None:
        now = time.monotonic()
        while self._queue:
            slot = next((s for s in self._slots if s.busy_since is None), None)
            if slot is None and len(self._slots) < self._max_size and self._all_slow(now):
                slot = self._add_slot()
            if slot is None:
                self._look_again_later(now)
                return
            method, job_id = self._queue.pop().split(' ', 1)
            slot.busy_since = now
            getattr(slot.proxy, method)(job_id)

    def _all_slow(self, now: float) -> bool:
        # asked when no stager is idle: every busy_since is set
        return all(
            s.busy_since is not None and now - s.busy_since >= self._slow_after for s in self._slots
        )

    def _look_again_later(self, now: float) -> None:
        """Jobs wait: when the youngest busy job turns slow, maybe grow."""
        if self._timer is not None or len(self._slots) >= self._max_size:
            return
        youngest = max(s.busy_since for s in self._slots if s.busy_since is not None)
        delay = max(0.05, youngest + self._slow_after - now)
        self._timer = threading.Timer(delay, self._timer_fired)
        self._timer.daemon = True
        self._timer.start()

    # --- callbacks -------------------------------------------------------
    def _timer_fired(self) -> None:
        with self._lock:
            self._timer = None
            if not self._stopped:
                self._dispatch()

    def _done_callback(self, index: int) -> Callable[[], None]:
        def done() -> None:
            with self._lock:
                self._slots[index].busy_since = None
                if not self._stopped:
                    self._dispatch()

        return done

    def stop(self, timeout: float = ASK_TIMEOUT) -> None:
        """Stop every stager after its current job; queued jobs stay in their
        rest states in the store, and the next start hands them out again."""
        with self._lock:
            self._stopped = True
            self._queue = FairQueue()
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            refs = [slot.ref for slot in self._slots]
        for ref in refs:
            if ref.is_alive():
                ref.stop(block=False)
        for ref in refs:
            try:
                ref.stop(block=True, timeout=timeout)
            except Exception:  # already stopped
                pass
