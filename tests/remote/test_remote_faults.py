"""Faults on the way to the resource: dropped connections, sshd down, a killed service.

Every job must still end Success, none may run twice, and a job must stay
Waiting/Running (never fail) while the resource cannot be reached.
"""

import os
import shutil
import signal
import sqlite3
import subprocess
import time

import pytest
import yaml

from .. import workflows as wf
from ..e2e.test_restart import ServeProcess
from ..helpers import TEST_API_DIR, kill_all, processes_mentioning, wait_for
from .conftest import STATE_DIR

pytestmark = pytest.mark.remote  # needs the test bed (testbed/testbed.sh)


def _sshd_children():
    """Per-connection sshd processes of the test users (the listener's name differs)."""
    return processes_mentioning('sshd: cerise')


def _stop_sshd():
    pid = int((STATE_DIR / 'sshd.pid').read_text().split()[0])
    os.kill(pid, signal.SIGTERM)
    wait_for(
        lambda: not processes_mentioning(str(STATE_DIR / 'sshd_config')), message='sshd to stop'
    )
    kill_all(_sshd_children())  # existing connections go too


def _start_sshd():
    subprocess.run(
        ['/usr/sbin/sshd', '-f', str(STATE_DIR / 'sshd_config'), '-E', str(STATE_DIR / 'sshd.log')],
        check=True,
        timeout=30,
    )


@pytest.fixture
def sshd_restorer(testbed):
    yield
    if not processes_mentioning(str(STATE_DIR / 'sshd_config')):
        _start_sshd()


@pytest.mark.parametrize('scheduler', ['none', 'slurm'])
def test_dropped_connections_while_jobs_run(make_remote, scheduler):
    client = make_remote(scheduler).start().client
    jobs = [client.submit(wf.SLEEP, {'seconds': 4})['id'] for _ in range(3)]
    client.wait_state(jobs[0], 'Running', timeout=120)
    for _ in range(3):
        kill_all(_sshd_children())
        time.sleep(1)  # a fault that lasts a while (not a wait for a result)
    for job_id in jobs:
        assert client.wait_final(job_id, timeout=300)['state'] == 'Success', client.log(job_id)


def test_sshd_down_for_a_while(make_remote, sshd_restorer):
    client = make_remote('slurm', contact_timeout=3).start().client
    running = client.submit(wf.SLEEP, {'seconds': 6})['id']
    client.wait_state(running, 'Running', timeout=120)
    _stop_sshd()
    waiting = client.submit(wf.HOSTNAME)['id']
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:  # the outage lasts 8 s
        assert client.state(running) == 'Running'
        assert client.state(waiting) == 'Waiting'
        time.sleep(0.5)
    assert 'No contact with the compute resource' in client.log(running)
    _start_sshd()
    assert client.wait_final(running, timeout=300)['state'] == 'Success', client.log(running)
    assert 'Contact with the compute resource restored' in client.log(running)
    assert client.wait_final(waiting, timeout=300)['state'] == 'Success', client.log(waiting)
    retries = client.log(waiting).count('Cannot reach the compute resource')
    assert 1 <= retries <= 40, 'tried again once per poll round (0.5 s), not in a loop'


def _serve_on_slurm(testbed, root):
    api = root / 'api'
    shutil.copytree(TEST_API_DIR, api)
    base = f'/home/{testbed.user_for("slurm")}/.cerise-tests/{root.name}'
    (api / 'config.yml').write_text(
        yaml.safe_dump(
            {
                'compute-resource': {
                    'credentials': {'username': testbed.user_for('slurm'), 'certfile': testbed.key},
                    'files': {
                        'protocol': 'sftp',
                        'location': f'127.0.0.1:{testbed.port}',
                        'path': base,
                    },
                    'jobs': {
                        'protocol': 'ssh',
                        'location': f'127.0.0.1:{testbed.port}',
                        'scheduler': 'slurm',
                        'cwl-runner': 'cwltool',
                    },
                    'ssh': {'known-hosts': testbed.known_hosts},
                    'refresh': 0.5,
                }
            }
        )
    )
    return ServeProcess(root, api), base


def test_kill_9_then_restart_runs_one_slurm_job(testbed, tmp_path):
    serve, base = _serve_on_slurm(testbed, tmp_path)
    try:
        client = serve.start()
        job_id = client.submit(wf.SLEEP, {'seconds': 15})['id']
        wait_for(
            lambda: 'Started on the compute resource' in client.log(job_id),
            timeout=120,
            message='submission',
        )
        serve.stop(signal.SIGKILL)
        # as if the service died before it could record the Slurm id
        with sqlite3.connect(tmp_path / 'run' / 'cerise.db') as db:
            db.execute(
                "UPDATE job SET remote_job_id = NULL, state = 'Waiting' WHERE id = ?", (job_id,)
            )
        client = serve.start()
        name = f'cerise-{job_id}'
        wait_for(
            lambda: client.log(job_id).count('Started on the compute resource') == 2,
            timeout=120,
            message='the restarted service to handle the job',
        )
        assert len(testbed.ssh('slurm', f'squeue -h -n {name} -o %i').split()) == 1
        assert client.wait_final(job_id, timeout=300)['state'] == 'Success', client.log(job_id)
        log = client.log(job_id)
        started = [line for line in log.splitlines() if 'Started on the compute resource' in line]
        ids = {line.rsplit('(id ', 1)[1] for line in started}
        assert len(ids) == 1, f'one Slurm job only, adopted after the restart: {started}'
    finally:
        if serve.proc is not None and serve.proc.poll() is None:
            serve.stop()
        testbed.ssh('slurm', f'rm -rf {base}', check=False)
