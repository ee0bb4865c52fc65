"""Batch job scripts claim their job with the batch id; submissions, polls and
cancels follow the claim. Real bash, with stand-ins for the batch commands
(`squeue`, `scancel`, `qstat`, `qdel` on PATH) that print or record."""

import os
import subprocess

import pytest

from cerise_actors.resource.filesystem import LocalFileSystem
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.resource.scheduler import PollRequest, RemoteState, SubmitRequest
from cerise_actors.resource.shell import LocalShell
from cerise_actors.resource.slurm import SlurmScheduler
from cerise_actors.resource.torque import TorqueScheduler

COUNTING_RUNNER = 'echo run >>"$(dirname "$PWD")/runs"; sleep 0.3'


@pytest.fixture
def bin_dir(tmp_path, monkeypatch):
    """A folder first on PATH for stand-in scheduler commands."""
    path = tmp_path / 'bin'
    path.mkdir()
    monkeypatch.setenv('PATH', f'{path}:{os.environ["PATH"]}')

    def command(name, body):
        (path / name).write_text(f'#!/bin/bash\n{body}\n')
        (path / name).chmod(0o755)

    return command


def _job(tmp_path, scheduler, job_id='j1'):
    paths = ResourceLayout(str(tmp_path / 'base')).job(job_id)
    fs = LocalFileSystem()
    fs.mkdir(paths.work)
    req = SubmitRequest(job_id, paths, ['bash', '-c', COUNTING_RUNNER, 'runner'])
    fs.write_bytes(paths.script, scheduler.script(req).encode(), 0o755)
    return req


@pytest.mark.parametrize(
    'cls,variable,ids,claimed',
    [
        (SlurmScheduler, 'SLURM_JOB_ID', ['101', '102'], '101'),
        (TorqueScheduler, 'PBS_JOBID', ['17.server', '18.server'], '17'),
        # Slurm's Torque wrappers: qsub runs the job under Slurm, without PBS_JOBID
        (TorqueScheduler, 'SLURM_JOB_ID', ['188', '189'], '188'),
    ],
)
def test_two_batch_copies_run_once_and_the_claim_names_the_batch_id(
    tmp_path, cls, variable, ids, claimed
):
    req = _job(tmp_path, cls(LocalShell()))
    first = subprocess.run(
        ['bash', req.paths.script], env=dict(os.environ, **{variable: ids[0]}), timeout=60
    )
    second = subprocess.run(
        ['bash', req.paths.script], env=dict(os.environ, **{variable: ids[1]}), timeout=60
    )
    assert (first.returncode, second.returncode) == (0, 0)
    assert open(req.paths.claim).read().strip() == claimed
    runs = open(os.path.join(req.paths.dir, 'runs')).read().split()
    assert len(runs) == 1


def test_submit_adopts_the_claimant_instead_of_queueing_a_copy(tmp_path, bin_dir):
    bin_dir('sbatch', 'echo sbatch >>"$(dirname "$0")/calls"; echo 999')
    bin_dir('squeue', 'true')
    scheduler = SlurmScheduler(LocalShell())
    req = _job(tmp_path, scheduler)
    with open(req.paths.claim, 'w') as f:
        f.write('101\n')
    assert scheduler.submit(req) == '101'
    assert not (tmp_path / 'bin' / 'calls').exists(), 'nothing was queued'


def test_poll_and_cancel_follow_the_claimant(tmp_path, bin_dir):
    bin_dir('squeue', 'echo "102 RUNNING"')
    bin_dir('scancel', 'echo "$@" >>"$(dirname "$0")/cancelled"')
    scheduler = SlurmScheduler(LocalShell())
    req = _job(tmp_path, scheduler)
    with open(req.paths.claim, 'w') as f:
        f.write('102\n')
    status = scheduler.poll([PollRequest(req.job_id, '101', req.paths)])[req.job_id]
    assert (status.state, status.claimant) == (RemoteState.RUNNING, '102')
    scheduler.cancel('101', req.paths)
    assert (tmp_path / 'bin' / 'cancelled').read_text().split() == ['101', '102']


def test_poll_reports_a_full_disk(tmp_path, bin_dir):
    bin_dir('squeue', 'true')
    scheduler = SlurmScheduler(LocalShell())
    req = _job(tmp_path, scheduler)
    open(req.paths.disk_full, 'w').close()
    status = scheduler.poll([PollRequest(req.job_id, '101', req.paths)])[req.job_id]
    assert (status.state, status.disk_full) == (RemoteState.GONE, True)
