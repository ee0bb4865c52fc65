"""`cerise-actors serve` as the README starts it: a token made, printed once, required.

The service runs as a process in a folder of its own with a configuration
that names only its port, as a user's first start does; the token lands in
`run/token` there, the terminal shows the URL with it, the log file never.
"""

import os
import re
import shutil
import socket
import stat
import subprocess
import sys

import pytest

from ..helpers import TEST_API_DIR, http, processes_mentioning, wait_for


@pytest.fixture
def folder(tmp_path):
    shutil.copytree(TEST_API_DIR, tmp_path / 'api')
    (tmp_path / 'config.yml').write_text('rest-service: {port: 0}\n')
    yield tmp_path
    for pid in processes_mentioning(str(tmp_path)):
        os.kill(pid, 9)


def serve(folder, *options, **env):
    out = open(folder / 'serve.out', 'wb')
    environment = {k: v for k, v in os.environ.items() if not k.startswith('CERISE_')}
    proc = subprocess.Popen(
        [sys.executable, '-m', 'cerise_actors', 'serve', '--config', 'config.yml', '--api', 'api']
        + list(options),
        cwd=folder,
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**environment, **env},
    )
    out.close()
    return proc


def test_the_first_start_makes_prints_and_requires_a_token_and_the_next_reuses_it(folder):
    proc = serve(folder)
    try:
        url_file = folder / 'run' / 'cerise.url'
        wait_for(lambda: url_file.exists() or proc.poll() is not None, 120, message='start')
        assert proc.poll() is None, (folder / 'serve.out').read_text()
        base = url_file.read_text().strip()
        token_file = folder / 'run' / 'token'
        token = token_file.read_text().strip()
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        printed = wait_for(
            lambda: re.search(r'http://cerise:(\S+)@(\S+)/', (folder / 'serve.out').read_text()),
            30,
            message='the URL with the token on the terminal',
        )
        assert printed.group(1) == token and f'http://{printed.group(2)}' == base
        assert token not in (folder / 'run' / 'cerise.log').read_text()
        for path in ('/jobs', '/files/input/', '/steps', '/ga4gh/wes/v1/runs', '/'):
            assert http('GET', base + path)[0] == 401, path
        assert http('GET', base + '/health')[0] == 200
        headers = {'Authorization': f'Bearer {token}'}
        assert http('GET', base + '/jobs', headers=headers)[:2] == (200, [])
        # the client commands beside the service find run/token by themselves
        listed = subprocess.run(
            [sys.executable, '-m', 'cerise_actors', 'list', '--service', base],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0, listed.stderr
    finally:
        proc.terminate()
        proc.wait(60)
    again = serve(folder)
    try:
        wait_for(lambda: url_file.exists() or again.poll() is not None, 120, message='restart')
        base = url_file.read_text().strip()
        assert token_file.read_text().strip() == token
        headers = {'Authorization': f'Bearer {token}'}
        assert http('GET', base + '/jobs', headers=headers)[0] == 200
    finally:
        again.terminate()
        again.wait(60)


def test_a_token_others_may_read_stops_the_start_with_the_fix(folder):
    (folder / 'run').mkdir()
    token_file = folder / 'run' / 'token'
    token_file.write_text('s' * 43 + '\n')
    token_file.chmod(0o644)
    proc = serve(folder)
    assert proc.wait(120) == 2
    text = (folder / 'serve.out').read_text() + (folder / 'run' / 'cerise.log').read_text()
    assert 'may be read by other users' in text and 'chmod 600' in text
    assert 'Traceback' not in text


def test_auth_none_from_the_environment_opens_it_with_a_warning(folder):
    proc = serve(folder, CERISE_AUTH='none')
    try:
        url_file = folder / 'run' / 'cerise.url'
        wait_for(lambda: url_file.exists() or proc.poll() is not None, 120, message='start')
        base = url_file.read_text().strip()
        assert http('GET', base + '/jobs')[:2] == (200, [])
        log = (folder / 'run' / 'cerise.log').read_text()
        assert log.count('authentication is OFF') == 1
        assert not (folder / 'run' / 'token').exists()
    finally:
        proc.terminate()
        proc.wait(60)


def test_port_and_host_on_the_command_line_win_over_the_environment_and_the_file(folder):
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    proc = serve(folder, '--port', str(port), '--host', '127.0.0.1', CERISE_PORT='1')
    try:
        url_file = folder / 'run' / 'cerise.url'
        wait_for(lambda: url_file.exists() or proc.poll() is not None, 120, message='start')
        assert url_file.read_text().strip() == f'http://127.0.0.1:{port}'
    finally:
        proc.terminate()
        proc.wait(60)


def test_a_port_that_is_no_port_is_refused_by_the_command_line(folder):
    result = subprocess.run(
        [sys.executable, '-m', 'cerise_actors', 'serve', '--port', '70000'],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and 'expected a port from 0 to 65535' in result.stderr
