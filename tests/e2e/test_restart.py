"""The `cerise-actors serve` command across restarts: SIGTERM and kill -9.

Runs the real command in a subprocess (real SQLite file, real HTTP), so what
is tested is exactly what an operator meets.
"""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .. import workflows as wf
from ..helpers import TEST_API_DIR, Client, processes_mentioning, wait_for


class ServeProcess:
    def __init__(self, root: Path, api_dir: Path = TEST_API_DIR):
        self.root = root
        self.api_dir = api_dir
        self.config = root / 'config.yml'
        self.config.write_text(
            yaml.safe_dump(
                {
                    'database': {'file': 'run/cerise.db'},
                    'logging': {'file': 'run/cerise.log', 'level': 'INFO'},
                    'pidfile': 'run/cerise.pid',
                    'client-file-exchange': {'store-location-service': 'run/files'},
                    'rest-service': {'hostname': '127.0.0.1', 'port': 0},
                }
            )
        )
        self.proc = None

    def start(self):
        url_file = self.root / 'run' / 'cerise.url'
        if url_file.exists():
            url_file.unlink()
        # authentication is tested in tests/auth
        env = dict(os.environ, CERISE_API_DIR=str(self.api_dir), CERISE_AUTH='none')
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'cerise_actors', 'serve', '--config', str(self.config)],
            cwd=self.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        wait_for(
            lambda: url_file.exists() or self.proc.poll() is not None,
            timeout=60,
            message='the service to start',
        )
        assert self.proc.poll() is None, self.proc.stdout.read().decode()
        return Client(url_file.read_text().strip(), self.root / 'run' / 'files')

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=60)

    def log(self):
        return (self.root / 'run' / 'cerise.log').read_text()


@pytest.fixture
def serve(tmp_path):
    process = ServeProcess(tmp_path)
    yield process
    if process.proc is not None and process.proc.poll() is None:
        process.stop(signal.SIGKILL)
    for pid in processes_mentioning(str(tmp_path)):
        os.kill(pid, signal.SIGKILL)


def test_job_running_across_a_sigterm_restart(serve):
    client = serve.start()
    job = client.submit(wf.SLEEP, {'seconds': 3})
    client.wait_state(job['id'], 'Running')
    assert serve.stop(signal.SIGTERM) == 0
    assert 'shutting down' in serve.log() and not (serve.root / 'run' / 'cerise.pid').exists()
    client = serve.start()
    assert client.wait_final(job['id'])['state'] == 'Success', client.log(job['id'])
    assert serve.stop() == 0


def test_jobs_in_flight_across_kill_9(serve):
    client = serve.start()
    jobs = [client.submit(wf.SLEEP, {'seconds': 2}, name=f'sleep{i}')['id'] for i in range(3)]
    url = client.put_input('wc', 'in.txt', 'one two\n')
    jobs += [
        client.submit(wf.WC, {'file': {'class': 'File', 'location': url}}, name='wc')['id']
        for _ in range(3)
    ]
    client.wait_state(jobs[0], 'Running')
    serve.stop(signal.SIGKILL)
    client = serve.start()
    for job_id in jobs:
        done = client.wait_final(job_id)
        assert done['state'] == 'Success', client.log(job_id)
    for job_id in jobs:
        assert client.log(job_id).count('Started on the compute resource') == 1, (
            'no job was started twice'
        )
    assert serve.stop() == 0


def test_second_service_on_the_same_pidfile_is_refused(serve):
    serve.start()
    second = subprocess.run(
        [
            sys.executable,
            '-m',
            'cerise_actors',
            'serve',
            '--config',
            str(serve.config),
            '--api',
            str(TEST_API_DIR),
        ],
        cwd=serve.root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 2
    assert 'pid' in second.stderr
    assert serve.stop() == 0


def test_bad_config_stops_start_up_naming_the_key(tmp_path):
    config = tmp_path / 'config.yml'
    config.write_text(
        'database: {file: x.db}\nclient-file-exchange: {store-location-service: ftp://h/x}\n'
    )
    result = subprocess.run(
        [
            sys.executable,
            '-m',
            'cerise_actors',
            'serve',
            '--config',
            str(config),
            '--api',
            str(TEST_API_DIR),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert 'store-location-service' in result.stderr and str(config) in result.stderr


def test_a_broken_step_file_stops_start_up_naming_the_file(tmp_path):
    api = tmp_path / 'api'
    shutil.copytree(TEST_API_DIR, api)
    broken = api / 'test' / 'steps' / 'test' / 'broken.cwl'
    broken.write_text('cwlVersion: v1.2\nclass: [unclosed\n')
    config = tmp_path / 'config.yml'
    config.write_text(
        'database: {file: cerise.db}\n'
        'client-file-exchange: {store-location-service: files}\n'
        'rest-service: {port: 0}\n'
    )
    result = subprocess.run(
        [sys.executable, '-m', 'cerise_actors', 'serve', '--config', str(config)]
        + ['--api', str(api)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert 'Traceback' not in result.stderr
    assert f'installed step {broken} could not be read as CWL' in result.stderr
