"""A full disk on the compute resource is reported as such, not as a killed job.

The job's resource folder lies on a small tmpfs (root only; see conftest.py)
that fills up. The job script reserved its exit-code file when it claimed
the job, so the exit code is still recorded, and it leaves an empty
`disk_full` file, which the service turns into a message naming the disk.
"""

import dataclasses
import os

from cerise_actors.app import running_service
from cerise_actors.config import load_api_config, service_config_from_dict
from cerise_actors.resource.filesystem import LocalFileSystem
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.resource.local_scheduler import LocalScheduler
from cerise_actors.resource.scheduler import PollRequest, RemoteState, SubmitRequest
from cerise_actors.resource.shell import LocalShell

from .. import workflows as wf
from ..helpers import TEST_API_DIR, Client, wait_for
from ..service_setup import service_config_dict
from .conftest import fill

#: a runner that fills the disk, then fails to write its output
FILLING_RUNNER = 'head -c 64M /dev/zero >"$PWD/fill"; echo "{}"'


def _job(base, job_id='full'):
    scheduler = LocalScheduler(LocalShell())
    paths = ResourceLayout(str(base)).job(job_id)
    fs = LocalFileSystem()
    fs.mkdir(paths.work)
    req = SubmitRequest(job_id, paths, ['bash', '-c', FILLING_RUNNER, 'runner'])
    fs.write_bytes(paths.script, scheduler.script(req).encode(), 0o755)
    return scheduler, req


def test_exit_code_is_recorded_when_the_runner_filled_the_disk(small_tmpfs):
    scheduler, req = _job(small_tmpfs(1024))
    remote_id = scheduler.submit(req)
    poll = [PollRequest(req.job_id, remote_id, req.paths)]
    status = wait_for(
        lambda: (s := scheduler.poll(poll)[req.job_id]).state != RemoteState.RUNNING and s,
        timeout=60,
        message='the job to end',
    )
    assert status.state is RemoteState.DONE, status
    assert status.exit_code != 0 and status.disk_full
    scheduler.close()


def test_a_job_on_a_disk_already_full_is_not_started_and_says_why(small_tmpfs):
    """The script cannot claim the job; the poll says the disk was full."""
    base = small_tmpfs(1024)
    scheduler, req = _job(base)
    fill(base)
    remote_id = scheduler.submit(req)  # the local scheduler does not wait for the claim
    poll = [PollRequest(req.job_id, remote_id, req.paths)]
    status = wait_for(
        lambda: (s := scheduler.poll(poll)[req.job_id]).state != RemoteState.RUNNING and s,
        timeout=60,
        message='the script to leave',
    )
    assert status.state is RemoteState.GONE and status.disk_full, status
    assert not os.path.exists(req.paths.claim)
    os.remove(base / '.filler')  # space again: the job starts
    remote_id = scheduler.submit(req)
    wait_for(lambda: os.path.exists(req.paths.claim), message='the claim')
    assert open(req.paths.claim).read().strip() == remote_id
    scheduler.close()


def test_service_names_the_full_disk_in_the_job_log(small_tmpfs, tmp_path):
    resource = small_tmpfs(2048)
    runner = tmp_path / 'filling-runner'
    runner.write_text(f'#!/bin/bash\n{FILLING_RUNNER}\n')
    runner.chmod(0o755)
    api = load_api_config(TEST_API_DIR, env={})
    api = dataclasses.replace(
        api,
        files=dataclasses.replace(api.files, path=str(resource)),
        jobs=dataclasses.replace(api.jobs, cwl_runner=str(runner)),
    )
    config = service_config_from_dict(service_config_dict(tmp_path), env={})
    with running_service(config, TEST_API_DIR, api_config=api) as service:
        client = Client(service.base_url, config.exchange_service_dir)
        job_id = client.submit(wf.SLEEP, {'seconds': 0})['id']
        client.wait_final(job_id, timeout=120)
        log = client.log(job_id)
    assert 'disk was full' in log, log
    assert 'was it killed' not in log, log
