"""What every worker shares: `job_guard` keeps actors alive, `fail_job` fails
a job from wherever it is (real StoreActor)."""

import pykka
import pytest

from cerise_actors.actors.base import ControlFlow, StoreClient, fail_job, job_guard
from cerise_actors.actors.runner import RunnerActor
from cerise_actors.jobs.states import JobState as S
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.store.actor import StoreActor

from ..fakes import FakePoller, FaultyFileSystem, ScriptedScheduler
from .actor_fixtures import ask, log_of, new_job, state_of, wait_state


class Stop(ControlFlow):
    """Raised on purpose: passes the guard."""


class Worker(pykka.ThreadingActor):
    """A minimal worker: `work(job_id, error)` raises `error` (if any) under the guard."""

    def __init__(self, store_proxy):
        super().__init__()
        self._store = StoreClient(store_proxy)
        self.done = []

    @job_guard
    def work(self, job_id, error=None):
        if error is not None:
            raise error
        self.done.append(job_id)
        return 'worked'

    @job_guard
    def read(self, job_id):
        return self._store.get_job(job_id)


@pytest.fixture
def worker(store):
    return Worker.start(store).proxy()


# --- job_guard -------------------------------------------------------------
def test_an_unexpected_error_is_a_system_error_and_the_actor_carries_on(store, worker):
    job_id = new_job(store, S.STAGING_IN)
    worker.work(job_id, KeyError('cores'))  # a tell, as the store does
    wait_state(store, job_id, S.SYSTEM_ERROR)
    assert log_of(store, job_id)[-1] == (
        'ERROR',
        "Internal error of the service (KeyError: 'cores'); please report it.",
    )
    other = new_job(store)
    assert ask(worker.work(other)) == 'worked'
    assert ask(worker.done) == [other]


def test_control_flow_passes_the_guard(store, worker):
    job_id = new_job(store, S.STAGING_IN)
    with pytest.raises(Stop):
        ask(worker.work(job_id, Stop()))
    assert state_of(store, job_id) is S.STAGING_IN


def test_work_for_a_stopped_store_is_skipped(tmp_path, caplog):
    store_ref = StoreActor.start(tmp_path / 'gone.db')
    worker = Worker.start(store_ref.proxy()).proxy()
    store_ref.stop()
    assert ask(worker.read('some-job')) is None
    assert 'job some-job: read skipped, the service is stopping' in caplog.text
    assert ask(worker.work('some-job', RuntimeError('boom'))) is None
    assert 'job some-job: could not record the internal error' in caplog.text
    assert ask(worker.work('next-job')) == 'worked', 'still alive'


def test_a_real_worker_survives_an_internal_error(store, tmp_path):
    """The runner's _start is guarded: a broken command line fails one job only."""
    calls = []

    def argv(paths, cores=0):
        calls.append(paths)
        if len(calls) == 1:
            raise ValueError('bad cwl-runner setting')
        return ['cwltool']

    layout, fs, poller = ResourceLayout(str(tmp_path / 'r')), FaultyFileSystem(), FakePoller()
    scheduler = ScriptedScheduler()
    runner = RunnerActor.start(store, scheduler, fs, layout, argv, None, poller).proxy()
    ask(runner.api_ready())
    broken, fine = new_job(store, S.STAGING_IN, S.WAITING), new_job(store, S.STAGING_IN, S.WAITING)
    fs.mkdir(layout.job(fine).dir)
    ask(runner.enqueue(broken))
    ask(runner.enqueue(fine))
    assert state_of(store, broken) is S.SYSTEM_ERROR
    assert 'ValueError: bad cwl-runner setting' in log_of(store, broken)[-1][1]
    assert scheduler.submitted_ids == [fine] and poller.tracked == [(fine, 'remote-1')]


# --- fail_job --------------------------------------------------------------
@pytest.fixture
def client(store):
    return StoreClient(store)


def test_fail_job_moves_an_active_job_to_the_failure(store, client):
    job_id = new_job(store, S.STAGING_IN)
    fail_job(client, job_id, S.TEMPORARY_FAILURE, 'An input is not available.')
    assert state_of(store, job_id) is S.TEMPORARY_FAILURE
    assert log_of(store, job_id)[-1] == ('ERROR', 'An input is not available.')


@pytest.mark.parametrize(
    'path', [[S.STAGING_IN, S.STAGING_IN_CR], [S.STAGING_IN, S.WAITING, S.WAITING_CR]]
)
def test_fail_job_from_a_cancel_pending_state_cancels_the_job(store, client, path):
    job_id = new_job(store, *path)
    fail_job(client, job_id, S.PERMANENT_FAILURE, 'Could not start the job: no sbatch')
    assert state_of(store, job_id) is S.CANCELLED
    assert log_of(store, job_id)[-1] == ('ERROR', 'Cancelled.')


def test_a_system_error_is_kept_even_when_a_cancel_is_pending(store, client):
    job_id = new_job(store, S.STAGING_IN, S.STAGING_IN_CR)
    fail_job(client, job_id, S.SYSTEM_ERROR, 'Internal error.')
    assert state_of(store, job_id) is S.SYSTEM_ERROR
    assert log_of(store, job_id)[-1] == ('ERROR', 'Internal error.')


def test_fail_job_leaves_final_and_unknown_jobs_alone(store, client):
    job_id = new_job(store, S.CANCELLED)
    before = log_of(store, job_id)
    fail_job(client, job_id, S.SYSTEM_ERROR, 'too late')
    fail_job(client, 'no-such-job', S.SYSTEM_ERROR, 'nobody')
    assert state_of(store, job_id) is S.CANCELLED and log_of(store, job_id) == before


def test_fail_job_from_a_rest_state_only_logs_the_message(store, client):
    job_id = new_job(store)  # SUBMITTED may not move to a failure
    fail_job(client, job_id, S.PERMANENT_FAILURE, 'Cannot run this job.')
    assert state_of(store, job_id) is S.SUBMITTED
    assert log_of(store, job_id)[-1] == ('ERROR', 'Cannot run this job.')


class RacingClient(StoreClient):
    """A StoreClient whose first transition loses a race with a user's cancel."""

    def transition(self, job_id, *args, **kwargs):
        if not getattr(self, 'raced', False):
            self.raced = True
            ask(self._store.cancel_job(job_id))
        return super().transition(job_id, *args, **kwargs)


def test_fail_job_tries_again_when_the_job_moved_meanwhile(store):
    job_id = new_job(store, S.STAGING_IN)
    fail_job(RacingClient(store), job_id, S.PERMANENT_FAILURE, 'Staging in failed: denied')
    assert state_of(store, job_id) is S.CANCELLED
    assert [m for _, m in log_of(store, job_id)][-2:] == ['Cancellation requested.', 'Cancelled.']


def test_store_client_asks_every_store_method(store, client):
    job_id = client.claim(new_job(store), S.SUBMITTED, S.STAGING_IN, 'mine').id
    client.update_job(job_id, 'noted', remote_dir='/r')
    client.add_log(job_id, 'careful', 'WARNING')
    assert client.transition(job_id, S.STAGING_IN, S.SUBMITTED, notify=False)
    assert client.get_job(job_id).remote_dir == '/r'
    client.republish(job_id)
    assert log_of(store, job_id)[-2:] == [('INFO', 'noted'), ('WARNING', 'careful')]
    ask(store.delete_job(job_id))
    client.remove_job(job_id)
    assert client.get_job(job_id, include_deleted=True) is None
