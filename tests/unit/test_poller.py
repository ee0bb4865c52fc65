"""The poller moves jobs by what the scheduler reports (real store, scripted scheduler)."""

import pytest

from cerise_actors.actors.poller import PollerActor
from cerise_actors.jobs.states import JobState as S
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.resource.scheduler import RemoteState, RemoteStatus, Scheduler
from cerise_actors.store.actor import LEFT_RESOURCE, StoreActor


class ScriptedScheduler(Scheduler):
    """Answers every poll with `self.answer`; counts the polls."""

    def __init__(self):
        super().__init__(shell=None)
        self.answer = 'running'
        self.polls = 0

    def submit(self, req):
        raise NotImplementedError

    def poll(self, jobs):
        self.polls += 1
        state = RemoteState(self.answer)
        code = 0 if state is RemoteState.DONE else None
        return {job.job_id: RemoteStatus(state, code) for job in jobs}

    def cancel(self, remote_id, paths):
        pass


class Runner:
    """Stands in for the RunnerActor: hears, through the store, of jobs that ended."""

    def __init__(self):
        self.ended = []

    def job_ended(self, job_id):
        self.ended.append(job_id)


@pytest.fixture
def world(tmp_path):
    store_ref = StoreActor.start(tmp_path / 'jobs.db')
    store = store_ref.proxy()
    scheduler, runner = ScriptedScheduler(), Runner()
    store.subscribe(LEFT_RESOURCE, runner.job_ended).get(timeout=10)
    poller_ref = PollerActor.start(store, scheduler, ResourceLayout(str(tmp_path)), 3600.0)
    yield store, scheduler, runner, poller_ref.proxy()
    poller_ref.stop()
    store_ref.stop()


def _tracked_job(store, poller):
    """A job in WAITING, as the runner leaves it after starting it."""
    job = store.create_job('', 'u', '{}').get(timeout=10)
    for a, b in ((S.SUBMITTED, S.STAGING_IN), (S.STAGING_IN, S.WAITING)):
        assert store.transition(job.id, a, b, notify=False).get(timeout=10)
    poller.track(job.id, '1:1').get(timeout=10)
    return job.id


def _round(scheduler, poller, answer):
    """One poll round in which the scheduler says `answer` about every job."""
    scheduler.answer = answer
    poller.tick().get(timeout=10)


def test_a_job_that_ended_while_waiting_is_finished_with_its_exit_code(world):
    store, scheduler, runner, poller = world
    job_id = _tracked_job(store, poller)
    _round(scheduler, poller, 'done')
    job = store.get_job(job_id).get(timeout=10)
    assert (job.state, job.exit_code) == (S.FINISHED, 0)
    assert runner.ended == [job_id] and poller.tracked_count().get(timeout=10) == 0


def test_a_cancel_that_came_first_wins_over_the_guess(world):
    store, scheduler, runner, poller = world
    job_id = _tracked_job(store, poller)
    _round(scheduler, poller, 'running')
    assert store.get_job(job_id).get(timeout=10).state is S.RUNNING
    assert store.cancel_job(job_id).get(timeout=10).state is S.RUNNING_CR
    _round(scheduler, poller, 'done')  # it stopped
    job = store.get_job(job_id).get(timeout=10)
    assert job.state is S.CANCELLED and job.exit_code is None
    assert runner.ended == [job_id]


def test_a_job_gone_without_an_exit_code_is_a_system_error(world):
    store, scheduler, runner, poller = world
    job_id = _tracked_job(store, poller)
    _round(scheduler, poller, 'gone')
    assert store.get_job(job_id).get(timeout=10).state is S.SYSTEM_ERROR
