"""RunnerActor: its queue, slots, install gate, postponement and cancels.

A real StoreActor hands jobs to the runner through its subscriptions, wired
as in app/system.py; the scheduler is scripted, the file system is the real
local one (with faults injected), and the poller is a recording stand-in.
"""

import dataclasses
import os
from pathlib import Path

import pytest

from cerise_actors.actors.runner import RunnerActor
from cerise_actors.errors import PermanentResourceError, TemporaryResourceError
from cerise_actors.jobs.states import JobState as S
from cerise_actors.resource.batch import FINISHED_ID
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.store.actor import LEFT_RESOURCE

from ..fakes import FakePoller, FaultyFileSystem, Recorder, ScriptedScheduler
from ..helpers import wait_for
from .actor_fixtures import ask, job_of, log_of, messages, new_job, wait_log, wait_state

WAITING_FOR_API = 'Waiting for the specialisation to be installed'


def _argv(paths, cores=0):
    """The runner's command line, as RunnerActor asks for it: (paths, cores)."""
    return ['cwltool', '--cores', str(cores), '--outdir', paths.work]


@dataclasses.dataclass
class World:
    store: object
    runner: object
    scheduler: ScriptedScheduler
    fs: FaultyFileSystem
    poller: FakePoller
    layout: ResourceLayout

    def waiting_job(self, **fields) -> str:
        """A job the stager has just staged: the store tells the runner of it."""
        job_id = new_job(self.store, S.STAGING_IN)
        self.fs.mkdir(self.layout.job(job_id).dir)
        assert ask(self.store.transition(job_id, S.STAGING_IN, S.WAITING, **fields))
        return job_id

    def end(self, job_id, from_state=S.WAITING):
        """The poller saw the job end: it leaves the resource's states."""
        assert ask(self.store.transition(job_id, from_state, S.FINISHED, exit_code=0))

    def barrier(self):
        """An ask the runner answers after all it was told before; it changes nothing."""
        ask(self.runner.cancel('no-such-job'))


@pytest.fixture
def make_runner(store, tmp_path):
    def make(max_running=None, ready=True, runner_name=''):
        scheduler, fs, poller = ScriptedScheduler(), FaultyFileSystem(), FakePoller()
        layout = ResourceLayout(str(tmp_path / 'resource'))
        runner = RunnerActor.start(
            store, scheduler, fs, layout, _argv, max_running, poller, runner_name=runner_name
        ).proxy()
        for topic, callback in (
            (S.WAITING, runner.enqueue),
            (S.WAITING_CR, runner.cancel),
            (S.RUNNING_CR, runner.cancel),
            (LEFT_RESOURCE, runner.job_ended),
        ):
            ask(store.subscribe(topic, callback))
        if ready:
            ask(runner.api_ready())
        return World(store, runner, scheduler, fs, poller, layout)

    return make


# --- starting ------------------------------------------------------------
def test_jobs_wait_for_the_specialisation_then_start_in_order(make_runner):
    w = make_runner(ready=False)
    first = w.waiting_job(cores=4, time_limit=60)
    second = w.waiting_job()
    wait_log(w.store, second, WAITING_FOR_API)
    assert any(WAITING_FOR_API in m for m in messages(w.store, first))
    assert w.scheduler.submits == []

    ask(w.runner.api_ready())
    assert w.scheduler.submitted_ids == [first, second]
    assert w.poller.tracked == [(first, 'remote-1'), (second, 'remote-2')]
    for job_id, remote_id in w.poller.tracked:
        job = job_of(w.store, job_id)
        assert job.state is S.WAITING and job.remote_job_id == remote_id
        assert messages(w.store, job_id)[-1] == f'Started on the compute resource (id {remote_id}).'
    req, paths = w.scheduler.submits[0], w.layout.job(first)
    assert (req.paths, req.runner, req.cores, req.time_limit) == (paths, _argv(paths, 4), 4, 60)
    script = Path(paths.script)
    assert script.stat().st_mode & 0o777 == 0o755
    assert f'cwltool --cores 4 --outdir {paths.work}' in script.read_text()


def test_without_a_queue_a_started_job_is_running_at_once(make_runner):
    """No batch queue (the direct and local schedulers): started means running,
    so the job shows Running now rather than at the next poll."""
    w = make_runner()
    w.scheduler.runs_at_once = True
    job_id = w.waiting_job()
    wait_state(w.store, job_id, S.RUNNING)
    assert messages(w.store, job_id)[-2:] == [
        'Started on the compute resource (id remote-1).',
        'Running on the compute resource.',
    ]
    assert job_of(w.store, job_id).remote_job_id == 'remote-1'
    assert w.poller.started_running == [job_id]


def test_at_most_max_running_jobs_run_and_the_next_starts_when_one_leaves(make_runner):
    w = make_runner(max_running=1)
    a, b, c = (w.waiting_job() for _ in range(3))
    wait_log(w.store, c, 'Waiting for a free slot: 1 job(s) running, at most 1 at once.')
    assert w.scheduler.submitted_ids == [a]
    assert ask(w.store.transition(a, S.WAITING, S.RUNNING))  # still on the resource
    ask(w.runner.retry_queued())
    assert w.scheduler.submitted_ids == [a]

    w.end(a, S.RUNNING)  # LEFT_RESOURCE -> job_ended
    wait_for(lambda: w.scheduler.submitted_ids == [a, b], message='b to start')
    w.barrier()
    assert w.scheduler.submitted_ids == [a, b], 'c waits for the next free slot'
    w.end(b)
    wait_for(lambda: w.scheduler.submitted_ids == [a, b, c], message='c to start')


def test_an_adopted_job_takes_a_slot_until_it_ends(make_runner):
    w = make_runner(max_running=1)
    adopted = new_job(w.store, S.STAGING_IN, S.WAITING, remote_job_id='42:7')
    ask(w.runner.adopt(adopted))
    queued = w.waiting_job()
    wait_log(w.store, queued, 'Waiting for a free slot: 1 job(s) running')
    assert w.scheduler.submits == []
    w.end(adopted)
    wait_for(lambda: w.scheduler.submitted_ids == [queued], message='the queued job to start')


def test_only_waiting_jobs_not_yet_started_are_submitted(make_runner):
    w = make_runner()
    staging = new_job(w.store, S.STAGING_IN)
    started = new_job(w.store, S.STAGING_IN, S.WAITING, remote_job_id='earlier')
    for job_id in (staging, started, 'no-such-job'):
        ask(w.runner.enqueue(job_id))
    assert w.scheduler.submits == [] and w.poller.tracked == []
    assert job_of(w.store, started).remote_job_id == 'earlier'


def test_a_job_that_already_ran_before_a_restart_is_followed_again(make_runner):
    w = make_runner()
    w.scheduler.submit_script.append(FINISHED_ID)
    job_id = w.waiting_job()
    wait_for(lambda: w.poller.tracked == [(job_id, FINISHED_ID)], message='the job to be tracked')
    assert messages(w.store, job_id)[-1] == (
        'Found that this job had already run on the compute resource before the service restarted.'
    )


def test_the_job_log_names_the_runner_that_runs_the_job(make_runner):
    w = make_runner(runner_name='cerise-runner 0.1 on the resource')
    job_id = w.waiting_job()
    wait_for(lambda: w.poller.tracked, message='the job to start')
    assert messages(w.store, job_id)[-1] == (
        'Started on the compute resource (id remote-1), running cerise-runner 0.1 on the resource.'
    )


# --- an unreachable or refusing resource ------------------------------------
def test_an_unreachable_resource_keeps_jobs_queued_until_the_poller_round(make_runner):
    w = make_runner()
    lost = TemporaryResourceError('connection lost')
    w.scheduler.submit_script.extend([lost])
    first = w.waiting_job()
    wait_log(w.store, first, 'Could not reach the compute resource to start the job')
    second = w.waiting_job()  # queued behind it; the resource is not asked again yet
    wait_log(w.store, second, 'Waiting: the compute resource cannot be reached')
    assert w.scheduler.submitted_ids == [first]
    assert (
        log_of(w.store, first).count(
            (
                'WARNING',
                'Could not reach the compute resource to start the job (connection lost); trying again.',
            )
        )
        == 1
    )
    for job_id in (first, second):
        job = job_of(w.store, job_id)
        assert job.state is S.WAITING and job.remote_job_id is None
    assert w.poller.tracked == [] and len(w.poller.later) == 1

    assert w.poller.run_later() == 1  # the poller's next round: the runner tries again
    wait_for(lambda: len(w.poller.tracked) == 2, message='both jobs to start')
    assert w.scheduler.submitted_ids == [first, first, second], 'in order'
    assert w.poller.tracked == [(first, 'remote-2'), (second, 'remote-3')]


def test_a_postponed_job_is_not_said_to_wait_for_a_free_slot(make_runner):
    w = make_runner()
    w.scheduler.submit_script.append(TemporaryResourceError('connection lost'))
    job_id = w.waiting_job()
    wait_log(w.store, job_id, 'Could not reach the compute resource')
    w.barrier()
    assert not any('free slot' in m for m in messages(w.store, job_id)), messages(w.store, job_id)


def test_an_outage_asks_for_one_retry_and_logs_one_line_per_job(make_runner):
    w = make_runner()
    w.scheduler.submit_script.extend([TemporaryResourceError('connection lost')] * 3)
    first = w.waiting_job()
    wait_log(w.store, first, 'Could not reach the compute resource')
    second, third = w.waiting_job(), w.waiting_job()
    w.barrier()
    assert len(w.poller.later) == 1, 'one retry asked for, however many jobs wait'
    for job_id in (second, third):
        assert messages(w.store, job_id)[-1].startswith(
            'Waiting: the compute resource cannot be reached'
        )
    for _ in range(2):  # two more rounds, still unreachable
        w.poller.run_later()
        w.barrier()
        assert len(w.poller.later) == 1
    assert sum('Could not reach' in m for m in messages(w.store, first)) == 1
    w.poller.run_later()  # the resource is back
    wait_for(lambda: len(w.poller.tracked) == 3, message='all three started')


@pytest.mark.parametrize('where', ['submit', 'job script'])
def test_a_permanent_error_starting_a_job_is_a_permanent_failure(make_runner, where):
    w = make_runner(max_running=1)
    error = PermanentResourceError('sbatch: invalid partition')
    if where == 'submit':
        w.scheduler.submit_script.append(error)
    else:
        w.fs.inject('put_stream', error, match='run.sh')
    failed = w.waiting_job()
    wait_state(w.store, failed, S.PERMANENT_FAILURE)
    assert log_of(w.store, failed)[-1] == (
        'ERROR',
        'Could not start the job: sbatch: invalid partition',
    )
    after = w.waiting_job()  # the failed job took no slot
    wait_for(lambda: w.poller.tracked, message='the next job to start')
    assert w.poller.tracked == [(after, f'remote-{len(w.scheduler.submits)}')]
    assert w.scheduler.submitted_ids == ([failed, after] if where == 'submit' else [after])


# --- the installation gate ---------------------------------------------------
def test_a_failed_installation_fails_queued_and_later_jobs(make_runner):
    w = make_runner(ready=False)
    queued = w.waiting_job()
    wait_log(w.store, queued, WAITING_FOR_API)
    ask(w.runner.api_failed('install.sh exited with 1'))
    later = w.waiting_job()
    expected = ('ERROR', 'The specialisation could not be installed: install.sh exited with 1')
    for job_id in (queued, later):
        wait_state(w.store, job_id, S.SYSTEM_ERROR)
        assert log_of(w.store, job_id)[-1] == expected
    assert w.scheduler.submits == []


def test_a_reinstall_waits_until_running_jobs_have_ended(make_runner):
    w = make_runner()
    running = w.waiting_job()
    wait_for(lambda: w.poller.tracked, message='the first job to start')
    install = Recorder()
    ask(w.runner.install_when_idle(install))
    assert install.calls == []
    held = w.waiting_job()
    wait_log(w.store, held, WAITING_FOR_API)
    assert w.scheduler.submitted_ids == [running]

    w.end(running)
    wait_for(lambda: install.calls == [()], message='the installation to be started')
    w.barrier()
    assert w.scheduler.submitted_ids == [running], 'held until the installer says ready'
    ask(w.runner.api_ready())
    assert w.scheduler.submitted_ids == [running, held]


def test_a_reinstall_with_nothing_running_starts_at_once(make_runner):
    w = make_runner()
    install = Recorder()
    ask(w.runner.install_when_idle(install))
    assert install.calls == [()]


# --- cancelling ------------------------------------------------------------
def test_a_job_cancelled_before_it_started_never_reaches_the_resource(make_runner):
    w = make_runner(ready=False)
    job_id = w.waiting_job()
    wait_log(w.store, job_id, WAITING_FOR_API)
    assert ask(w.store.cancel_job(job_id)).state is S.WAITING_CR
    wait_state(w.store, job_id, S.CANCELLED)
    assert messages(w.store, job_id)[-1] == 'Cancelled before it started.'
    ask(w.runner.api_ready())
    assert w.scheduler.submits == [] and w.scheduler.cancels == []


@pytest.mark.parametrize('state', [S.WAITING, S.RUNNING])
def test_cancelling_a_started_job_stops_it_and_asks_the_poller_to_look(make_runner, state):
    w = make_runner()
    job_id = w.waiting_job()
    wait_for(lambda: w.poller.tracked, message='the job to start')
    if state is S.RUNNING:
        assert ask(w.store.transition(job_id, S.WAITING, S.RUNNING))
    assert ask(w.store.cancel_job(job_id)).state is state.cancel_twin()
    wait_for(lambda: w.poller.polls_asked == 1, message='a poll to be asked for')
    assert w.scheduler.cancels == [('remote-1', w.layout.job(job_id))]
    assert w.poller.tracked == [(job_id, 'remote-1')] * 2
    assert job_of(w.store, job_id).state is state.cancel_twin(), 'the poller moves it on'


def test_a_cancel_that_fails_is_logged_and_left_to_the_poller(make_runner):
    w = make_runner()
    job_id = w.waiting_job()
    wait_for(lambda: w.poller.tracked, message='the job to start')
    w.scheduler.cancel_script.append(TemporaryResourceError('ssh: connection reset'))
    ask(w.store.cancel_job(job_id))
    wait_for(lambda: w.poller.polls_asked == 1, message='a poll to be asked for')
    assert log_of(w.store, job_id)[-1] == (
        'WARNING',
        'Stopping the job failed (ssh: connection reset); trying again.',
    )
    assert len(w.scheduler.cancels) == 1 and job_of(w.store, job_id).state is S.WAITING_CR


def test_a_cancel_for_a_job_not_being_cancelled_does_nothing(make_runner):
    w = make_runner()
    job_id = w.waiting_job()
    wait_for(lambda: w.poller.tracked, message='the job to start')
    ask(w.runner.cancel(job_id))
    assert w.scheduler.cancels == [] and w.poller.polls_asked == 0
    assert job_of(w.store, job_id).state is S.WAITING
    assert os.path.exists(w.layout.job(job_id).script)
