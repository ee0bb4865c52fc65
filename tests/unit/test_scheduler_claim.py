"""The job script claims its job: of several copies exactly one runs the runner.

Real bash processes on this machine, for DirectScheduler (through a shell,
as over SSH) and LocalScheduler. A copy of the script started by hand plays
the one a killed service started but never recorded.
"""

import os
import signal
import subprocess

import pytest

from cerise_actors.resource.filesystem import LocalFileSystem
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.resource.local_scheduler import LocalScheduler
from cerise_actors.resource.scheduler import (
    DirectScheduler,
    PollRequest,
    RemoteState,
    SubmitRequest,
    _parse_poll_output,
)
from cerise_actors.resource.shell import LocalShell

from ..helpers import processes_mentioning, wait_for

# appends its pid to `runs` beside the job folder, then sleeps $SECONDS_FILE
COUNTING_RUNNER = 'echo $$ >>"$(dirname "$PWD")/runs"; sleep "$(cat "$2")"'


@pytest.fixture(params=[DirectScheduler, LocalScheduler])
def job(tmp_path, request):
    """(scheduler, make(job_id, seconds) -> SubmitRequest)."""
    layout = ResourceLayout(str(tmp_path / "base 'q'"))
    fs = LocalFileSystem()
    scheduler = request.param(LocalShell())

    def make(job_id, seconds=0.0):
        paths = layout.job(job_id)
        fs.mkdir(paths.work)
        fs.write_bytes(paths.workflow, b'')
        fs.write_bytes(paths.input, str(seconds).encode())
        req = SubmitRequest(job_id, paths, ['bash', '-c', COUNTING_RUNNER, 'runner'])
        fs.write_bytes(paths.script, scheduler.script(req).encode(), 0o755)
        return req

    yield scheduler, make
    for pid in processes_mentioning(str(tmp_path)):
        os.kill(pid, signal.SIGKILL)


def _read(path):
    return open(path).read().strip() if os.path.exists(path) else ''


def _runs(req):
    path = os.path.join(req.paths.dir, 'runs')
    return open(path).read().split() if os.path.exists(path) else []


def _start_copy(req):
    """A copy of the job script, as a killed service left it."""
    return subprocess.Popen(
        ['bash', req.paths.script],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _own_id(proc):
    with open(f'/proc/{proc.pid}/stat') as f:
        return f'{proc.pid}:{f.read().rsplit(")", 1)[1].split()[19]}'


def _poll(scheduler, req, remote_id):
    return scheduler.poll([PollRequest(req.job_id, remote_id, req.paths)])[req.job_id]


def test_copies_started_together_run_the_runner_once(job):
    _, make = job
    req = make('together', seconds=0.3)
    copies = [_start_copy(req) for _ in range(6)]
    ids = [_own_id(proc) for proc in copies]
    codes = [proc.wait(timeout=60) for proc in copies]
    assert len(_runs(req)) == 1, 'exactly one copy runs the runner'
    claim = open(req.paths.claim).read().strip()
    assert claim in ids
    assert codes.count(0) == 6, 'the copies that lost leave quietly'
    assert open(req.paths.exit_code).read().strip() == '0'
    leftovers = [name for name in os.listdir(req.paths.dir) if '.' in name[-8:]]
    assert not [n for n in leftovers if n.startswith(('claim.', 'exit_code.'))], leftovers


def test_submit_after_a_crash_follows_the_copy_that_claimed(job):
    scheduler, make = job
    req = make('crashed', seconds=1)
    copy = _start_copy(req)  # started, never recorded
    wait_for(lambda: os.path.exists(req.paths.claim), message='the copy to claim')
    remote_id = scheduler.submit(req)
    assert remote_id == _own_id(copy)
    assert _poll(scheduler, req, remote_id).state is RemoteState.RUNNING
    status = wait_for(lambda: (s := _poll(scheduler, req, remote_id)).state == 'done' and s)
    assert status.exit_code == 0
    assert len(_runs(req)) == 1


def test_submit_racing_an_unclaimed_copy_is_followed_to_the_claimant(job):
    """DirectScheduler waits for the claim and returns the claimant;
    LocalScheduler returns at once, and its poll reports the claimant."""
    scheduler, make = job
    req = make('race', seconds=0.5)
    copy = _start_copy(req)  # may or may not have claimed yet
    remote_id = scheduler.submit(req)
    if isinstance(scheduler, LocalScheduler):
        claimant = wait_for(lambda: _read(req.paths.claim), message='a claim')
        if claimant != remote_id:
            # the copy that lost may still be leaving (our child, not yet exited, so
            # 'running'): a later poll names the claimant, or sees the job done
            wait_for(
                lambda: (
                    (s := _poll(scheduler, req, remote_id)).state == 'done'
                    or s.claimant == claimant
                ),
                message='the poll to follow the claimant',
            )
    else:
        assert remote_id == open(req.paths.claim).read().strip()
    wait_for(lambda: _poll(scheduler, req, remote_id).state == 'done')
    copy.wait(timeout=60)
    assert len(_runs(req)) == 1


def test_poll_and_cancel_follow_the_claimant_not_a_copy_that_lost(job):
    """A submission that gave up waiting recorded a copy that then lost."""
    scheduler, make = job
    req = make('lost', seconds=60)
    winner = _start_copy(req)
    wait_for(lambda: os.path.exists(req.paths.claim), message='the copy to claim')
    loser = _start_copy(req)
    loser_id = _own_id(loser)
    loser.wait(timeout=60)
    status = _poll(scheduler, req, loser_id)
    assert status.state is RemoteState.RUNNING
    assert status.claimant == _own_id(winner)
    scheduler.cancel(loser_id, req.paths)
    assert winner.wait(timeout=30) != 0, 'the cancel stopped the copy that runs'
    assert _poll(scheduler, req, loser_id).state is RemoteState.GONE


def test_poll_lines_carry_a_claimant_and_a_full_disk():
    statuses = _parse_poll_output(
        'a running claim=12:34\nb done 1 disk-full\nc gone disk-full claim=5:6\n',
        {'a', 'b', 'c'},
    )
    assert statuses['a'].claimant == '12:34' and statuses['a'].state == 'running'
    assert statuses['b'].exit_code == 1 and statuses['b'].disk_full
    assert statuses['c'].state == 'gone' and statuses['c'].claimant == '5:6'
    with pytest.raises(Exception, match='unexpected'):
        _parse_poll_output('a running claim=x\n', {'a'})
