"""The job script and the direct schedulers, with real processes on this machine.

Every behaviour is checked for both: DirectScheduler through a shell (as over
SSH) and LocalScheduler, which starts and follows its children from Python.
"""

import os
import sys
from typing import Optional

import pytest

from cerise_actors.errors import TemporaryResourceError
from cerise_actors.resource.filesystem import LocalFileSystem
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.resource.local_scheduler import LocalScheduler
from cerise_actors.resource.scheduler import (
    DirectScheduler,
    PollRequest,
    SubmitRequest,
    _parse_poll_output,
    job_script,
)
from cerise_actors.resource.shell import LocalShell

from ..helpers import processes_mentioning, wait_for

FAKE_RUNNER = """import sys, time
seconds = float(open(sys.argv[2]).read() or 0)
time.sleep(seconds)
print('{"ok": true}')
sys.exit(int(sys.argv[1]) if len(sys.argv) > 3 else 0)
"""


@pytest.fixture(params=[DirectScheduler, LocalScheduler])
def setup(tmp_path, request):
    # a base path with a space, quotes and a dollar, to prove the quoting
    layout = ResourceLayout(str(tmp_path / "base dir 'q' $HOME"))
    fs = LocalFileSystem()
    runner = tmp_path / 'runner.py'
    runner.write_text(FAKE_RUNNER)
    scheduler = request.param(LocalShell())

    def make_job(job_id, seconds=0.0, time_limit=0):
        paths = layout.job(job_id)
        fs.mkdir(paths.work)
        fs.write_bytes(paths.workflow, b'0')
        fs.write_bytes(paths.input, str(seconds).encode())
        req = SubmitRequest(job_id, paths, [sys.executable, str(runner)], 0, time_limit)
        fs.write_bytes(paths.script, scheduler.script(req).encode(), 0o755)
        return req

    return scheduler, make_job, fs


def _poll(scheduler, req, remote_id):
    return scheduler.poll([PollRequest(req.job_id, remote_id, req.paths)])[req.job_id]


def test_script_quotes_every_path():
    layout = ResourceLayout("/a b/$(touch x)/'q'")
    req = SubmitRequest('id', layout.job('id'), ['run ner', '--x=$y'])
    script = job_script(req)
    assert "'/a b/$(touch x)/'\"'\"'q'\"'\"'/jobs/id/work'" in script
    assert "'run ner' '--x=$y'" in script
    assert "/jobs/id/exit_code'.$$" in script
    assert os.system(f'bash -n -c {__import__("shlex").quote(script)}') == 0


def test_time_limit_watchdog_and_its_margin():
    req = SubmitRequest('id', ResourceLayout('/b').job('id'), ['r'], time_limit=90)
    assert '( sleep 90;' in job_script(req, time_limit_margin=0)
    assert '( sleep 81;' in job_script(req, time_limit_margin=9)
    assert 'sleep' not in job_script(req)
    no_limit = SubmitRequest('id', ResourceLayout('/b').job('id'), ['r'])
    assert 'sleep' not in job_script(no_limit, time_limit_margin=0)


def test_runs_to_completion_and_reports_exit_code(setup):
    scheduler, make_job, fs = setup
    req = make_job('job1')
    remote_id = scheduler.submit(req)
    status = wait_for(lambda: (s := _poll(scheduler, req, remote_id)).state == 'done' and s)
    assert status.exit_code == 0
    assert fs.read_bytes(req.paths.stdout).strip() == b'{"ok": true}'


def test_submit_twice_starts_one_copy(setup):
    scheduler, make_job, _ = setup
    req = make_job('job2', seconds=30)
    first = scheduler.submit(req)
    assert scheduler.submit(req) == first
    # the script's own subshells (forks of it) carry its command line too:
    # count only the copies not started by another copy
    copies = processes_mentioning(req.paths.script)
    parents = {pid: _parent(pid) for pid in copies}
    started = [
        pid for pid, parent in parents.items() if parent is not None and parent not in copies
    ]
    assert len(started) == 1, parents
    scheduler.cancel(first, req.paths)


def _parent(pid: int) -> Optional[int]:
    """The parent of `pid`; None for a process gone meanwhile (a short-lived
    subshell of the job script can end between the listing and this read)."""
    try:
        with open(f'/proc/{pid}/stat') as stat:
            return int(stat.read().rsplit(')', 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def test_cancel_kills_the_whole_group(setup):
    scheduler, make_job, _ = setup
    req = make_job('job3', seconds=60)
    remote_id = scheduler.submit(req)
    wait_for(lambda: processes_mentioning(req.paths.input), message='runner started')
    assert _poll(scheduler, req, remote_id).state == 'running'
    scheduler.cancel(remote_id, req.paths)
    assert not processes_mentioning(req.paths.input)
    assert _poll(scheduler, req, remote_id).state == 'gone'
    scheduler.cancel(remote_id, req.paths)  # cancelling again is not an error


def test_time_limit_stops_the_runner(setup):
    scheduler, make_job, _ = setup
    req = make_job('job4', seconds=60, time_limit=1)
    remote_id = scheduler.submit(req)
    status = wait_for(
        lambda: (s := _poll(scheduler, req, remote_id)).state == 'done' and s, timeout=30
    )
    assert status.exit_code == 124


def test_reused_pid_is_not_our_job(setup):
    scheduler, make_job, _ = setup
    req = make_job('job5')
    pid = os.getpid()  # alive, but started at another time
    assert _poll(scheduler, req, f'{pid}:1').state == 'gone'
    scheduler.cancel(f'{pid}:1', req.paths)  # must not signal this test process


def test_poll_output_is_parsed_strictly():
    assert _parse_poll_output('a running\nb done 3\nc gone\n', {'a', 'b', 'c'})['b'].exit_code == 3
    with pytest.raises(TemporaryResourceError):
        _parse_poll_output('a running\n', {'a', 'b'})
    with pytest.raises(TemporaryResourceError):
        _parse_poll_output('a finished\n', {'a'})
    with pytest.raises(TemporaryResourceError):
        _parse_poll_output('bash: error\n', {'a'})


def test_job_runs_while_any_member_of_its_group_lives(setup):
    scheduler, make_job, _ = setup
    req = make_job('job6', seconds=60)
    remote_id = scheduler.submit(req)
    wait_for(lambda: processes_mentioning(req.paths.input), message='runner started')
    leader = int(remote_id.split(':')[0])
    os.kill(leader, 9)  # the job script dies, the runner it started does not
    wait_for(lambda: leader not in processes_mentioning(req.paths.script), message='leader')
    assert _poll(scheduler, req, remote_id).state == 'running'
    scheduler.cancel(remote_id, req.paths)
    assert not processes_mentioning(req.paths.input)
    assert _poll(scheduler, req, remote_id).state == 'gone'


def test_cancel_reaches_the_time_limit_watchdog_too(setup):
    scheduler, make_job, _ = setup
    req = make_job('job7', seconds=60, time_limit=3471)
    remote_id = scheduler.submit(req)
    wait_for(lambda: processes_mentioning(req.paths.input), message='runner started')
    wait_for(lambda: processes_mentioning('sleep 3471'), message='watchdog started')
    scheduler.cancel(remote_id, req.paths)
    assert not processes_mentioning(req.paths.input)
    assert not processes_mentioning('sleep 3471')


def test_commands_do_not_see_the_services_credentials(monkeypatch):
    monkeypatch.setenv('CERISE_PASSWORD', 'hunter2')
    monkeypatch.setenv('CERISE_JOBS_PASSPHRASE', 'secret')
    monkeypatch.setenv('CERISE_USERNAME', 'alice')
    out = LocalShell().run('env').stdout
    assert 'hunter2' not in out and 'secret' not in out
    assert 'CERISE_USERNAME=alice' in out


def _zombies_among(pids):
    """Those of `pids` that are children of this process, exited and not waited for."""
    found = []
    for pid in pids:
        try:
            with open(f'/proc/{pid}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if fields[0] == 'Z' and int(fields[1]) == os.getpid():
            found.append(pid)
    return found


def test_local_scheduler_leaves_no_zombies(tmp_path):
    scheduler = LocalScheduler(LocalShell())
    layout = ResourceLayout(str(tmp_path))
    fs = LocalFileSystem()
    reqs = []
    for n in range(3):
        paths = layout.job(f'z{n}')
        fs.mkdir(paths.work)
        req = SubmitRequest(f'z{n}', paths, ['true'])
        fs.write_bytes(paths.script, scheduler.script(req).encode(), 0o755)
        reqs.append(PollRequest(req.job_id, scheduler.submit(req), paths))
    wait_for(lambda: all(s.state == 'done' for s in scheduler.poll(reqs).values()))
    pids = [int(req.remote_id.split(':')[0]) for req in reqs]
    wait_for(
        lambda: not scheduler.poll([]) and not _zombies_among(pids),
        message='exited job scripts reaped',
    )


def test_local_scheduler_closed_with_jobs_running_reaps_them_later(tmp_path):
    """An in-process service stops; its jobs go on and must not become zombies."""
    scheduler = LocalScheduler(LocalShell())
    paths = ResourceLayout(str(tmp_path)).job('late')
    LocalFileSystem().mkdir(paths.work)
    req = SubmitRequest('late', paths, ['sleep', '0.5'])
    LocalFileSystem().write_bytes(paths.script, scheduler.script(req).encode(), 0o755)
    pid = int(scheduler.submit(req).split(':')[0])
    scheduler.close()
    wait_for(lambda: os.path.exists(paths.exit_code), message='job ended')
    wait_for(
        lambda: not _zombies_among([pid]) and not os.path.exists(f'/proc/{pid}'),
        message='job script reaped after close',
    )


def test_local_scheduler_follows_a_job_it_did_not_start(setup):
    """After a restart the job script is no longer the service's child."""
    scheduler, make_job, _ = setup
    req = make_job('adopted', seconds=1)
    remote_id = DirectScheduler(LocalShell()).submit(req)
    local = LocalScheduler(LocalShell())
    assert local.submit(req) == remote_id  # the jobid guard holds
    poll = [PollRequest(req.job_id, remote_id, req.paths)]
    assert local.poll(poll)[req.job_id].state == 'running'
    status = wait_for(lambda: (s := local.poll(poll)[req.job_id]).state == 'done' and s)
    assert status.exit_code == 0


def test_local_scheduler_judges_only_the_process_the_job_started(setup):
    """Same pid, other start time: not our job, whatever our children say."""
    scheduler, make_job, _ = setup
    req = make_job('other-start', seconds=30)
    remote_id = scheduler.submit(req)
    pid, start = remote_id.split(':')
    other = f'{pid}:{int(start) + 1}'
    with open(req.paths.claim, 'w') as f:  # as if that process had claimed it
        f.write(other + '\n')
    assert _poll(scheduler, req, other).state == 'gone'
    with open(req.paths.claim, 'w') as f:
        f.write(remote_id + '\n')
    scheduler.cancel(remote_id, req.paths)


def test_local_scheduler_says_a_shortage_is_temporary(tmp_path, monkeypatch):
    import errno
    import subprocess

    scheduler = LocalScheduler(LocalShell())
    paths = ResourceLayout(str(tmp_path)).job('short')
    LocalFileSystem().mkdir(paths.work)

    def no_more_processes(*args, **kwargs):
        raise OSError(errno.EAGAIN, 'Resource temporarily unavailable')

    monkeypatch.setattr(subprocess, 'Popen', no_more_processes)
    with pytest.raises(TemporaryResourceError):
        scheduler.submit(SubmitRequest('short', paths, ['true']))
