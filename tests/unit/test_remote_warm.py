"""The remote warm runner's script, its channel keeper and the deployed client, on this machine.

The script that starts the warm server on an SSH resource
(staging/runner_command.py) runs here in bash, as a session channel would
run it; a socket pair stands in for the channel, so RemoteWarmRunner
(resource/remote_warm.py) keeps a real warm server (the runner package made
importable as `cerise_runner`, as deployed) with a probe (warm_probe.py) as
the job's entry point. The test bed's tests (tests/remote/test_remote_warm.py)
run the same over real SSH with the real runner.
"""

import contextlib
import dataclasses
import os
import select
import signal
import subprocess
import sys
import types

import pytest

from cerise_actors.config import api_config_from_dict
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.resource.remote_warm import RemoteWarmRunner
from cerise_actors.resource.warm import waking
from cerise_actors.runner import warm_client
from cerise_actors.staging import runner_command as rc
from cerise_actors.staging.runner_install import runner_dir, runner_python

from ..helpers import REPO_DIR, wait_for
from .socket_channel import SocketPairChannel

PROBE = 'tests.unit.warm_probe:main'
RUNNER_PACKAGE = REPO_DIR / 'cerise_actors' / 'runner'


@pytest.fixture
def deployed(tmp_path, monkeypatch):
    """A base folder whose runner is installed as this code's, the runner
    importable as `cerise_runner` (and the probe from tests/)."""
    layout = ResourceLayout(str(tmp_path / 'base'))
    os.makedirs(runner_dir(layout))
    os.symlink(RUNNER_PACKAGE, os.path.join(runner_dir(layout), 'cerise_runner'))
    with open(os.path.join(runner_dir(layout), 'installed'), 'w') as f:
        f.write(f'python 3.x wheels 0\nrunner {rc.runner_code_fingerprint()}\n')
    os.makedirs(layout.api_dir, exist_ok=True)
    monkeypatch.setenv('PYTHONPATH', f'{runner_dir(layout)}{os.pathsep}{REPO_DIR}')
    return layout


def script(layout, **changes):
    return rc.remote_warm_script(layout, python=sys.executable, entry=PROBE, **changes)


def run_script(text, timeout=60):
    """The script's end when it refuses to start: (exit status, stdout, stderr)."""
    proc = subprocess.run(
        ['bash', '-c', text],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_no_server_unless_the_installed_runner_is_this_code(deployed):
    marker = os.path.join(runner_dir(deployed), 'installed')
    with open(marker, 'w') as f:
        f.write('python 3.x wheels 0\nrunner 0123456789abcdef\n')
    code, out, err = run_script(script(deployed))
    assert code == rc.NOT_INSTALLED and out == '' and "is not this service's yet" in err
    os.remove(marker)
    assert run_script(script(deployed))[0] == rc.NOT_INSTALLED
    assert not os.path.exists(os.path.join(deployed.base, '.warm-runner'))


def test_a_folder_that_is_a_link_is_refused(deployed, tmp_path):
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir(mode=0o755)
    os.symlink(elsewhere, os.path.join(deployed.base, '.warm-runner'))
    code, out, err = run_script(script(deployed))
    assert code == 1 and 'is not a folder of this user' in err and 'pid' not in out
    assert elsewhere.stat().st_mode & 0o777 == 0o755, 'nothing was done to what it points to'


def test_a_failing_prelude_starts_no_server(deployed):
    code, out, err = run_script(script(deployed, prelude=['false']))
    assert code == 97 and 'jobs.prelude failed' in err


class BashChannel(SocketPairChannel):
    """A session channel: the command runs in bash here, its stdin and stdout a socket pair."""

    def __init__(self):
        super().__init__()
        self.proc = None

    def exec_command(self, command):
        self.proc = subprocess.Popen(
            command,
            shell=True,
            stdin=self.theirs,
            stdout=self.theirs,
            stderr=subprocess.PIPE,
            start_new_session=True,  # as sshd starts a session's command
        )
        self.theirs.close()

    def recv_stderr_ready(self):  # as paramiko's: only while there is data
        if self.proc.stderr.closed or not select.select([self.proc.stderr], [], [], 0)[0]:
            return False
        self._stderr = os.read(self.proc.stderr.fileno(), 65536)
        return bool(self._stderr)

    def recv_stderr(self, size):
        data, self._stderr = self._stderr, b''
        return data

    def exit_status_ready(self):
        return self.proc.poll() is not None

    def recv_exit_status(self):
        return self.proc.wait()

    def close(self):
        super().close()
        if self.proc is not None:
            self.proc.wait(timeout=30)
            self.proc.stderr.close()


@contextlib.contextmanager
def keeping(layout, max_backoff=1.0, **changes):
    """A started RemoteWarmRunner of `script(layout, **changes)` over BashChannels
    (its `channels`), closed after, with what its channels ran."""
    made = []

    def open_channel():
        made.append(BashChannel())
        return made[-1]

    folder = os.path.join(layout.base, '.warm-runner')
    warm = RemoteWarmRunner(
        open_channel,
        rc.bash_command(script(layout, **changes)),
        os.path.join(folder, 'runner.sock'),
        os.path.join(folder, 'warm-runner.log'),
        max_backoff=max_backoff,
    ).start()
    warm.channels = made
    try:
        yield warm
    finally:
        warm.close()
        for channel in made:
            if channel.proc is not None and channel.proc.poll() is None:
                os.killpg(channel.proc.pid, signal.SIGKILL)


@pytest.fixture
def keeper(deployed):
    with keeping(deployed) as warm:
        yield warm


def run_client(warm, layout, args, cwd):
    """A job's runner command as the job script runs it on the resource (deployed client)."""
    argv = [sys.executable, '-I', '-S', rc.deployed_client_script(layout)]
    argv += ['--socket', warm.socket_path, '--python', sys.executable, '--module', 'cerise_runner']
    return subprocess.run(
        argv + ['--', *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
    )


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def test_the_server_starts_once_the_runner_is_installed_serves_and_comes_back(keeper, deployed):
    assert not keeper.wait_ready(0.5) and keeper.channels == [], 'nothing before the install'
    keeper.runner_installed()
    assert keeper.wait_ready(120), 'the warm server did not start'
    folder = os.path.dirname(keeper.socket_path)
    assert os.stat(folder).st_mode & 0o777 == 0o700
    assert os.stat(keeper.socket_path).st_mode & 0o077 == 0
    first = keeper.pid
    with open(f'/proc/{first}/cmdline', 'rb') as f:  # bash exec-ed the server: same pid
        assert b'cerise_runner.warm_server' in f.read()

    done = run_client(keeper, deployed, ['report'], deployed.base)
    assert done.returncode == 0 and 'the warm runner is not available' not in done.stderr
    assert 'probe says hello' in done.stderr  # the probe ran, forked from the server

    os.kill(first, signal.SIGKILL)
    wait_for(lambda: keeper.starts == 2 and keeper.wait_ready(0), 120, message='a new server')
    assert keeper.pid != first and len(keeper.channels) == 2
    done = run_client(keeper, deployed, ['exit', '3'], deployed.base)
    assert done.returncode == 3 and 'not available' not in done.stderr

    second = keeper.pid
    keeper.close()
    wait_for(lambda: not _alive(second), 30, message='the server to leave with its channel')
    assert not os.path.exists(keeper.socket_path)
    assert 'loaded the CWL schemas' in open(keeper.log_path).read(), 'its log beside the socket'


def test_a_server_left_unused_is_not_restarted_until_a_job_wakes_it(deployed):
    """--idle-exit over the channel: the server leaves, no channel is opened
    again while no job comes, and the next job's wake starts it again."""
    with keeping(deployed, max_backoff=0.2, idle_exit=1) as warm:
        made = warm.channels
        warm.wake()  # before the install: nothing to wake
        assert not warm.asleep and made == []
        warm.runner_installed()
        assert warm.wait_ready(120), 'the warm server did not start'
        first = warm.pid
        wait_for(lambda: warm.asleep, 60, message='the server to leave unused')
        wait_for(lambda: not _alive(first), 30, message='the unused server to end')
        assert len(made) == 1 and warm.pid is None
        assert not warm.wait_ready(1.0) and len(made) == 1, 'no restart without a job'
        job_argv = waking(warm, lambda paths, cores: ['runner'])
        assert job_argv(None, 0) == ['runner']  # a job starts: it wakes the server
        assert warm.wait_ready(120) and warm.starts == 2 and len(made) == 2
        assert not warm.asleep and warm.pid != first


def test_without_a_server_the_deployed_client_runs_the_deployed_runner_cold(deployed, tmp_path):
    fake = tmp_path / 'fake-python'
    fake.write_text('#!/bin/sh\necho "cold $*"\n')
    fake.chmod(0o755)
    argv = [sys.executable, '-I', '-S', rc.deployed_client_script(deployed)]
    argv += ['--socket', str(tmp_path / 'none.sock'), '--python', str(fake)]
    argv += ['--module', 'cerise_runner', '--', '--outdir', 'x', 'workflow.cwl']
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.strip() == 'cold -m cerise_runner --outdir x workflow.cwl'
    assert 'the warm runner is not available' in done.stderr
    assert warm_client.COLD_MODULE == 'cerise_actors.runner', 'locally, as before'


def test_a_failing_open_backs_off_and_closes_cleanly():
    calls = []

    def open_channel():
        calls.append(1)
        raise OSError('no route')

    warm = RemoteWarmRunner(open_channel, 'x', '/s', '/l', max_backoff=0.2).start()
    try:
        warm.runner_installed()
        wait_for(lambda: len(calls) >= 3, 30, message='retries with back-off')
        assert not warm.wait_ready(0) and warm.pid is None
    finally:
        warm.close()
    assert not warm._thread.is_alive()


LAYOUT = ResourceLayout('/b')
PATHS = LAYOUT.job('j1')


def test_remote_warm_jobs_run_the_deployed_client_in_front_of_the_cold_command_line():
    cold = rc.choose_runner(None, local=False)
    warm = dataclasses.replace(cold, warm_socket='/b/.warm-runner/runner.sock')
    argv, cold_argv = warm.argv(LAYOUT, PATHS, cores=2), cold.argv(LAYOUT, PATHS, cores=2)
    python = runner_python(LAYOUT)
    client = '/b/api/.cerise-runner/cerise_runner/warm_client.py'
    assert argv[:4] == [python, '-I', '-S', client]
    split = argv.index('--')
    assert argv[4:split] == [
        '--socket',
        '/b/.warm-runner/runner.sock',
        '--python',
        python,
        '--module',
        'cerise_runner',
    ]
    assert [python, '-m', 'cerise_runner'] + argv[split + 1 :] == cold_argv
    assert 'on the resource, forked from the warm runner' in warm.description
    prelude = dataclasses.replace(warm, prelude=('module load python',))
    assert prelude.argv(LAYOUT, PATHS)[:2] == ['bash', '-c'], 'the client starts after the prelude'


def _jobs(**changes):
    base = api_config_from_dict({}, source='<test>', env={}).jobs
    return dataclasses.replace(base, **changes)


class FakeResource:
    """Hands out a connection whose channels are never opened in these tests."""

    def __init__(self):
        self.pool = types.SimpleNamespace(get=lambda *a: types.SimpleNamespace(open_session=None))


def test_the_remote_warm_runner_is_only_for_our_deployed_runner_over_ssh_without_a_scheduler():
    remote, configured = rc.choose_runner(None, local=False), rc.choose_runner('cwltool', False)
    ssh = _jobs(protocol='ssh', host='h', scheduler='none')
    assert ssh.warm_runner, 'on by default, the same setting as locally'
    for scheduler in ('slurm', 'torque', 'gridengine'):
        batch = dataclasses.replace(ssh, scheduler=scheduler)
        assert rc.start_warm_runner(remote, batch, LAYOUT, FakeResource()) is None, scheduler
    off = dataclasses.replace(ssh, warm_runner=False)
    assert rc.start_warm_runner(remote, off, LAYOUT, FakeResource()) is None
    assert rc.start_warm_runner(configured, ssh, LAYOUT, FakeResource()) is None
    warm = rc.start_warm_runner(remote, ssh, LAYOUT, FakeResource())
    try:
        assert isinstance(warm, RemoteWarmRunner)
        assert warm.socket_path == '/b/.warm-runner/runner.sock'
        assert warm.log_path == '/b/.warm-runner/warm-runner.log'
    finally:
        warm.close()
    rc.after_runner_install(None)  # nothing to start: no error


def test_the_server_validates_the_projects_steps_not_the_deployed_runners_files(tmp_path):
    from cerise_actors.runner.warm_server import step_files

    api = tmp_path / 'api'
    for path in ('test/steps/test/hostname.cwl', '.cerise-runner/venv/lib/pkg/tests/t.cwl'):
        (api / path).parent.mkdir(parents=True, exist_ok=True)
        (api / path).write_text('cwlVersion: v1.0\n')
    assert step_files([str(api)]) == [api / 'test' / 'steps' / 'test' / 'hostname.cwl']
