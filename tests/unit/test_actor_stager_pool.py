"""StagerPool: each job goes to an idle stager, never behind a busy one; the
pool grows while every stager is slow; stop stops them all.

The stagers are small recording actors: the pool only queues and tells.
"""

import pykka
import pytest

from cerise_actors.actors.stager_pool import StagerPool

from ..helpers import wait_for
from .actor_fixtures import ask


class RecordingStager(pykka.ThreadingActor):
    """Appends (its index, method, job id) to a shared log; `finish()` tells
    the pool, through on_done, that one job is done with."""

    def __init__(self, index, log, on_done):
        super().__init__()
        self._index, self._log, self._on_done = index, log, on_done

    def stage_in(self, job_id):
        self._log.append((self._index, 'stage_in', job_id))

    def stage_out(self, job_id):
        self._log.append((self._index, 'stage_out', job_id))

    def delete(self, job_id):
        self._log.append((self._index, 'delete', job_id))

    def finish(self):
        self._on_done()


class Pool:
    def __init__(self, size, max_size=None, slow_after=60.0):
        self.log, self.refs = [], []
        self.pool = StagerPool(size, self._make_stager, max_size or size, slow_after)

    def _make_stager(self, on_done):
        self.refs.append(RecordingStager.start(len(self.refs), self.log, on_done))
        return self.refs[-1]

    def finish(self, index):
        ask(self.refs[index].proxy().finish())

    def wait(self, count):
        wait_for(lambda: len(self.log) == count, 30, message=f'{count} calls')
        return [(index, job_id) for index, _, job_id in self.log]


def test_jobs_wait_for_an_idle_stager_rather_than_queue_behind_a_busy_one():
    p = Pool(2)
    p.pool.stage_in('a')  # both idle -> the first
    p.pool.stage_out('b')  # -> the second
    p.pool.delete('c')  # both busy: waits in the pool
    assert sorted(p.wait(2)) == [(0, 'a'), (1, 'b')]
    p.finish(1)  # the second is free first: it takes c, though it was told b later
    assert p.wait(3)[2] == (1, 'c')
    p.pool.stage_in('d')  # waits
    p.finish(0)
    assert p.wait(4)[3] == (0, 'd')


def test_the_pool_grows_while_every_stager_is_slow_and_no_further():
    p = Pool(2, max_size=3, slow_after=0.3)
    for job_id in 'abcd':
        p.pool.stage_in(job_id)
    assert sorted(p.wait(2)) == [(0, 'a'), (1, 'b')]
    # a and b never finish: after slow_after a third stager takes c, and d waits
    assert p.wait(3)[2] == (2, 'c')
    assert p.pool.size == 3
    p.finish(1)
    assert p.wait(4)[3] == (1, 'd')
    assert p.pool.size == 3


def test_stop_lets_each_stager_finish_what_it_was_told_and_may_be_called_again():
    p = Pool(3)
    for job_id in 'abc':
        p.pool.stage_in(job_id)
    p.wait(3)
    p.pool.stop(timeout=30)
    assert not any(ref.is_alive() for ref in p.refs)
    assert sorted(p.log) == [(0, 'stage_in', 'a'), (1, 'stage_in', 'b'), (2, 'stage_in', 'c')]
    p.pool.stop(timeout=30)  # nothing left to stop
    p.pool.stage_out('d')  # stays in its rest state in the store, for the next start
    assert len(p.log) == 3


@pytest.mark.parametrize('size', [1, 4])
def test_a_pool_of_any_size_hands_out_every_job(size):
    p = Pool(size)
    for job_id in range(10):
        p.pool.stage_in(str(job_id))
    for count in range(size, 10):  # each finished job frees a stager for the next
        p.wait(count)
        index = p.log[count - size][0]
        p.finish(index)
    assert sorted(job_id for _, job_id in p.wait(10)) == sorted(map(str, range(10)))


def test_one_users_burst_does_not_hold_another_users_first_job_behind_it():
    p = Pool(1)
    for n in range(5):
        p.pool.stage_in(f'alice-{n}', 'alice')  # the first runs, four wait
    p.pool.stage_in('bob-0', 'bob')
    p.pool.delete('bob-1', 'bob')
    assert p.wait(1) == [(0, 'alice-0')]
    order = []
    for count in range(2, 8):
        p.finish(0)
        order.append(p.wait(count)[-1][1])
    # bob, never served, goes first; then the two take turns
    assert order == ['bob-0', 'alice-1', 'bob-1', 'alice-2', 'alice-3', 'alice-4']
