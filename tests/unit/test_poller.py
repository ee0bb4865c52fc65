"""The poller moves jobs by what the scheduler reports (real store, scripted scheduler)."""

import subprocess
from pathlib import Path

import pytest

from cerise_actors.actors import poller as poller_module
from cerise_actors.actors.poller import PollerActor
from cerise_actors.errors import TemporaryResourceError
from cerise_actors.jobs.states import JobState as S
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.store.actor import LEFT_RESOURCE

from ..fakes import Recorder, ScriptedScheduler
from ..helpers import wait_for
from .actor_fixtures import ask, messages, new_job, state_of


@pytest.fixture
def scheduler():
    return ScriptedScheduler()


@pytest.fixture
def ended(store):
    """Stands in for the RunnerActor: hears, through the store, of jobs that ended."""
    recorder = Recorder()
    ask(store.subscribe(LEFT_RESOURCE, recorder))
    return recorder


@pytest.fixture
def layout(tmp_path):
    return ResourceLayout(str(tmp_path))


@pytest.fixture
def make_poller(store, scheduler, layout):
    def make(refresh=3600.0, **options):
        return PollerActor.start(store, scheduler, layout, refresh, **options).proxy()

    return make


@pytest.fixture
def poller(make_poller):
    """A poller whose own timer never fires during a test (refresh of an hour)."""
    return make_poller()


def _tracked_job(store, poller):
    """A job in WAITING, as the runner leaves it after starting it."""
    job_id = new_job(store, S.STAGING_IN, S.WAITING)
    ask(poller.track(job_id, '1:1'))
    return job_id


def _round(scheduler, poller, answer):
    """One poll round in which the scheduler says `answer` about every job."""
    scheduler.answer = answer
    ask(poller.tick())


def test_a_job_that_ended_while_waiting_is_finished_with_its_exit_code(
    store, scheduler, ended, poller
):
    job_id = _tracked_job(store, poller)
    _round(scheduler, poller, 'done')
    job = ask(store.get_job(job_id))
    assert (job.state, job.exit_code) == (S.FINISHED, 0)
    assert ended.calls == [job_id] and ask(poller.tracked_count()) == 0


def test_a_cancel_that_came_first_wins_over_the_guess(store, scheduler, ended, poller):
    job_id = _tracked_job(store, poller)
    _round(scheduler, poller, 'running')
    assert state_of(store, job_id) is S.RUNNING
    assert ask(store.cancel_job(job_id)).state is S.RUNNING_CR
    _round(scheduler, poller, 'done')  # it stopped
    job = ask(store.get_job(job_id))
    assert job.state is S.CANCELLED and job.exit_code is None
    assert ended.calls == [job_id]


def test_a_job_gone_without_an_exit_code_is_a_system_error(store, scheduler, poller):
    job_id = _tracked_job(store, poller)
    _round(scheduler, poller, 'gone')
    assert state_of(store, job_id) is S.SYSTEM_ERROR


def test_a_job_seen_running_and_then_done_is_finished(store, scheduler, poller):
    job_id = _tracked_job(store, poller)
    _round(scheduler, poller, 'waiting')
    assert state_of(store, job_id) is S.WAITING
    _round(scheduler, poller, 'running')
    _round(scheduler, poller, 'running')
    scheduler.exit_code = 3
    _round(scheduler, poller, 'done')
    job = ask(store.get_job(job_id))
    assert (job.state, job.exit_code) == (S.FINISHED, 3)
    assert messages(store, job_id)[-2:] == [
        'Running on the compute resource.',
        'The workflow runner has stopped; collecting its results.',
    ]


def test_a_job_found_running_after_a_restart_that_ended_is_finished(store, scheduler, poller):
    job_id = new_job(store, S.STAGING_IN, S.WAITING, S.RUNNING)  # the poller did not see it start
    ask(poller.track(job_id, '1:1'))
    _round(scheduler, poller, 'done')
    assert state_of(store, job_id) is S.FINISHED
    assert ask(poller.tracked_count()) == 0


def test_a_job_that_left_the_resource_or_is_unknown_is_no_longer_tracked(store, scheduler, poller):
    job_id = _tracked_job(store, poller)
    assert ask(store.transition(job_id, S.WAITING, S.SYSTEM_ERROR, notify=False))
    ask(poller.track('no-such-job', '2:2'))
    _round(scheduler, poller, 'running')
    assert ask(poller.tracked_count()) == 0
    assert state_of(store, job_id) is S.SYSTEM_ERROR


@pytest.mark.parametrize('answer', ['gone', 'done'])
def test_a_cancelled_job_that_stopped_is_cancelled(store, scheduler, ended, poller, answer):
    job_id = _tracked_job(store, poller)
    assert ask(store.cancel_job(job_id)).state is S.WAITING_CR
    _round(scheduler, poller, answer)
    assert state_of(store, job_id) is S.CANCELLED
    assert messages(store, job_id)[-1] == 'Cancelled; the job has stopped.'
    assert ended.calls == [job_id] and ask(poller.tracked_count()) == 0


# told: once by the move to RUNNING_CR, then again at each round once RECANCEL_AFTER passed
@pytest.mark.parametrize('recancel_after,told', [(3600, 1), (-1, 3)])
def test_a_cancel_that_does_not_stop_the_job_is_sent_again(
    store, scheduler, poller, monkeypatch, recancel_after, told
):
    monkeypatch.setattr(poller_module, 'RECANCEL_AFTER', recancel_after)
    runner_cancel = Recorder()
    ask(store.subscribe(S.RUNNING_CR, runner_cancel))
    job_id = _tracked_job(store, poller)
    ask(store.cancel_job(job_id))
    _round(scheduler, poller, 'running')  # started after all: WAITING_CR -> RUNNING_CR
    assert state_of(store, job_id) is S.RUNNING_CR
    _round(scheduler, poller, 'running')
    assert runner_cancel.calls == [job_id] * told


def test_a_lost_resource_never_fails_a_job_and_its_log_says_so_once(store, scheduler, make_poller):
    poller = make_poller(contact_timeout=0)
    job_id = _tracked_job(store, poller)
    lost = TemporaryResourceError('ssh: connection refused')
    for _ in range(3):
        _round(scheduler, poller, lost)
    assert state_of(store, job_id) is S.WAITING and ask(poller.tracked_count()) == 1
    assert [m for m in messages(store, job_id) if 'No contact' in m] == [
        'No contact with the compute resource for 0 s (ssh: connection refused); the job '
        'keeps its state and is followed again when contact returns.'
    ]
    _round(scheduler, poller, 'running')
    assert messages(store, job_id)[-2:] == [
        'Contact with the compute resource restored.',
        'Running on the compute resource.',
    ]
    assert scheduler.polls == 4


def test_retries_asked_for_run_at_the_next_round_even_with_nothing_tracked(poller, scheduler):
    later = Recorder()

    def broken():
        raise RuntimeError('the runner is gone')

    for callback in (broken, later):
        ask(poller.call_later(callback))
    ask(poller.tick())
    assert later.calls == [()] and scheduler.polls == 0
    ask(poller.tick())
    assert later.calls == [()], 'each retry runs once'


def test_poll_now_wakes_the_timer(store, scheduler, poller):
    job_id = _tracked_job(store, poller)
    poller.poll_now()
    wait_for(lambda: state_of(store, job_id) is S.RUNNING, 30, message='a round')
    assert scheduler.polls == 1


def test_the_timer_polls_every_refresh_seconds(store, scheduler, make_poller):
    poller = make_poller(refresh=0.05)
    later = Recorder()
    ask(poller.call_later(later))
    wait_for(lambda: later.calls == [()], 30, message='the retry to run')
    _tracked_job(store, poller)
    wait_for(lambda: scheduler.polls >= 2, 30, message='two rounds')


@pytest.mark.parametrize('by_pid', [False, True])
def test_a_local_job_that_ends_is_polled_at_once(store, scheduler, make_poller, layout, by_pid):
    """With local exit watching the timer wakes when the job script's process
    ends (pidfd) or its exit-code file appears, long before `refresh`."""
    scheduler.ids_are_pids = by_pid
    scheduler.answer = 'done'
    poller = make_poller(watch_local_exits=True)
    job_id = new_job(store, S.STAGING_IN, S.WAITING)
    process = subprocess.Popen(['sleep', '60'])
    try:
        ask(poller.track(job_id, f'{process.pid}:0' if by_pid else 'batch-7'))
        if by_pid:
            process.kill()
        else:
            Path(layout.job(job_id).dir).mkdir(parents=True)
            Path(layout.job(job_id).exit_code).write_text('0\n')
        wait_for(lambda: state_of(store, job_id) is S.FINISHED, 30, message='the end seen')
    finally:
        process.kill()
        process.wait()
    assert scheduler.polls == 1
