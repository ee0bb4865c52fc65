"""The core end-to-end suite on every remote resource: ssh + none, slurm, torque, gridengine.

Files go over SFTP, jobs over SSH, and the CWL runner is the one found on
the remote side (cwltool on the test users' PATH).
"""

import random
import socket

import pytest

from .. import workflows as wf
from ..helpers import wait_for
from .conftest import HOLD_OPTION

pytestmark = pytest.mark.remote  # needs the test bed (testbed/testbed.sh)


def test_job_without_inputs(remote):
    client = remote.client
    done = client.wait_final(client.submit(wf.HOSTNAME)['id'])
    assert done['state'] == 'Success', client.log(done['id'])
    assert client.output_text(done, 'output').strip() == socket.gethostname()


def test_inputs_secondary_files_arrays_defaults_and_project_files(remote):
    client = remote.client
    text = client.put_input('t', 'text.txt', 'one two three\n')
    second = client.put_input('t', 'text.txt.2nd', 'xy')
    jobs = {
        'wc': client.submit(wf.WC, {'file': {'class': 'File', 'location': text}}),
        'sec': client.submit(
            wf.SECONDARY,
            {
                'file': {
                    'class': 'File',
                    'location': text,
                    'secondaryFiles': [{'class': 'File', 'location': second}],
                }
            },
        ),
        'arr': client.submit(
            wf.FILE_ARRAY,
            {'files': [{'class': 'File', 'location': text}, {'class': 'File', 'location': second}]},
        ),
        'greet': client.submit(wf.GREET, {'name': 'remote'}),
        'heading': client.submit(wf.HEADING, {'in_text': {'class': 'File', 'location': text}}),
        'echo': client.submit(wf.ECHO, {'text': 'a $(touch /tmp/x) `id` ; b'}),
    }
    done = {name: client.wait_final(job['id'], timeout=300) for name, job in jobs.items()}
    for name, job in done.items():
        assert job['state'] == 'Success', (name, client.log(job['id'])[-2500:])
    assert client.output_text(done['wc'], 'output').split()[:3] == ['1', '3', '14']
    assert client.output_text(done['sec'], 'output').split('\n')[:2] == [
        '14 text.txt',
        '2 text.txt.2nd',
    ]
    assert client.output_text(done['arr'], 'output') == 'one two three\nxy'
    assert client.output_text(done['greet'], 'output') == 'Hello remote\n'
    assert client.output_text(done['heading'], 'out_text') == (
        '=== Test heading ===\none two three\n'
    )
    assert client.output_text(done['echo'], 'output') == 'a $(touch /tmp/x) `id` ; b\n'


def test_failing_step_and_refused_workflow(remote):
    client = remote.client
    failing = client.submit(wf.FAIL)
    refused = client.submit(wf.INLINE_TOOL)
    done = client.wait_final(failing['id'], timeout=300)
    assert done['state'] == 'PermanentFailure'
    assert 'this step always fails' in client.log(failing['id'])
    assert client.wait_final(refused['id'])['state'] == 'PermanentFailure'


def test_cancel_while_running_and_delete(remote):
    client = remote.client
    seconds = random.randint(3000, 3999)
    job = client.submit(wf.SLEEP, {'seconds': seconds})
    client.wait_state(job['id'], 'Running', timeout=300)
    wait_for(
        lambda: f'sleep {seconds}' in remote.remote_processes(f'sleep {seconds}'),
        timeout=120,
        message='the step to start',
    )
    client.cancel(job['id'])
    assert client.wait_final(job['id'], timeout=120)['state'] == 'Cancelled'
    wait_for(
        lambda: f'sleep {seconds}' not in remote.remote_processes(f'sleep {seconds}'),
        timeout=60,
        message='the remote process to stop',
    )
    assert client.delete(job['id'])[0] == 204
    job_dir = f'{remote.base}/jobs/{job["id"]}'
    wait_for(
        lambda: (
            'gone'
            in remote.testbed.ssh(remote.scheduler, f'test -e {job_dir} && echo there || echo gone')
        ),
        message='the remote job folder to be removed',
    )


def test_cancel_while_queued(make_remote, scheduler):
    if scheduler == 'none':
        service = make_remote('none', max_running=1).start()
        blocker = service.client.submit(wf.SLEEP, {'seconds': 600})
        service.client.wait_state(blocker['id'], 'Running', timeout=120)
    else:
        service = make_remote(scheduler, extra_options=HOLD_OPTION[scheduler]).start()
    client = service.client
    queued = client.submit(wf.HOSTNAME)
    wait_for(
        lambda: (
            'Started on the compute resource' in client.log(queued['id'])
            or 'free slot' in client.log(queued['id'])
        ),
        timeout=120,
        message='queued',
    )
    assert client.state(queued['id']) == 'Waiting'
    client.cancel(queued['id'])
    assert client.wait_final(queued['id'], timeout=120)['state'] == 'Cancelled'
    if scheduler == 'none':
        client.cancel(blocker['id'])
        assert client.wait_final(blocker['id'], timeout=120)['state'] == 'Cancelled'


def test_delete_finished_job(remote):
    client = remote.client
    done = client.wait_final(client.submit(wf.HOSTNAME)['id'], timeout=300)
    assert client.delete(done['id'])[0] == 204
    assert client.job(done['id']) is None


#: how to read a submitted job's node count and wall time, per scheduler
_JOB_INFO = {
    'slurm': ('scontrol show job {id}', ['NumNodes=1', 'TimeLimit=00:10:00']),
    'torque': ('scontrol show job {id}', ['NumNodes=1', 'TimeLimit=00:10:00']),
    'gridengine': ('qstat -j {id}', ['h_rt=600']),
}


@pytest.mark.parametrize('scheduler', sorted(_JOB_INFO))
def test_submitted_job_asks_for_the_cores_and_time_limit(remote, scheduler):
    client = remote.client
    job = client.submit(wf.SLEEP_WITH_RESOURCES, {'seconds': 60})
    wait_for(
        lambda: 'Started on the compute resource' in client.log(job['id']),
        timeout=120,
        message='submission',
    )
    remote_id = client.log(job['id']).split('(id ')[1].split(')')[0]
    command, expected = _JOB_INFO[scheduler]
    info = remote.testbed.ssh(scheduler, command.format(id=remote_id))
    for words in expected:
        assert words in info, info
    script = remote.testbed.ssh(scheduler, f'cat {remote.base}/jobs/{job["id"]}/run.sh')
    assert {'slurm': '--nodes=1', 'torque': 'nodes=1', 'gridengine': 'h_rt=00:10:00'}[
        scheduler
    ] in script
    client.cancel(job['id'])
    assert client.wait_final(job['id'], timeout=120)['state'] == 'Cancelled'


@pytest.mark.parametrize('scheduler', ['slurm', 'gridengine', 'none'])
def test_time_limit_is_a_permanent_failure_everywhere(remote, scheduler):
    client = remote.client
    job = client.submit(wf.SLEEP_WITH_TEN_SECONDS, {'seconds': 120})
    done = client.wait_final(job['id'], timeout=180)
    assert done['state'] == 'PermanentFailure', client.log(job['id'])
    assert 'time limit' in client.log(job['id'])
