"""The poller follows the copy of a job script that claimed the job, and says
when the resource's disk was full (real store, scripted scheduler)."""

import pytest

from cerise_actors.actors.poller import PollerActor
from cerise_actors.jobs.states import JobState as S
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.resource.scheduler import RemoteState, RemoteStatus

from ..fakes import ScriptedScheduler
from .actor_fixtures import ask, messages, new_job, state_of


class StatusScheduler(ScriptedScheduler):
    """Answers `status` (a RemoteStatus) for every job and records polled ids."""

    status = RemoteStatus(RemoteState.RUNNING)

    def __init__(self):
        super().__init__()
        self.polled_ids = []

    def poll(self, jobs):
        self.polled_ids.append([job.remote_id for job in jobs])
        return {job.job_id: self.status for job in jobs}


@pytest.fixture
def scheduler():
    return StatusScheduler()


@pytest.fixture
def poller(store, scheduler, tmp_path):
    return PollerActor.start(store, scheduler, ResourceLayout(str(tmp_path)), 3600.0).proxy()


def _tracked_job(store, poller, remote_id='1:1'):
    job_id = new_job(store, S.STAGING_IN, S.WAITING)
    ask(poller.track(job_id, remote_id))
    return job_id


def test_a_claim_by_another_copy_is_followed_and_recorded(store, scheduler, poller):
    job_id = _tracked_job(store, poller, '10:1')
    scheduler.status = RemoteStatus(RemoteState.RUNNING, claimant='20:2')
    ask(poller.tick())
    assert ask(store.get_job(job_id)).remote_job_id == '20:2'
    assert any('(id 20:2)' in line for line in messages(store, job_id))
    scheduler.status = RemoteStatus(RemoteState.RUNNING)
    ask(poller.tick())
    assert scheduler.polled_ids[-1] == ['20:2']
    assert state_of(store, job_id) is S.RUNNING


def test_a_job_gone_on_a_full_disk_is_a_temporary_failure_that_says_so(store, scheduler, poller):
    job_id = _tracked_job(store, poller)
    scheduler.status = RemoteStatus(RemoteState.GONE, disk_full=True)
    ask(poller.tick())
    assert state_of(store, job_id) is S.TEMPORARY_FAILURE
    assert 'disk is full' in messages(store, job_id)[-1]
    assert 'was it killed' not in ' '.join(messages(store, job_id))


def test_a_runner_that_failed_on_a_full_disk_is_finished_with_a_warning(store, scheduler, poller):
    job_id = _tracked_job(store, poller)
    scheduler.status = RemoteStatus(RemoteState.DONE, 1, disk_full=True)
    ask(poller.tick())
    job = ask(store.get_job(job_id))
    assert (job.state, job.exit_code) == (S.FINISHED, 1)
    assert 'disk was full' in messages(store, job_id)[-1]
