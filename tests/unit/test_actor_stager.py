"""StagerActor, staging in: success, refusals, cancel, shutdown, an unreachable resource."""

import json
import re
import socket
from pathlib import Path

import pytest

from cerise_actors.errors import PermanentResourceError, TemporaryResourceError
from cerise_actors.jobs.states import JobState as S

from ..fakes import Recorder
from ..helpers import wait_for
from ..workflows import FILE_ARRAY, UNKNOWN_STEP, WC
from .actor_fixtures import ask, job_of, log_of, messages, state_of, wait_state

STAGING_IN = 'Staging in: fetching the workflow and input files.'
CANNOT_REACH = 'Cannot reach the compute resource (connection lost); will try again.'
SHUTTING_DOWN = 'The service is shutting down; staging will resume when it starts again.'


def _file(url):
    return {'class': 'File', 'location': url}


def _two_files(w):
    return {'files': [_file(w.put_input('a.txt', 'aaa\n')), _file(w.put_input('b.txt', 'bbb\n'))]}


def test_stage_in_copies_the_inputs_and_the_job_waits_for_the_runner(stager_world):
    w = stager_world
    job_id = w.submit(WC, {'file': _file(w.put_input('data/hello.txt', 'hello\n'))})
    job = wait_state(w.store, job_id, S.WAITING)
    paths = w.layout.job(job_id)
    full = job_of(w.store, job_id, full=True)
    assert (job.remote_dir, job.cores, job.time_limit) == (paths.dir, 0, 0)
    assert full.workflow_content == WC.encode()
    staged = json.loads(full.staged_input_json)
    assert staged['file']['location'] == f'file://{paths.work}/input/1/hello.txt'
    assert Path(paths.work, 'input/1/hello.txt').read_text() == 'hello\n'
    assert json.loads(Path(paths.input).read_text()) == staged
    workflow = json.loads(Path(paths.workflow).read_text())
    assert workflow['steps']['s']['run'] == f'file://{w.layout.api_dir}/test/steps/test/wc.cwl'
    assert messages(w.store, job_id)[-3:] == [
        STAGING_IN,
        'Staged in: workflow with steps test/wc.cwl; 1 input file(s), 6 bytes sent.',
        'Waiting to start on the compute resource.',
    ]
    wait_for(lambda: w.done.calls == [()], message='the pool to be told')


@pytest.mark.parametrize(
    'workflow,inputs,expected',
    [
        (UNKNOWN_STEP, lambda w: {}, "^Cannot run this job: step 's'"),
        (
            WC,
            lambda w: {'file': _file('/etc/passwd')},
            "^Cannot run this job: input 'file': file:///etc/passwd: outside the file exchange",
        ),
        (
            WC,
            lambda w: {'file': _file(f'{w.exchange.client_url}/input/missing.txt')},
            "^Cannot run this job: input 'file': file://.*/input/missing.txt does not exist$",
        ),
    ],
    ids=['InvalidWorkflow', 'InvalidInput', 'missing file'],
)
def test_a_job_that_cannot_run_is_a_permanent_failure(stager_world, workflow, inputs, expected):
    w = stager_world
    job_id = w.submit(workflow, inputs(w))
    wait_state(w.store, job_id, S.PERMANENT_FAILURE)
    level, message = log_of(w.store, job_id)[-1]
    assert level == 'ERROR' and re.search(expected, message), message
    assert not Path(w.layout.job(job_id).workflow).exists()
    wait_for(lambda: w.done.calls == [()], message='the pool to be told')


def test_an_unavailable_http_source_is_a_temporary_failure(stager_world):
    with socket.socket() as closed:  # a loopback port nobody listens on
        closed.bind(('127.0.0.1', 0))
        port = closed.getsockname()[1]
    w = stager_world
    url = f'http://127.0.0.1:{port}/wf.cwl'
    job_id = w.submit(WC, workflow_url=url)
    wait_state(w.store, job_id, S.TEMPORARY_FAILURE)
    level, message = log_of(w.store, job_id)[-1]
    assert level == 'ERROR'
    assert message.startswith(f'An input is not available: {url}: cannot connect (')
    assert 'refused' in message


def test_a_cancel_while_a_file_is_copied_stops_staging_and_cancels_the_job(stager_world):
    w = stager_world
    job_id = w.submit(FILE_ARRAY, _two_files(w), start=False)
    w.fs.inject('put_stream', w.cancel_on_call(job_id), match='a.txt')
    ask(w.stager.stage_in(job_id))
    assert state_of(w.store, job_id) is S.CANCELLED
    assert messages(w.store, job_id)[-2:] == ['Cancellation requested.', 'Cancelled.']
    work = Path(w.layout.job(job_id).work)
    # the cancel is seen while a.txt is read: neither file is left, not even in part
    assert not (work / 'input/1/a.txt').exists() and not (work / 'input/2/b.txt').exists()
    assert list((work / 'input/1').iterdir()) == []
    assert not Path(w.layout.job(job_id).workflow).exists()
    assert w.done.calls == [()]


def test_a_cancel_after_the_last_file_still_cancels_the_job(stager_world):
    w = stager_world
    job_id = w.submit(WC, {'file': _file(w.put_input('x.txt', 'x'))}, start=False)
    w.fs.inject('put_stream', w.cancel_on_call(job_id), match='input.json')
    ask(w.stager.stage_in(job_id))
    assert state_of(w.store, job_id) is S.CANCELLED
    assert job_of(w.store, job_id).remote_dir is None, 'the staged fields are not kept'


def test_a_shutdown_puts_the_job_back_to_be_staged_at_the_next_start(stager_world):
    w = stager_world
    told = Recorder()
    ask(w.store.subscribe(S.SUBMITTED, told))
    job_id = w.submit(FILE_ARRAY, _two_files(w), start=False)
    w.fs.inject('put_stream', lambda path: w.shutting_down.set(), match='a.txt')
    ask(w.stager.stage_in(job_id))
    assert state_of(w.store, job_id) is S.SUBMITTED
    assert messages(w.store, job_id)[-2:] == [STAGING_IN, SHUTTING_DOWN]
    assert told.calls == [job_id], 'only its creation was published, not the put-back'

    ask(w.stager.stage_in(job_id))  # told again while shutting down: left alone
    assert state_of(w.store, job_id) is S.SUBMITTED
    assert messages(w.store, job_id)[-1] == SHUTTING_DOWN
    assert w.done.calls == [(), ()], 'the pool hears of both'


def test_a_job_taken_by_another_stager_or_cancelled_is_left_alone(stager_world):
    w = stager_world
    job_id = w.submit(WC, start=False)
    assert ask(w.store.cancel_job(job_id)).state is S.CANCELLED
    ask(w.stager.stage_in(job_id))
    assert state_of(w.store, job_id) is S.CANCELLED and w.fs.calls == []
    assert w.done.calls == [()]


def test_an_unreachable_resource_puts_the_job_back_and_hands_it_back_later(stager_world):
    w = stager_world
    job_id = w.submit(WC, {'file': _file(w.put_input('x.txt', 'x'))}, start=False)
    w.fs.inject('mkdir', TemporaryResourceError('connection lost'), match='/work')
    ask(w.stager.stage_in(job_id))
    assert state_of(w.store, job_id) is S.SUBMITTED
    assert log_of(w.store, job_id)[-1] == ('WARNING', CANNOT_REACH)
    assert len(w.poller.later) == 1

    ask(w.store.subscribe(S.SUBMITTED, w.stager.stage_in))  # the pool, as in system.py
    assert w.poller.run_later() == 1  # the poller's next round: store.republish
    wait_state(w.store, job_id, S.WAITING)
    assert messages(w.store, job_id).count(STAGING_IN) == 2


def test_an_unreachable_resource_while_a_cancel_came_cancels_the_job(stager_world):
    w = stager_world
    job_id = w.submit(WC, {'file': _file(w.put_input('x.txt', 'x'))}, start=False)

    def cancel_then_fail(path):
        ask(w.store.cancel_job(job_id))
        raise TemporaryResourceError('connection lost')

    w.fs.inject('mkdir', cancel_then_fail, match='/work')
    ask(w.stager.stage_in(job_id))
    assert state_of(w.store, job_id) is S.CANCELLED
    assert log_of(w.store, job_id)[-1] == ('ERROR', 'Cancelled.')
    assert w.poller.later == [], 'nothing to try again'


def test_a_permanent_resource_error_is_a_permanent_failure(stager_world):
    w = stager_world
    job_id = w.submit(WC, {'file': _file(w.put_input('x.txt', 'x'))}, start=False)
    w.fs.inject('mkdir', PermanentResourceError('permission denied'), match='/work')
    ask(w.stager.stage_in(job_id))
    assert state_of(w.store, job_id) is S.PERMANENT_FAILURE
    assert log_of(w.store, job_id)[-1] == ('ERROR', 'Staging in failed: permission denied')
    assert w.poller.later == []
