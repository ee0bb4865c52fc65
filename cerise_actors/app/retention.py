"""Deleting finished jobs after `jobs.retention`, with the poller as the only timer.

Finished jobs and their files used to stay until someone deleted them;
operations.md offered a shell loop. With `jobs.retention` set, this sweep
asks the store at most once a minute (or every half retention, if
shorter) to delete the finished jobs last
changed longer ago than that (`StoreActor.delete_expired`), by the same
path as DELETE /jobs/{id}: the job is marked, and the stagers remove its
outputs and its folder on the resource. The service log gets one line per
job. The sweep rides on the poller's delayed calls, so no thread of its own
wakes the service; each call schedules the next.
"""

import logging
import time
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from ..actors.proxies import StoreProxy

logger = logging.getLogger(__name__)

#: seconds between two looks for expired jobs
SWEEP_EVERY = 60.0


class RetentionSweep:
    """`store` (a StoreActor proxy) deletes jobs finished `retention` s ago;
    `call_later(fn)` runs fn at the poller's next round."""

    def __init__(
        self,
        store: 'StoreProxy',
        retention: float,
        call_later: Callable[[Callable[[], None]], object],
        every: float = SWEEP_EVERY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._retention = retention
        self._call_later = call_later
        self._every = min(every, retention / 2)  # a short retention is looked at as often
        self._clock = clock
        self._next = 0.0
        self._why = f'it finished more than {_span(retention)} ago (jobs.retention)'

    def start(self) -> None:
        self._call_later(self)

    def __call__(self) -> None:
        try:
            now = self._clock()
            if now >= self._next:
                self._next = now + self._every
                self._store.delete_expired(now - self._retention, self._why)  # a tell
        finally:
            self._call_later(self)


def _span(seconds: float) -> str:
    for unit, size in (('weeks', 604800), ('days', 86400), ('hours', 3600), ('minutes', 60)):
        if seconds >= size and seconds % size == 0:
            return f'{int(seconds // size)} {unit}'
    return f'{seconds:g} seconds'
