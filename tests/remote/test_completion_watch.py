"""The completion watcher on the test bed: jobs seen finished at once, and no fault loses one.

`refresh` is 30 s here, so a job that ends Success within 10 s was seen
finished through the watcher, not by a poll round. Killing the watcher,
dropping this service's SSH connection (only its own: another test run may
share the test bed) and restarting the service mid-job must each lose no
job and start none twice.
"""

import dataclasses
import time

import pytest

from .. import workflows as wf
from ..helpers import kill_all, wait_for

pytestmark = pytest.mark.remote  # needs the test bed (testbed/testbed.sh)

REFRESH = 30.0
SOON = 10.0  # generous, and still far below REFRESH


def _started(service, refresh=REFRESH, **options):
    service.api_config = dataclasses.replace(service.api_config, refresh=refresh)
    service.start()
    hints = service.service.hints
    wait_for(lambda: hints.opened >= 1, timeout=60, message='the watcher to start')
    return service


def _watchers(service) -> list:
    """Command lines of watchers of this service's jobs folder on the resource."""
    return service.remote_processes(f'{service.base}/jobs').splitlines()


def _ran_once(client, job_id) -> None:
    log = client.log(job_id)
    assert log.count('Started on the compute resource') == 1, log


@pytest.mark.parametrize('scheduler', ['none', 'slurm'])
def test_a_trivial_job_is_seen_finished_long_before_refresh(make_remote, scheduler):
    service = _started(make_remote(scheduler))
    client = service.client
    begun = time.monotonic()
    job_id = client.submit(wf.HOSTNAME)['id']
    assert client.wait_final(job_id, timeout=SOON)['state'] == 'Success', client.log(job_id)
    assert time.monotonic() - begun < SOON
    _ran_once(client, job_id)
    assert len(_watchers(service)) == 1, 'one watcher per resource'


def test_a_killed_watcher_is_started_again_and_no_job_is_lost(make_remote):
    service = _started(make_remote('none'))
    client, hints = service.client, service.service.hints
    jobs = [client.submit(wf.SLEEP, {'seconds': 3})['id'] for _ in range(2)]
    client.wait_state(jobs[0], 'Running', timeout=60)
    service.testbed.ssh('none', f'kill -9 {hints.remote_pid}')
    for job_id in jobs:
        assert client.wait_final(job_id, timeout=SOON + 5)['state'] == 'Success'
        _ran_once(client, job_id)
    assert hints.opened >= 2
    wait_for(lambda: len(_watchers(service)) == 1, message='the killed watcher gone')


def _sshd_of(pid: int, user: str) -> list:
    """The per-connection sshd processes above a process on this machine (the test
    bed's sshd runs here), `sshd: USER@notty` and `sshd: USER [priv]`: killing them
    drops that one connection only. Never the listener, which other tests share."""
    found = []
    while pid > 1:
        with open(f'/proc/{pid}/stat') as f:
            pid = int(f.read().rsplit(')', 1)[1].split()[1])
        with open(f'/proc/{pid}/cmdline', 'rb') as f:
            cmdline = f.read().replace(b'\0', b' ').decode(errors='replace').strip()
        ours = any(cmdline.startswith(f'{name}: {user}') for name in ('sshd', 'sshd-session'))
        if not ours or 'listener' in cmdline:
            break
        found.append(pid)
    return found


@pytest.mark.parametrize('scheduler', ['none', 'slurm'])
def test_a_dropped_connection_loses_no_job(make_remote, scheduler):
    service = _started(make_remote(scheduler))
    client, hints = service.client, service.service.hints
    jobs = [client.submit(wf.SLEEP, {'seconds': 4})['id'] for _ in range(2)]
    client.wait_state(jobs[0], 'Running', timeout=60)
    sshd = _sshd_of(hints.remote_pid, service.api_config.jobs.credentials.username)
    assert sshd, 'the watcher runs under its own sshd'
    kill_all(sshd)
    for job_id in jobs:
        assert client.wait_final(job_id, timeout=REFRESH)['state'] == 'Success'
        _ran_once(client, job_id)
    wait_for(lambda: hints.opened >= 2, timeout=30, message='a new channel')


def test_a_restarted_service_finishes_its_jobs_once(make_remote):
    service = _started(make_remote('none'))
    client = service.client
    job_id = client.submit(wf.SLEEP, {'seconds': 5})['id']
    client.wait_state(job_id, 'Running', timeout=60)
    service.stop()
    wait_for(lambda: not _watchers(service), timeout=15, message='the watcher to leave')
    service = _started(service)
    client = service.client
    assert client.wait_final(job_id, timeout=SOON + 5)['state'] == 'Success', client.log(job_id)
    _ran_once(client, job_id)
    leftovers = service.testbed.ssh('none', f'ls {service.base}/jobs/{job_id}')
    assert 'claim.' not in leftovers and 'exit_code.' not in leftovers
