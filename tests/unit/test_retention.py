"""jobs.retention: the sweep's rhythm, and which jobs the store finds expired."""

from cerise_actors.app.retention import RetentionSweep
from cerise_actors.jobs.states import JobState as S
from cerise_actors.store.job_store import JobStore


class FakeStore:
    def __init__(self):
        self.asked = []

    def delete_expired(self, before, why):
        self.asked.append((before, why))


def test_the_sweep_asks_at_most_once_per_period_and_always_comes_back():
    store, later, now = FakeStore(), [], [1000.0]
    sweep = RetentionSweep(store, 86400 * 30, later.append, every=60, clock=lambda: now[0])
    sweep.start()
    assert later == [sweep]
    for t in (1000.0, 1010.0, 1059.0, 1060.0):
        now[0] = t
        later.pop()()
        assert later == [sweep]  # it schedules itself again every time
    assert [before for before, _ in store.asked] == [1000.0 - 86400 * 30, 1060.0 - 86400 * 30]
    assert store.asked[0][1] == 'it finished more than 30 days ago (jobs.retention)'


def test_a_failing_ask_still_schedules_the_next_sweep():
    class Broken:
        def delete_expired(self, before, why):
            raise RuntimeError('store gone')

    later = []
    sweep = RetentionSweep(Broken(), 10, later.append, clock=lambda: 0.0)
    try:
        sweep()
    except RuntimeError:
        pass
    assert later == [sweep]


def test_a_short_retention_is_looked_at_as_often_as_half_of_it():
    store, later, now = FakeStore(), [], [0.0]
    sweep = RetentionSweep(store, 2, later.append, every=60, clock=lambda: now[0])
    for t in (0.0, 0.5, 1.0, 2.0):
        now[0] = t
        sweep()
    assert len(store.asked) == 3  # at 0, 1 and 2


def test_only_finished_jobs_not_being_deleted_and_old_enough_are_expired(tmp_path, monkeypatch):
    store = JobStore(tmp_path / 'jobs.db')
    clock = [1000.0]
    monkeypatch.setattr('cerise_actors.store.job_store.time.time', lambda: clock[0])
    old_done = store.create('old', 'u', '{}')
    store.transition(old_done.id, S.SUBMITTED, S.CANCELLED)
    old_running = store.create('running', 'u', '{}')
    store.transition(old_running.id, S.SUBMITTED, S.STAGING_IN)
    old_deleting = store.create('deleting', 'u', '{}')
    store.transition(old_deleting.id, S.SUBMITTED, S.CANCELLED)
    store.request_delete(old_deleting.id)
    clock[0] = 5000.0
    new_done = store.create('new', 'u', '{}')
    store.transition(new_done.id, S.SUBMITTED, S.CANCELLED)
    assert store.expired(before=4000.0, limit=10) == [old_done.id]
    assert store.expired(before=6000.0, limit=10) == [old_done.id, new_done.id]
    assert store.expired(before=6000.0, limit=1) == [old_done.id]
    store.close()
