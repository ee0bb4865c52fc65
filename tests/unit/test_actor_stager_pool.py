"""StagerPool: each job goes to the least busy stager; stop stops them all.

The stagers are small recording actors: the pool only counts and tells.
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
    def __init__(self, size):
        self.log, self.refs = [], []
        self.pool = StagerPool(size, self._make_stager)

    def _make_stager(self, on_done):
        self.refs.append(RecordingStager.start(len(self.refs), self.log, on_done))
        return self.refs[-1]

    def finish(self, index):
        ask(self.refs[index].proxy().finish())

    def wait(self, count):
        wait_for(lambda: len(self.log) == count, 30, message=f'{count} calls')
        return [(index, job_id) for index, _, job_id in self.log]


def test_jobs_go_to_the_least_busy_stager():
    p = Pool(2)
    p.pool.stage_in('a')  # loads 0, 0 -> the first
    p.pool.stage_out('b')  # 1, 0 -> the second
    p.pool.delete('c')  # 1, 1 -> the first
    assert sorted(p.wait(3)) == [(0, 'a'), (0, 'c'), (1, 'b')]
    assert sorted(p.log) == [(0, 'delete', 'c'), (0, 'stage_in', 'a'), (1, 'stage_out', 'b')]

    p.finish(1)  # loads 2, 0
    p.pool.stage_in('d')
    p.pool.stage_in('e')  # 2, 1 -> the second again
    assert p.wait(5)[3:] == [(1, 'd'), (1, 'e')]

    p.finish(0)
    p.finish(0)  # loads 0, 2
    p.pool.delete('f')
    assert p.wait(6)[5] == (0, 'f')


def test_stop_lets_each_stager_finish_what_it_was_told_and_may_be_called_again():
    p = Pool(3)
    for job_id in 'abc':
        p.pool.stage_in(job_id)
    p.pool.stop(timeout=30)
    assert not any(ref.is_alive() for ref in p.refs)
    assert sorted(p.log) == [(0, 'stage_in', 'a'), (1, 'stage_in', 'b'), (2, 'stage_in', 'c')]
    p.pool.stop(timeout=30)  # nothing left to stop
    p.pool.stage_out('d')  # a tell to a stopped stager is dropped
    assert len(p.log) == 3


@pytest.mark.parametrize('size', [1, 4])
def test_a_pool_of_any_size_hands_out_every_job(size):
    p = Pool(size)
    for job_id in range(10):
        p.pool.stage_in(str(job_id))
    assert sorted(job_id for _, job_id in p.wait(10)) == sorted(map(str, range(10)))
    per_stager = [sum(1 for index, _, _ in p.log if index == i) for i in range(size)]
    assert max(per_stager) - min(per_stager) <= 1, per_stager
