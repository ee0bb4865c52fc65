"""A resource whose python3 is too old runs jobs once the config says where a newer one is.

Issue 22's "done when": the test bed's `cerise-rhel` user looks like a RHEL 9
account (its python3 is 3.9; `module load python/3.11`, a shell function in
its ~/.bashrc, puts 3.11 first on the PATH). On ssh + none and on Slurm:
without settings the service stops at start with the message that names
`jobs.prelude` and `jobs.python`; with `prelude: module load python/3.11`,
and with `python:` the full path of 3.11, the service deploys its runner with
that Python and the hostname example and a JavaScript workflow run to Success.
"""

import dataclasses
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from cerise_actors.errors import ApiInstallError
from cerise_actors.staging.wheelhouse import find_folder

from .. import workflows as wf
from .conftest import RemoteService
from .test_remote_runner import JS_WORKFLOW

pytestmark = pytest.mark.remote  # needs the test bed (testbed/testbed.sh)

WHEELHOUSE = Path('/tmp/cerise-wheelhouse')
PRELUDE = ('module load python/3.11',)


@pytest.fixture(scope='module')
def rhel(testbed):
    """The RHEL-9-like user of the test bed, checked to be what it claims."""
    user = testbed.env.get('CERISE_TESTBED_RHEL_USER')
    if not user:
        message = (
            'the test bed has no RHEL-9-like user: run `testbed/testbed.sh rhel-user` '
            '(or `testbed.sh start`) as root'
        )
        if os.environ.get('CI'):
            pytest.fail(message)
        pytest.skip(message)
    said = testbed.ssh('none', 'python3 -V; module load python/3.11 && python3 -V', user=user)
    assert said.split() == ['Python', '3.9.18', 'Python', '3.11.7'], said
    return user


@pytest.fixture(scope='module')
def wheelhouse(testbed):
    """Wheels for Python 3.11 on x86_64, in the wheelhouse the other remote tests use."""
    if find_folder(WHEELHOUSE, '3.11', 'x86_64') is None:
        command = [sys.executable, '-m', 'cerise_actors', 'wheelhouse', '--python', '3.11']
        command += ['--platform', 'x86_64', '--dest', str(WHEELHOUSE)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, f'{command}: {result.stdout}{result.stderr}'
    return WHEELHOUSE


def rhel_service(testbed, rhel, wheelhouse, scheduler, root, monkeypatch, **settings):
    """A service (not started) whose resource is the RHEL user, with `settings`
    (prelude, python) in its compute-resource.jobs."""
    monkeypatch.setenv('CERISE_WHEELHOUSE', str(wheelhouse))
    service = RemoteService(testbed, scheduler, root, user=rhel, cwl_runner=None)
    api = service.api_config
    service.api_config = dataclasses.replace(api, jobs=dataclasses.replace(api.jobs, **settings))
    return service


@pytest.mark.parametrize('scheduler', ['none', 'slurm'])
def test_without_settings_the_service_stops_naming_them(
    testbed, rhel, wheelhouse, scheduler, tmp_path, monkeypatch
):
    service = rhel_service(testbed, rhel, wheelhouse, scheduler, tmp_path, monkeypatch)
    try:
        with pytest.raises(ApiInstallError) as raised:
            service.start()
        service._context = None  # it never started
    finally:
        service.cleanup()
    assert str(raised.value) == (
        'the compute resource has Python 3.9.18 as python3; the CWL runner needs Python '
        '3.10 or newer there: name one with compute-resource.jobs.prelude (e.g. '
        '`prelude: module load python/3.11`) or compute-resource.jobs.python (e.g. '
        '`python: /opt/python/3.11/bin/python3.11`)'
    )


@pytest.mark.parametrize('scheduler', ['none', 'slurm'])
@pytest.mark.parametrize('how', ['prelude', 'python'])
def test_a_module_or_a_full_path_runs_jobs_to_success(
    testbed, rhel, wheelhouse, scheduler, how, tmp_path, monkeypatch
):
    full_path = testbed.env['CERISE_TESTBED_RHEL_PYTHON']
    settings = {'prelude': PRELUDE} if how == 'prelude' else {'python': full_path}
    service = rhel_service(testbed, rhel, wheelhouse, scheduler, tmp_path, monkeypatch, **settings)
    try:
        service.start()
        client = service.client
        jobs = {
            'hostname': client.submit(wf.HOSTNAME),
            'js': client.submit(JS_WORKFLOW, {'name': 'rhel'}),
        }
        done = {name: client.wait_final(job['id'], timeout=300) for name, job in jobs.items()}
        for name, job in done.items():
            assert job['state'] == 'Success', (name, client.log(job['id'])[-2500:])
        assert client.output_text(done['hostname'], 'output').strip() == socket.gethostname()
        assert client.output_text(done['js'], 'output') == 'Hello RHEL, 42\n'

        runner = f'{service.base}/api/.cerise-runner'
        python = testbed.ssh(scheduler, f'readlink -f {runner}/venv/bin/python', user=rhel)
        assert python.strip() == full_path  # the venv is made from 3.11, by either setting
        script = testbed.ssh(
            scheduler, f'cat {service.base}/jobs/{done["js"]["id"]}/run.sh', user=rhel
        )
        assert ('module load python/3.11' in script) == (how == 'prelude')
    finally:
        service.cleanup()


def test_a_prelude_that_fails_stops_the_service_with_what_the_resource_said(
    testbed, rhel, wheelhouse, tmp_path, monkeypatch
):
    settings = {'prelude': ('module load python/3.99',)}
    service = rhel_service(testbed, rhel, wheelhouse, 'none', tmp_path, monkeypatch, **settings)
    try:
        with pytest.raises(ApiInstallError) as raised:
            service.start()
        service._context = None  # it never started
    finally:
        service.cleanup()
    message = str(raised.value)
    assert message.startswith(
        'installing the CWL runner: finding python3 on the compute resource failed (exit code 97): '
    )
    assert "ERROR: Unable to locate a modulefile for 'python/3.99'" in message
    assert message.endswith('cerise: compute-resource.jobs.prelude failed (exit code 1)')
