"""The order in which the RunnerActor starts staged jobs that wait for a slot.

One FIFO queue let one user's burst of a thousand jobs hold every other
user's first job back behind all of them. Here each owner has a FIFO lane
of their own, and the next job comes from the owner who was served least
recently (never served counts as longest ago): with several owners waiting
they take turns, one job each, and an owner with nothing queued so far
comes first at the next free slot, however long the other lanes are.

A front lane comes before all of them, for a job that must be tried first:
one whose start was postponed (the resource could not be reached) and one
that starts at once because nothing waits. Those need no owner here; the
runner, which reads each job as it starts it, says whose it was
(`mark_served`), so a user whose first jobs started at once and the rest
queued is served already when another user's first job arrives.

A plain class, used from the RunnerActor's thread only. The owners it
remembers (when each was last served) are the service's users, a few.
"""

import collections
import itertools
from typing import Dict, List, OrderedDict, Tuple


class FairQueue:
    """Job ids waiting for a slot, taken round-robin over their owners."""

    def __init__(self) -> None:
        self._front: Dict[str, None] = {}  # insertion-ordered: first in, first out
        self._lanes: Dict[str, OrderedDict[str, None]] = {}  # owner -> their job ids, in order
        self._owner_of: Dict[str, str] = {}  # job id -> owner, for jobs in a lane
        self._queued_since: Dict[str, int] = {}  # owner -> when their lane was opened
        self._served: Dict[str, int] = {}  # owner -> when a job of theirs was last taken
        self._clock = itertools.count(1)

    def add(self, job_id: str, owner: str) -> None:
        """Queue `job_id` at the end of its owner's lane (nothing if queued already)."""
        if job_id in self:
            return
        lane = self._lanes.get(owner)
        if lane is None:
            lane = self._lanes[owner] = collections.OrderedDict()
            self._queued_since[owner] = next(self._clock)
        lane[job_id] = None
        self._owner_of[job_id] = owner

    def push_front(self, job_id: str) -> None:
        """Put `job_id` before every lane, behind any other job put there (it
        leaves its lane if it was in one)."""
        self.remove(job_id)
        self._front[job_id] = None

    def pop(self) -> str:
        """The next job to start, taken out of the queue; IndexError if empty."""
        if self._front:
            job_id = next(iter(self._front))
            del self._front[job_id]
            return job_id
        if not self._lanes:
            raise IndexError('pop from an empty FairQueue')
        owner = min(self._lanes, key=self._turn)
        lane = self._lanes[owner]
        job_id, _ = lane.popitem(last=False)
        del self._owner_of[job_id]
        if not lane:
            del self._lanes[owner], self._queued_since[owner]
        self.mark_served(owner)
        return job_id

    def mark_served(self, owner: str) -> None:
        """A job of `owner` is being started: their turn was now."""
        self._served[owner] = next(self._clock)

    def _turn(self, owner: str) -> Tuple[int, int]:
        """Sorts the owner whose turn it is first: least recently served, then
        (among those never served) the one who queued first."""
        return self._served.get(owner, 0), self._queued_since[owner]

    def remove(self, job_id: str) -> bool:
        """Take `job_id` out wherever it waits; whether it was queued."""
        if job_id in self._front:
            del self._front[job_id]
            return True
        owner = self._owner_of.pop(job_id, None)
        if owner is None:
            return False
        lane = self._lanes[owner]
        del lane[job_id]
        if not lane:
            del self._lanes[owner], self._queued_since[owner]
        return True

    def drain(self) -> List[str]:
        """Every queued job, in the order they would have started; the queue is empty after."""
        taken = []
        while self:
            taken.append(self.pop())
        return taken

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._front or job_id in self._owner_of

    def __len__(self) -> int:
        return len(self._front) + len(self._owner_of)
