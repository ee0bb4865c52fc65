"""A warm runner no job uses leaves, and the next job starts it again (issue 21, item 4).

Real processes: the service's WarmRunner starts the server with a short
`--idle-exit`, the probe (warm_probe.py) stands in for cwltool, and jobs are
started by the real client, as in test_warm_runner.py.
"""

import os
import signal
import socket

import pytest

from cerise_actors.resource.warm import WarmRunner, waking
from cerise_actors.runner import warm_server

from ..helpers import REPO_DIR, wait_for
from .test_warm_runner import PROBE, alive, cold_python, report, start_job  # noqa: F401

IDLE = 1.5


@pytest.fixture
def idle_warm(tmp_path, monkeypatch):
    monkeypatch.setenv('PYTHONPATH', str(REPO_DIR))  # the probe lives in tests/
    runner = WarmRunner(str(tmp_path), [], entry=PROBE, idle_exit=IDLE).start()
    assert runner.wait_ready(120), 'the warm runner did not start'
    yield runner
    runner.close()


def test_an_unused_server_leaves_and_the_next_job_starts_it_again(idle_warm, tmp_path, cold_python):
    warm = idle_warm
    first = warm.pid
    wait_for(lambda: warm.asleep, 60, message='the unused server to leave')
    assert not alive(first), 'the server process is gone'
    assert not os.path.exists(warm.socket_path), 'its socket is gone with it'
    assert warm.memory() == {} and warm.starts == 1, 'not restarted as after a crash'
    # a job meanwhile runs cold, and starting it wakes the server
    argv = waking(warm, lambda paths, cores: ['runner', paths, str(cores)])
    assert argv('job-paths', 2) == ['runner', 'job-paths', '2']
    proc = start_job(warm, ['--outdir', 'x'], tmp_path, cold_python)
    out, err = proc.communicate(timeout=60)
    assert out.decode().startswith('cold -m cerise_actors.runner')
    assert warm.starts == 2 and warm.wait_ready(120), 'woken by the job'
    assert not warm.asleep and warm.pid not in (None, first)
    warm_job = start_job(warm, [], tmp_path, cold_python)
    assert report(warm_job)['schema_preloaded'], 'the next job forks from the new server'
    assert warm_job.wait(60) == 0


def test_jobs_keep_the_server_and_a_running_job_outlives_its_leaving(
    idle_warm, tmp_path, cold_python
):
    warm = idle_warm
    running = start_job(warm, ['sleep'], tmp_path, cold_python)
    job = report(running)
    server = warm.pid
    for _ in range(3):  # jobs coming more often than IDLE keep it
        quick = start_job(warm, ['exit', '0'], tmp_path, cold_python)
        assert quick.wait(60) == 0
    assert warm.pid == server and not warm.asleep
    wait_for(lambda: warm.asleep, 60, message='the server to leave once unused')
    assert alive(job['pid']), 'the job it started runs on'
    os.killpg(running.pid, signal.SIGTERM)  # still the job's supervisor's to stop
    assert running.wait(60) == -signal.SIGTERM


def test_a_crash_is_still_restarted_with_back_off_not_left_asleep(idle_warm):
    warm = idle_warm
    os.kill(warm.pid, signal.SIGKILL)
    wait_for(lambda: warm.starts == 2 and warm.wait_ready(1), 120, message='a new server')
    assert not warm.asleep


def test_wake_does_nothing_while_the_server_runs_or_after_close(idle_warm):
    warm = idle_warm
    warm.wake()
    assert warm.starts == 1
    warm.close()
    warm.wake()
    assert warm.starts == 1 and warm.pid is None


def test_the_server_never_leaves_unless_asked(tmp_path):
    """Other owners of warm_server.py (the remote warm runner) start it
    without --idle-exit: it then never leaves on its own."""
    server = warm_server.WarmServer(str(tmp_path / 's.sock'), [], print)
    assert server.idle_exit == 0
    assert waking(None, print) is print and waking(object(), print) is print


def test_a_server_whose_socket_was_taken_over_leaves(tmp_path, monkeypatch):
    """A server left behind (over SSH: its connection died unnoticed) leaves once
    a newer server's socket has the name, or the socket is gone; its keeper
    starts a new one when the socket was merely removed."""
    monkeypatch.setenv('PYTHONPATH', str(REPO_DIR))
    warm = WarmRunner(str(tmp_path), [], entry=PROBE).start()  # no idle exit
    try:
        assert warm.wait_ready(120), 'the warm runner did not start'
        first = warm.pid
        os.unlink(warm.socket_path)  # as a newer server's rename would leave it
        wait_for(lambda: not alive(first), 30, message='the server without its socket to leave')
        wait_for(
            lambda: warm.pid not in (None, first) and warm.wait_ready(1),
            120,
            message='its keeper to start a new server',
        )
        assert os.path.exists(warm.socket_path)
        second = warm.pid
        # a newer socket under the name: the running server is no longer reachable
        newer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            newer.bind(warm.socket_path + '.other')
            os.replace(warm.socket_path + '.other', warm.socket_path)
            wait_for(lambda: not alive(second), 30, message='the replaced server to leave')
        finally:
            newer.close()
    finally:
        warm.close()


def test_a_passing_error_on_the_socket_name_keeps_the_server(monkeypatch, tmp_path):
    """ESTALE or EIO from stat (an NFS home folder) is no sign of a newer server."""
    import errno

    sock = tmp_path / 's'
    sock.write_text('')
    inode = os.stat(sock).st_ino
    monkeypatch.chdir(tmp_path)
    assert warm_server._still_ours(str(sock), inode)
    assert not warm_server._still_ours(str(sock), inode + 1)
    real_stat = os.stat

    def stale(path, *args, **kwargs):
        raise OSError(errno.ESTALE, 'Stale file handle', path)

    monkeypatch.setattr(os, 'stat', stale)
    assert warm_server._still_ours(str(sock), inode)
    warm_server._unlink_own(str(sock), inode)  # unsure: the name is left alone
    monkeypatch.setattr(os, 'stat', real_stat)
    assert sock.exists()
    sock.unlink()
    assert not warm_server._still_ours(str(sock), inode)
