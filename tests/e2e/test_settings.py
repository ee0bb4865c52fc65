"""Settings that just work: one setting changes the port, and outputs follow.

`cerise-actors serve` runs as a process in a folder of its own, with a
configuration file that says only what differs from the defaults. Files
go up and outputs come down over HTTP through the service's own /files,
as a client on another machine would do it.
"""

import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from .. import workflows as wf
from ..helpers import TEST_API_DIR, http, processes_mentioning, wait_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture
def start(tmp_path):
    """start(config text, env) -> (process, base URL); stopped at the end."""
    shutil.copytree(TEST_API_DIR, tmp_path / 'api')
    procs = []

    def run(config_text: str, env=None, port=None):
        (tmp_path / 'config.yml').write_text(config_text)
        argv = [sys.executable, '-m', 'cerise_actors', 'serve', '--config', 'config.yml']
        out = open(tmp_path / f'serve-{len(procs)}.out', 'wb')
        proc = subprocess.Popen(
            argv + ['--api', 'api'],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, 'CERISE_AUTH': 'none', **(env or {})},  # auth: tests/auth
        )
        out.close()
        procs.append(proc)
        url_file = tmp_path / 'run' / 'cerise.url'
        wait_for(lambda: url_file.exists() or proc.poll() is not None, 120, message='start')
        assert proc.poll() is None, (tmp_path / 'serve-0.out').read_text()
        return proc, url_file.read_text().strip()

    yield run
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(60)
    for pid in processes_mentioning(str(tmp_path)):
        os.kill(pid, 9)


def run_echo(base: str, text: str) -> dict:
    """Upload a workflow over /files, run it, and return the finished job."""
    put = urllib.request.Request(
        f'{base}/files/input/settings/echo.cwl', data=wf.ECHO.encode(), method='PUT'
    )
    with urllib.request.urlopen(put, timeout=30) as answer:
        assert answer.status in (200, 201, 204)
    body = {'workflow': f'{base}/files/input/settings/echo.cwl', 'input': {'text': text}}
    status, job, _ = http('POST', f'{base}/jobs', body)
    assert status == 201, job
    return wait_for(
        lambda: (
            (j := http('GET', f'{base}/jobs/{job["id"]}')[1])['state']
            in ('Success', 'PermanentFailure', 'SystemError', 'TemporaryFailure')
            and j
        ),
        120,
        message='the job to end',
    )


def test_changing_only_the_port_keeps_outputs_downloadable(start):
    port = free_port()
    _proc, base = start(f'rest-service:\n  port: {port}\n')
    assert base == f'http://127.0.0.1:{port}'
    job = run_echo(base, 'port changed')
    assert job['state'] == 'Success', http('GET', job['log'])[1]
    location = job['output']['output']['location']
    assert location.startswith(f'{base}/files/output/{job["id"]}/'), location
    with urllib.request.urlopen(location, timeout=30) as answer:
        assert answer.read() == b'port changed\n'


def test_port_host_and_exchange_folder_from_the_environment(start, tmp_path):
    port = free_port()
    env = {
        'CERISE_PORT': str(port),
        'CERISE_HOSTNAME': '127.0.0.1',
        'CERISE_STORE_LOCATION_SERVICE': str(tmp_path / 'exchange'),
    }
    _proc, base = start('rest-service:\n  port: 1\n', env)  # the environment wins
    assert base == f'http://127.0.0.1:{port}'
    job = run_echo(base, 'from the environment')
    assert job['state'] == 'Success'
    assert (tmp_path / 'exchange' / 'output' / job['id'] / 'output.txt').exists()


def test_a_client_location_on_another_port_is_warned_about(start, tmp_path):
    port = free_port()
    start(
        f'rest-service:\n  port: {port}\n'
        'client-file-exchange:\n  store-location-client: http://127.0.0.1:29593/files\n'
    )
    log = Path(tmp_path / 'run' / 'cerise.log').read_text()
    assert 'WARNING' in log and 'store-location-client http://127.0.0.1:29593/files' in log
    assert f'listens on localhost:{port}' in log
