"""The warm runner's processes, with real forks, sockets and signals.

The server (runner/warm_server.py) is started by the service's WarmRunner
(resource/warm.py) with a probe (warm_probe.py) as the job's entry point in
place of cwltool, so each test sees exactly what a job sees. Jobs are started
by the real client (runner/warm_client.py) in a session of their own, as the
job script's process group would be.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

import pytest

from cerise_actors.resource.warm import CLIENT_SCRIPT, WarmRunner
from cerise_actors.runner.warm_client import send_request

from ..helpers import REPO_DIR, wait_for

PROBE = 'tests.unit.warm_probe:main'


@pytest.fixture
def warm(tmp_path, monkeypatch):
    monkeypatch.setenv('PYTHONPATH', str(REPO_DIR))  # the probe lives in tests/
    runner = WarmRunner(str(tmp_path), [], entry=PROBE).start()
    assert runner.wait_ready(120), 'the warm runner did not start'
    yield runner
    runner.close()


@pytest.fixture
def cold_python(tmp_path):
    """Stands in for the service's Python when the client falls back: prints its argv."""
    fake = tmp_path / 'fake-python'
    fake.write_text('#!/bin/sh\necho "cold $*"\n')
    fake.chmod(0o755)
    return str(fake)


def start_job(warm, args, cwd, cold_python, env=None):
    return subprocess.Popen(
        [sys.executable, '-I', '-S', CLIENT_SCRIPT, '--socket', warm.socket_path]
        + ['--python', cold_python, '--', *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # as the job script's own process group
    )


def report(proc):
    return json.loads(proc.stdout.readline())


def alive(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def test_each_job_forks_from_the_warm_server_and_nothing_leaks_to_the_next(
    warm, tmp_path, cold_python
):
    first_dir, second_dir = tmp_path / 'one', tmp_path / 'two'
    first_dir.mkdir()
    second_dir.mkdir()
    env = dict(os.environ, WARM_MARKER='first')
    first = start_job(warm, [], first_dir, cold_python, env)
    seen = report(first)
    assert first.wait(60) == 0
    env = dict(os.environ, WARM_MARKER='second')
    second = start_job(warm, [], second_dir, cold_python, env)
    again = report(second)
    assert second.wait(60) == 0
    for job, folder, marker in ((seen, first_dir, 'first'), (again, second_dir, 'second')):
        assert job['schema_preloaded'], 'the CWL schemas were loaded before the job'
        assert job['cwd'] == str(folder) and job['env_marker'] == marker
        assert job['pgid'] == job['sid'] == job['pid'], 'its own session and process group'
        assert job['pid'] != warm.pid
        # stdin, stdout, stderr and the probe's own listing: nothing of the server
        assert set(job['fds']) <= {0, 1, 2, 3}
        assert job['argv0'].endswith('runner/__main__.py')
    # the first job changed the environment, the working directory, cwltool's
    # schema cache and a module global: the second saw none of it
    assert again['env_leak'] is None and not again['cache_leak'] and again['global_leak'] == []
    assert 'probe says hello' in second.stderr.read().decode()


def test_exit_codes_and_signals_of_the_job_are_the_clients(warm, tmp_path, cold_python):
    proc = start_job(warm, ['exit', '3'], tmp_path, cold_python)
    assert proc.wait(60) == 3
    proc = start_job(warm, ['crash'], tmp_path, cold_python)
    assert proc.wait(60) == -signal.SIGKILL  # bash's wait then gives 137, as cold


def test_a_forwarded_term_stops_the_jobs_whole_process_group(warm, tmp_path, cold_python):
    proc = start_job(warm, ['spawn'], tmp_path, cold_python)
    job = report(proc)
    assert alive(job['pid']) and alive(job['grandchild'])
    os.killpg(proc.pid, signal.SIGTERM)  # what a cancel sends the job script's group
    assert proc.wait(60) == -signal.SIGTERM
    wait_for(lambda: not alive(job['grandchild']), 60, message='the step process to end')
    assert not alive(job['pid'])


def test_a_killed_client_takes_its_jobs_group_with_it(warm, tmp_path, cold_python):
    proc = start_job(warm, ['spawn'], tmp_path, cold_python)
    job = report(proc)
    os.killpg(proc.pid, signal.SIGKILL)  # a cancel's second step; cannot be forwarded
    proc.wait(60)
    wait_for(
        lambda: not alive(job['pid']) and not alive(job['grandchild']),
        60,
        message='the job group to be killed by its supervisor',
    )


def test_a_killed_server_costs_no_running_job_and_is_started_again(warm, tmp_path, cold_python):
    running = start_job(warm, ['sleep'], tmp_path, cold_python)
    job = report(running)
    server = warm.pid
    os.kill(server, signal.SIGKILL)
    wait_for(lambda: warm.starts == 2 and warm.wait_ready(1), 120, message='a new server')
    assert warm.pid != server
    assert alive(job['pid']), 'the running job was not touched'
    after = start_job(warm, ['exit', '0'], tmp_path, cold_python)
    assert after.wait(60) == 0
    os.killpg(running.pid, signal.SIGTERM)
    assert running.wait(60) == -signal.SIGTERM


def test_without_a_server_the_client_runs_the_cold_runner(warm, tmp_path, cold_python):
    warm.close()
    proc = start_job(warm, ['--outdir', 'x', 'workflow.cwl'], tmp_path, cold_python)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert out.decode().strip() == 'cold -m cerise_actors.runner --outdir x workflow.cwl'
    assert 'the warm runner is not available' in err.decode()


def test_the_socket_is_private(warm):
    folder = os.path.dirname(warm.socket_path)
    assert os.stat(folder).st_mode & 0o777 == 0o700
    assert os.stat(warm.socket_path).st_mode & 0o077 == 0


@pytest.mark.skipif(os.getuid() != 0, reason='needs root to act as another user')
def test_another_user_is_not_served(monkeypatch):
    """Even with the folder opened up, the server serves only its own user: a
    process of another user that connects gets no job started and no answer."""
    base = tempfile.mkdtemp(prefix='cerise-warm-test-')  # a path others can traverse
    os.chmod(base, 0o755)
    monkeypatch.setenv('PYTHONPATH', str(REPO_DIR))
    warm = WarmRunner(base, [], entry=PROBE).start()
    try:
        assert warm.wait_ready(120)
        os.chmod(os.path.dirname(warm.socket_path), 0o755)
        os.chmod(warm.socket_path, 0o777)
        assert _connect_as_nobody(warm.socket_path) == 0, 'the other user was served'
    finally:
        warm.close()
        shutil.rmtree(base, ignore_errors=True)


def _connect_as_nobody(path):
    pid = os.fork()
    if pid == 0:  # as nobody: connect and ask for a job
        status = 1
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(30)
            sock.connect(path)
            try:
                send_request(sock, {'argv': ['exit', '0']}, [0, 1, 2])
                answer = sock.recv(4096)
            except OSError:  # reset: refused
                answer = b''
            status = 0 if answer == b'' else 3
        finally:
            os._exit(status)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def _listener_as(uid, path):
    """A process of user `uid` listening on the unix socket `path` (and reading
    whatever comes), until killed."""
    code = (
        'import socket,sys\n'
        's=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); print("ready", flush=True)\n'
        'while True:\n c,_=s.accept(); c.recv(65536)\n'
    )
    # another user may not reach this venv's Python (under /root): Debian's then
    python = sys.executable if uid == os.getuid() else '/usr/bin/python3'
    proc = subprocess.Popen(
        [python, '-I', '-c', code, path],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=(lambda: os.setuid(uid)) if uid != os.getuid() else None,
    )
    assert proc.stdout.readline().strip() == 'ready'
    return proc


@pytest.mark.skipif(os.getuid() != 0, reason='needs root to act as another user')
def test_the_client_hands_no_job_to_a_socket_of_another_user():
    """A socket folder another user made first must not receive a job's
    environment and descriptors: the client checks who serves (SO_PEERCRED)
    and runs the job cold instead."""
    from cerise_actors.runner.warm_client import hand_over

    base = tempfile.mkdtemp(prefix='cerise-warm-peer-')
    os.chmod(base, 0o777)
    try:
        theirs = _listener_as(65534, os.path.join(base, 'theirs.sock'))
        mine = _listener_as(os.getuid(), os.path.join(base, 'mine.sock'))
        try:
            sock, _, reason = hand_over(os.path.join(base, 'theirs.sock'), ['job.cwl'])
            assert sock is None and 'another user' in reason
            # the same client with its own user's listener gets as far as the answer
            sock, _, reason = hand_over(os.path.join(base, 'mine.sock'), ['job.cwl'])
            assert 'another user' not in (reason or '')
        finally:
            theirs.kill()
            mine.kill()
            theirs.wait()
            mine.wait()
    finally:
        shutil.rmtree(base, ignore_errors=True)
