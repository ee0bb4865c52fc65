"""StagerActor, staging out and deleting: the store tells it of FINISHED and
deletable jobs (wired as in app/system.py)."""

import json
from pathlib import Path

import pytest

from cerise_actors.errors import InvalidOutput, PermanentResourceError, TemporaryResourceError
from cerise_actors.jobs.states import JobState as S

from ..helpers import wait_for
from .actor_fixtures import ask, job_of, log_of, messages, new_job, wait_state

FAILED_LOG = (
    'INFO /usr/lib/python3/cwltool/__main__.py 3.1\n'
    "INFO Resolved 'workflow.cwl' to 'file:///r/workflow.cwl'\n"
    'ERROR [job s] Job error: wc: no such file\n'
    'WARNING Final process status is permanentFail\n'
)
SHUTTING_DOWN = 'The service is shutting down; staging will resume when it starts again.'


# --- staging out -----------------------------------------------------------
def test_stage_out_publishes_the_outputs_and_the_job_succeeds(stager_world):
    w = stager_world
    job_id = w.finished_job({'output.txt': '3 words\n'})
    job = wait_state(w.store, job_id, S.SUCCESS)
    assert job.output == {
        'output.txt': {
            'class': 'File',
            'location': f'{w.exchange.output_url(job_id)}/output.txt',
            'basename': 'output.txt',
        }
    }
    assert (w.exchange.output_dir(job_id) / 'output.txt').read_text() == '3 words\n'
    assert messages(w.store, job_id)[-3:] == [
        'Staging out: collecting the results.',
        f"The workflow runner's whole log: {w.exchange.output_url(job_id)}/cerise-runner.log",
        'Success: 1 output file(s) published.',
    ]
    wait_for(lambda: w.done.calls == [()], message='the pool to be told')


def test_a_failed_workflow_publishes_what_it_made_and_shows_the_runner_log(stager_world):
    w = stager_world
    job_id = w.finished_job({'partial.txt': 'half'}, stderr=FAILED_LOG, exit_code=1)
    wait_state(w.store, job_id, S.PERMANENT_FAILURE)
    assert log_of(w.store, job_id)[-3:] == [
        (
            'WARNING',
            "Last lines of the workflow runner's log:\n"
            'ERROR [job s] Job error: wc: no such file\n'
            'WARNING Final process status is permanentFail',
        ),
        (
            'INFO',
            f"The workflow runner's whole log: {w.exchange.output_url(job_id)}/cerise-runner.log",
        ),
        (
            'ERROR',
            'The workflow failed: the workflow runner reported permanentFail. '
            '1 output file(s) it produced were published.',
        ),
    ]
    assert (w.exchange.output_dir(job_id) / 'partial.txt').read_text() == 'half'


def test_a_runner_that_left_no_output_is_a_system_error(stager_world):
    w = stager_world
    job_id = new_job(w.store, S.STAGING_IN, S.WAITING)
    Path(w.layout.job(job_id).dir).mkdir(parents=True)  # no stdout.txt, no stderr.txt
    assert ask(w.store.transition(job_id, S.WAITING, S.FINISHED, exit_code=137))
    job = wait_state(w.store, job_id, S.SYSTEM_ERROR)
    assert job.output_json is None
    assert messages(w.store, job_id)[-1] == (
        'The workflow failed: the workflow runner produced no usable result (exit code 137).'
    )


def test_an_unreachable_resource_puts_the_job_back_and_hands_it_back_later(stager_world):
    w = stager_world
    lost = TemporaryResourceError('connection lost')
    job_id = w.finished_job({'output.txt': 'x'}, faults=[('open_read', lost, 'stdout.txt')])
    wait_for(lambda: w.poller.later, message='a retry to be asked for')
    assert job_of(w.store, job_id).state is S.FINISHED
    assert log_of(w.store, job_id)[-1] == (
        'WARNING',
        'Cannot reach the compute resource (connection lost); will try again.',
    )
    assert w.poller.run_later() == 1  # the next round: the store tells FINISHED again
    wait_state(w.store, job_id, S.SUCCESS)
    assert messages(w.store, job_id).count('Staging out: collecting the results.') == 2


def test_a_permanent_resource_error_while_staging_out_is_a_permanent_failure(stager_world):
    w = stager_world
    gone = PermanentResourceError('no such file')
    job_id = w.finished_job({'output.txt': 'x'}, faults=[('open_read', gone, 'output.txt')])
    wait_state(w.store, job_id, S.PERMANENT_FAILURE)
    assert log_of(w.store, job_id)[-1] == ('ERROR', 'Staging out failed: no such file')
    assert w.poller.later == []


@pytest.mark.parametrize('why', ['cancel', 'shutdown'])
def test_staging_out_stops_between_files(stager_world, why):
    w = stager_world

    def fault(job_id):
        if why == 'cancel':
            return w.cancel_on_call(job_id)
        return lambda path: w.shutting_down.set()

    job_id = w.finished_job({'a.txt': 'a', 'b.txt': 'b'}, faults=[('open_read', fault, 'a.txt')])
    expected = S.CANCELLED if why == 'cancel' else S.FINISHED
    wait_for(lambda: w.done.calls == [()], message='the stager to be done')
    assert job_of(w.store, job_id).state is expected
    assert messages(w.store, job_id)[-1] == ('Cancelled.' if why == 'cancel' else SHUTTING_DOWN)
    published = w.exchange.output_dir(job_id)
    assert (published / 'a.txt').exists() and not (published / 'b.txt').exists()


def test_a_cancel_after_the_last_output_still_cancels_the_job(stager_world):
    w = stager_world
    job_id = w.finished_job({'a.txt': 'a'}, faults=[('open_read', w.cancel_on_call, 'a.txt')])
    job = wait_state(w.store, job_id, S.CANCELLED)
    assert job.output_json is None


def test_an_unusable_output_while_staging_out_is_a_system_error(stager_world):
    w = stager_world
    bad = InvalidOutput("output 'x': a File without a location")
    job_id = w.finished_job({'a.txt': 'a'}, faults=[('open_read', bad, 'stdout.txt')])
    wait_state(w.store, job_id, S.SYSTEM_ERROR)
    assert log_of(w.store, job_id)[-1] == (
        'ERROR',
        "Staging out failed: output 'x': a File without a location",
    )


def test_a_finished_job_is_left_alone_while_shutting_down(stager_world):
    w = stager_world
    w.shutting_down.set()
    job_id = w.finished_job({'a.txt': 'a'})
    wait_for(lambda: w.done.calls == [()], message='the stager to be done')
    assert job_of(w.store, job_id).state is S.FINISHED
    assert not w.exchange.output_dir(job_id).exists()


# --- deleting --------------------------------------------------------------
def _deletable(w):
    """A submitted job with files on the resource; deleting it cancels it at once."""
    job_id = new_job(w.store)
    Path(w.layout.job(job_id).work).mkdir(parents=True)
    return job_id


def test_deleting_a_final_job_removes_its_files_then_its_record(stager_world):
    w = stager_world
    job_id = _deletable(w)
    assert ask(w.store.delete_job(job_id))
    wait_for(lambda: job_of(w.store, job_id) is None, message='the record to be removed')
    assert w.cleaned == [job_id]
    assert not Path(w.layout.job(job_id).dir).exists()
    assert w.done.calls == [()]


def test_files_that_cannot_be_removed_yet_are_tried_again_later(stager_world):
    w = stager_world
    job_id = _deletable(w)
    w.fs.inject('remove', TemporaryResourceError('connection lost'), match=job_id)
    assert ask(w.store.delete_job(job_id))
    wait_for(lambda: w.poller.later, message='a retry to be asked for')
    job = job_of(w.store, job_id)
    assert job.delete_requested and job.state is S.CANCELLED, 'kept, hidden'
    assert ask(w.store.get_job(job_id)) is None
    assert Path(w.layout.job(job_id).dir).exists()

    assert w.poller.run_later() == 1  # the store tells the cleaner again
    wait_for(lambda: job_of(w.store, job_id) is None, message='the record to be removed')
    assert w.cleaned == [job_id, job_id]
    assert not Path(w.layout.job(job_id).dir).exists()


def test_a_permanent_clean_up_error_still_removes_the_record(stager_world):
    w = stager_world
    job_id = _deletable(w)
    w.fs.inject('remove', PermanentResourceError('permission denied'), match=job_id)
    assert ask(w.store.delete_job(job_id))
    wait_for(lambda: job_of(w.store, job_id) is None, message='the record to be removed')
    assert Path(w.layout.job(job_id).dir).exists() and w.poller.later == []


def test_only_final_jobs_whose_deletion_was_asked_are_removed(stager_world):
    w = stager_world
    kept = _deletable(w)  # not asked to be deleted
    busy = new_job(w.store, S.STAGING_IN)
    assert ask(w.store.delete_job(busy))  # -> STAGING_IN_CR, not final yet
    for job_id in (kept, busy, 'no-such-job'):
        ask(w.stager.delete(job_id))
    assert w.cleaned == []
    assert job_of(w.store, kept) is not None and job_of(w.store, busy) is not None
    assert json.loads(job_of(w.store, kept).input_json) == {}
