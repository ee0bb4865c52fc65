"""The warm runner on ssh + none, on the test bed: jobs run warm, as they run cold, and no fault costs one.

Issue 21, item 2. The service deploys its runner for the bare user (python3
and bash only) and keeps the deployed warm server running on the resource
over an SSH channel. A job ran warm when its run.sh runs the warm client and
its stderr lacks the client's cold note (the client's only other path); a
long job's step is seen to be a child of a fork of the server (its command
line is the server's). Killing the server, dropping the SSH connection and
restarting the service mid-job each lose no job and start none twice; under
Slurm no server is started.
"""

import contextlib
import dataclasses
import random
import re
import shlex
import subprocess
import sys

import pytest

from cerise_actors.staging.wheelhouse import find_folder

from .. import workflows as wf
from ..helpers import kill_all, wait_for
from .conftest import RemoteService
from .test_completion_watch import _sshd_of
from .test_remote_runner import JS_WORKFLOW, WHEELHOUSE

pytestmark = pytest.mark.remote  # needs the test bed (testbed/testbed.sh)

COLD_NOTE = 'the warm runner is not available'
SERVER = 'cerise_runner.warm_server'
CASES = [
    ('hostname', wf.HOSTNAME, {}),
    ('javascript', JS_WORKFLOW, {'name': 'warm'}),
    ('echo', wf.ECHO, {'text': 'hello warm'}),
    ('fail', wf.FAIL, {}),
    ('js-error', wf.js_step_input('undefinedThing + 1'), {}),
]


@pytest.fixture(scope='module')
def wheelhouse(testbed):
    """Wheels for the bare user's python3, in the wheelhouse the other remote tests use."""
    out = testbed.ssh('none', 'python3 -c "import sys; print(*sys.version_info[:2])"; uname -m')
    major, minor, machine = out.split()[:3]
    if find_folder(WHEELHOUSE, f'{major}.{minor}', machine) is None:
        command = [sys.executable, '-m', 'cerise_actors', 'wheelhouse', '--python']
        command += [f'{major}.{minor}', '--platform', machine, '--dest', str(WHEELHOUSE)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, f'{command}: {result.stdout}{result.stderr}'
    return WHEELHOUSE


@pytest.fixture(scope='module')
def warm(testbed, wheelhouse, tmp_path_factory):
    """A started service on ssh + none for the bare user, the runner deployed, its
    warm server ready; shared by this module's tests (one runner install)."""
    root = tmp_path_factory.mktemp('remote-warm')
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv('CERISE_WHEELHOUSE', str(wheelhouse))  # read at every start
        service = RemoteService(testbed, 'none', root, user=testbed.bare_user, cwl_runner=None)
        try:
            _start(service)
            yield service
        finally:
            service.cleanup()


def _start(service, warm_runner=True):
    jobs = dataclasses.replace(service.api_config.jobs, warm_runner=warm_runner)
    service.api_config = dataclasses.replace(service.api_config, jobs=jobs)
    service.start()
    if warm_runner:
        assert service.service.warm_runner.wait_ready(180), 'the warm server did not start'
    return service


@contextlib.contextmanager
def _cold(service):
    """The same service (same base, same installed runner) with `warm-runner: false`."""
    service.stop()
    wait_for(lambda: not _servers(service), 30, message='the server to leave with the service')
    _start(service, warm_runner=False)
    try:
        yield service
    finally:
        service.stop()
        _start(service)


def _on_resource(service, command: str) -> str:
    return service.testbed.ssh('none', command, user=service.testbed.bare_user)


def _job_file(service, job_id, name) -> str:
    return _on_resource(service, f'cat {service.base}/jobs/{job_id}/{name}')


def _servers(service) -> list:
    """Command lines of warm servers of this service's base on the resource."""
    return service.remote_processes(f'{SERVER} --socket {service.base}/').splitlines()


def _outcome(client, job_id):
    """What a user gets from a job: its state and outputs (paths differ between jobs)."""
    job = client.wait_final(job_id, timeout=300)
    outputs = {}
    for name, value in (job.get('output') or {}).items():
        if isinstance(value, dict) and value.get('class') == 'File':
            outputs[name] = re.sub(r'/\S+', '<path>', client.output_text(job, name))
        else:
            outputs[name] = value
    return job['state'], outputs


def _run_all(service):
    client = service.client
    jobs = {name: client.submit(workflow, inputs)['id'] for name, workflow, inputs in CASES}
    return jobs, {name: _outcome(client, job_id) for name, job_id in jobs.items()}


def _ran_warm(service, job_id) -> bool:
    return 'warm_client.py' in _job_file(service, job_id, 'run.sh') and COLD_NOTE not in (
        _job_file(service, job_id, 'stderr.txt')
    )


def _step_parent(service, seconds) -> str:
    """The command line of the process that started the job's `sleep SECONDS` step."""
    pattern = shlex.quote(f'^sleep {seconds}$')
    ppid = '$(ps -o ppid= -p "$p" | tr -d " ")'
    command = f'p=$(pgrep -u "$(id -u)" -f {pattern} | head -1) && tr "\\0" " " </proc/{ppid}/cmdline || true'
    return wait_for(
        lambda: _on_resource(service, command), timeout=60, message=f'the step sleep {seconds}'
    )


def _ran_once(client, job_id) -> None:
    log = client.log(job_id)
    assert log.count('Started on the compute resource') == 1, log


def test_jobs_run_warm_and_give_exactly_what_they_give_cold(warm):
    jobs, warm_outcomes = _run_all(warm)
    assert warm_outcomes['hostname'][0] == 'Success', warm.client.log(jobs['hostname'])
    assert warm_outcomes['javascript'] == ('Success', {'output': 'Hello WARM, 42\n'})
    assert warm_outcomes['fail'][0] == 'PermanentFailure'
    for name, job_id in jobs.items():
        assert _ran_warm(warm, job_id), name
        assert 'forked from the warm runner' in warm.client.log(job_id)
    with _cold(warm) as cold:
        assert cold.service.warm_runner is None
        cold_jobs, cold_outcomes = _run_all(cold)
        for name, job_id in cold_jobs.items():
            assert 'warm_client.py' not in _job_file(cold, job_id, 'run.sh'), name
        assert not _servers(cold), 'warm-runner: false starts none'
    assert warm_outcomes == cold_outcomes


def test_a_warm_jobs_step_is_started_by_a_fork_of_the_server_and_cancels(warm):
    client = warm.client
    seconds = random.randint(3000, 3999)
    job_id = client.submit(wf.SLEEP, {'seconds': seconds})['id']
    client.wait_state(job_id, 'Running', timeout=120)
    parent = _step_parent(warm, seconds)
    assert f'{SERVER} --socket {warm.base}/' in parent, f'not forked from the server: {parent}'
    assert client.cancel(job_id)[0] == 200
    assert client.wait_final(job_id, timeout=60)['state'] == 'Cancelled'
    wait_for(
        lambda: not warm.remote_processes(f'sleep {seconds}').strip(),
        timeout=30,
        message='the cancelled step to be gone',
    )


def test_a_killed_server_costs_no_job_and_comes_back(warm):
    client, keeper = warm.client, warm.service.warm_runner
    starts = keeper.starts
    seconds = random.randint(5, 9)
    running = client.submit(wf.SLEEP, {'seconds': seconds})['id']
    client.wait_state(running, 'Running', timeout=120)
    assert warm.base in _step_parent(warm, seconds), 'it runs warm'
    _on_resource(warm, f'kill -9 {keeper.pid}')
    meanwhile = [client.submit(wf.HOSTNAME)['id'] for _ in range(2)]
    for job_id in [running, *meanwhile]:
        assert client.wait_final(job_id, timeout=120)['state'] == 'Success', client.log(job_id)
        _ran_once(client, job_id)
    assert _ran_warm(warm, running), 'the job forked before the kill ran on'
    wait_for(lambda: keeper.starts > starts and keeper.wait_ready(0), 180, message='a new server')
    assert len(_servers(warm)) == 1, 'one server per resource'
    later = client.submit(wf.HOSTNAME)['id']
    assert client.wait_final(later, timeout=120)['state'] == 'Success'
    assert _ran_warm(warm, later)


def test_a_dropped_connection_costs_no_job_and_the_server_comes_back(warm):
    client, keeper = warm.client, warm.service.warm_runner
    starts = keeper.starts
    seconds = random.sample(range(4, 10), 2)
    jobs = [client.submit(wf.SLEEP, {'seconds': n})['id'] for n in seconds]
    for job_id, n in zip(jobs, seconds):
        client.wait_state(job_id, 'Running', timeout=120)
        assert warm.base in _step_parent(warm, n), 'it runs warm'
    sshd = _sshd_of(keeper.pid, warm.testbed.bare_user)
    assert sshd, 'the server runs under its own sshd'
    kill_all(sshd)  # this service's connection only: the test bed runs here
    for job_id in jobs:
        assert client.wait_final(job_id, timeout=120)['state'] == 'Success', client.log(job_id)
        _ran_once(client, job_id)
        assert _ran_warm(warm, job_id)
    wait_for(lambda: keeper.starts > starts and keeper.wait_ready(0), 180, message='a new server')
    wait_for(lambda: len(_servers(warm)) == 1, 30, message='the old server gone')


def test_a_restarted_service_finishes_its_warm_jobs_once(warm):
    client = warm.client
    seconds = random.randint(5, 9)
    job_id = client.submit(wf.SLEEP, {'seconds': seconds})['id']
    client.wait_state(job_id, 'Running', timeout=120)
    assert warm.base in _step_parent(warm, seconds), 'it runs warm'
    warm.stop()
    wait_for(lambda: not _servers(warm), timeout=30, message='the server to leave with the service')
    _start(warm)
    client = warm.client
    assert client.wait_final(job_id, timeout=120)['state'] == 'Success', client.log(job_id)
    _ran_once(client, job_id)
    assert _ran_warm(warm, job_id)
    assert len(_servers(warm)) == 1


def test_slurm_starts_no_warm_server(warm, tmp_path):
    """The same user and base with Slurm: the jobs run on compute nodes, so no server."""
    warm.stop()
    slurm = RemoteService(warm.testbed, 'slurm', tmp_path, user=warm.testbed.bare_user)
    slurm.base = warm.base  # the runner is installed there already
    slurm.api_config = warm.testbed.api_config(
        'slurm', warm.base, user=warm.testbed.bare_user, cwl_runner=None
    )
    try:
        slurm.start()
        assert slurm.service.warm_runner is None
        job_id = slurm.client.submit(wf.HOSTNAME)['id']
        assert slurm.client.wait_final(job_id, timeout=300)['state'] == 'Success'
        run_sh = _job_file(slurm, job_id, 'run.sh')
        assert '#SBATCH' in run_sh and 'warm_client.py' not in run_sh
        assert not _servers(slurm)
    finally:
        slurm.stop()
        _start(warm)
