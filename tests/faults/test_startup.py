"""Start-up faults: a `.url` file left by `kill -9`, and a port that is taken.

Operators and scripts wait for `run/cerise.url` to know the service is up,
so a stale one from a killed process must never be mistaken for the new
one. A port that is taken must be reported, naming it, before the service
touches the resource: a second start that fails must not reinstall the
specialisation under a running service. Each test runs the real command
(`python -m cerise_actors serve`, as in tests/e2e/test_restart.py) in a
subprocess with its own folder, on loopback.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from ..helpers import TEST_API_DIR, http, processes_mentioning, wait_for

#: install.sh of the test project, counting its runs and, while HOLD exists,
#: holding start-up (bounded, so nothing outlives a failed test for long)
INSTALL_SH = """#!/bin/bash
echo run >>"{root}/installs"
if [ -e "{root}/hold" ]; then
    touch "{root}/installing"
    for _ in $(seq 1200); do [ -e "{root}/hold" ] || break; sleep 0.05; done
fi
echo '=== Test heading ===' >"$CERISE_PROJECT_FILES/heading.txt"
"""


class Serve:
    """`cerise-actors serve` on a folder of its own: config, api and run/."""

    def __init__(self, root: Path):
        self.root = root
        self.run = root / 'run'
        self.url_file = self.run / 'cerise.url'
        self.pid_file = self.run / 'cerise.pid'
        shutil.copytree(TEST_API_DIR, root / 'api')
        install = root / 'api' / 'test' / 'install.sh'
        install.write_text(INSTALL_SH.format(root=root))
        install.chmod(0o755)
        self.procs = []

    def config(self, port: int = 0, pidfile: str = 'run/cerise.pid') -> Path:
        path = self.root / f'config-{Path(pidfile).stem}.yml'
        path.write_text(
            yaml.safe_dump(
                {
                    'database': {'file': 'run/cerise.db'},
                    'logging': {'file': 'run/cerise.log', 'level': 'INFO'},
                    'pidfile': pidfile,
                    'client-file-exchange': {'store-location-service': 'run/files'},
                    # authentication is tested in tests/auth
                    'rest-service': {'hostname': '127.0.0.1', 'port': port, 'auth': 'none'},
                }
            )
        )
        return path

    def argv(self, config: Path):
        return [sys.executable, '-m', 'cerise_actors', 'serve', '--config', str(config)] + [
            '--api',
            str(self.root / 'api'),
        ]

    def start(self, config: Path) -> subprocess.Popen:
        out = open(self.root / f'serve-{len(self.procs)}.out', 'wb')
        proc = subprocess.Popen(self.argv(config), cwd=self.root, stdout=out, stderr=out)
        out.close()
        self.procs.append(proc)
        return proc

    def run_to_end(self, config: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.argv(config), cwd=self.root, capture_output=True, text=True, timeout=120
        )

    def wait_url(self, proc) -> str:
        wait_for(
            lambda: self.url_file.exists() or proc.poll() is not None,
            timeout=120,
            message='the .url file',
        )
        assert proc.poll() is None, self.output()
        return self.url_file.read_text().strip()

    def installs(self) -> int:
        path = self.root / 'installs'
        return len(path.read_text().splitlines()) if path.exists() else 0

    def output(self) -> str:
        return '\n'.join(p.read_text() for p in sorted(self.root.glob('serve-*.out')))


@pytest.fixture
def serve(tmp_path):
    serve = Serve(tmp_path)
    yield serve
    (tmp_path / 'hold').unlink(missing_ok=True)
    for proc in serve.procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
    for pid in processes_mentioning(str(tmp_path)):
        os.kill(pid, signal.SIGKILL)


def taken_port():
    """A listening socket on a free loopback port, and the port."""
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    sock.listen()
    return sock, sock.getsockname()[1]


def test_a_stale_url_file_is_gone_at_start_and_comes_back_when_the_port_answers(serve):
    config = serve.config()
    first = serve.start(config)
    stale_url = serve.wait_url(first)
    first.kill()
    first.wait(timeout=60)
    assert serve.url_file.read_text().strip() == stale_url, 'kill -9 leaves the .url file'

    (serve.root / 'hold').touch()  # start-up waits in install.sh until released
    second = serve.start(config)
    wait_for(
        lambda: (serve.root / 'installing').exists() or second.poll() is not None,
        timeout=120,
        message='install.sh to run',
    )
    assert second.poll() is None, serve.output()
    assert serve.pid_file.read_text().strip() == str(second.pid)
    assert not serve.url_file.exists(), 'a readiness loop would take the stale URL'

    (serve.root / 'hold').unlink()
    url = serve.wait_url(second)
    status, body, _ = http('GET', f'{url}/jobs', timeout=10)
    assert (status, body) == (200, []), 'the .url file appears only once the API answers'
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=60) == 0
    assert not serve.url_file.exists()


def test_b_a_taken_port_is_named_before_anything_is_made(serve):
    sock, port = taken_port()
    with sock:
        started = time.monotonic()
        result = serve.run_to_end(serve.config(port))
        elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert f'cannot listen on 127.0.0.1:{port}: address already in use' in result.stderr
    assert 'Traceback' not in result.stderr + result.stdout
    assert elapsed < 30, 'a taken port is reported at once'
    assert serve.installs() == 0, 'install.sh ran'
    assert not (serve.run / 'test-resource').exists(), 'the resource was touched'
    assert not (serve.run / 'cerise.db').exists(), 'the job store was opened'
    assert not serve.pid_file.exists() and not serve.url_file.exists()


def test_b_a_second_start_on_a_taken_port_leaves_the_running_service_alone(serve):
    sock, port = taken_port()
    sock.close()  # free again, for the first service to take
    first = serve.start(serve.config(port))
    url = serve.wait_url(first)
    assert serve.installs() == 1
    heading = serve.run / 'test-resource' / 'api' / 'test' / 'files' / 'heading.txt'
    installed_at = heading.stat().st_mtime_ns

    # another pid file, so only the port can stop it (as with a copied config)
    result = serve.run_to_end(serve.config(port, pidfile='run/second.pid'))
    assert result.returncode == 1, result.stderr
    assert f'cannot listen on 127.0.0.1:{port}' in result.stderr
    assert 'is another cerise-actors running?' in result.stderr
    assert 'Traceback' not in result.stderr + result.stdout
    assert serve.installs() == 1, "the running service's .dev project was reinstalled"
    assert heading.stat().st_mtime_ns == installed_at
    assert http('GET', f'{url}/jobs', timeout=10)[0] == 200
    assert serve.url_file.read_text().strip() == url
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=60) == 0
