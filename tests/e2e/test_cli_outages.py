"""Waiting through an outage: `submit --wait` and Job.wait say the service is away, and resume.

The service is stopped while a job runs and started again on the same port
and folders (jobs carry on across a restart), as an operator's restart does.
"""

import dataclasses
import os
import re
import signal
import subprocess
import sys
import threading

import pytest

from cerise_actors.app import running_service
from cerise_actors.client import Service
from cerise_actors.client.local import free_port
from cerise_actors.config import load_api_config, service_config_from_dict

from .. import workflows as wf
from ..helpers import TEST_API_DIR, processes_mentioning, wait_for


class Restartable:
    """A service on a fixed port and folder that can be stopped and started again."""

    def __init__(self, root):
        self.root = root
        port = free_port()
        self.url = f'http://127.0.0.1:{port}'
        self.config = service_config_from_dict(
            {
                'database': {'file': str(root / 'cerise.db')},
                'client-file-exchange': {
                    'store-location-service': str(root / 'files'),
                    'store-location-client': f'{self.url}/files',
                },
                'rest-service': {'hostname': '127.0.0.1', 'port': port, 'auth': 'none'},
            },
            env={},
        )
        api = load_api_config(TEST_API_DIR, env={})
        files = dataclasses.replace(api.files, path=str(root / 'resource'))
        self.api = dataclasses.replace(api, files=files, refresh=0.1)
        self.context = None

    def start(self):
        self.context = running_service(self.config, TEST_API_DIR, api_config=self.api)
        self.context.__enter__()

    def stop(self):
        context, self.context = self.context, None
        if context is not None:
            context.__exit__(None, None, None)


@pytest.fixture
def restartable(tmp_path):
    service = Restartable(tmp_path)
    service.start()
    yield service
    service.stop()
    for pid in processes_mentioning(str(tmp_path)):  # jobs a failed test left behind
        os.kill(pid, signal.SIGKILL)


class Lines:
    """The lines a stream gives, collected by a thread as they come."""

    def __init__(self, stream):
        self.lines = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream):
        for line in stream:
            self.lines.append(line.rstrip('\n'))

    def wait_for(self, pattern, timeout=60):
        return wait_for(
            lambda: next((line for line in list(self.lines) if re.search(pattern, line)), None),
            timeout=timeout,
            message=f'a line matching {pattern!r}; got {self.lines}',
        )


def test_submit_wait_says_the_service_is_unreachable_and_resumes(restartable, tmp_path):
    (tmp_path / 'sleep.cwl').write_text(wf.SLEEP)
    (tmp_path / 'inputs.yml').write_text('seconds: 3\n')
    proc = subprocess.Popen(
        [sys.executable, '-m', 'cerise_actors', 'submit', tmp_path / 'sleep.cwl']
        + [tmp_path / 'inputs.yml', '--wait', '--service', restartable.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        err = Lines(proc.stderr)
        err.wait_for(r' Running$')
        restartable.stop()
        line = err.wait_for(r'service unreachable, retrying')
        assert re.fullmatch(r'\d\d:\d\d:\d\d \S+ service unreachable, retrying \(\d+ s\)', line)
        restartable.start()
        assert proc.wait(timeout=120) == 0, err.lines
    finally:
        if proc.poll() is None:
            proc.kill()
    err.wait_for(r'service reachable again after \d+ s')
    err.wait_for(r' Success$')


def test_job_wait_gives_the_outage_to_its_progress_callback(restartable):
    service = Service(restartable.url)
    job = service.create_job('sleep', wf.SLEEP.encode())
    job.set_input('seconds', 3)
    job.run()
    seen = []
    result = {}
    waiting = threading.Thread(
        target=lambda: result.update(
            state=job.wait(
                timeout=120, on_progress=lambda data, status: seen.append((data, status))
            )
        ),
        daemon=True,
    )
    waiting.start()
    wait_for(
        lambda: any(status == 'Running' for _, status in seen) or not waiting.is_alive(),
        message='Running',
    )
    assert waiting.is_alive(), (result, seen)
    restartable.stop()
    wait_for(lambda: any('unreachable' in status for _, status in seen), message='the outage')
    restartable.start()
    waiting.join(timeout=120)
    assert result.get('state') == 'Success', seen
    statuses = [status for _, status in seen]
    outage = next(s for s in statuses if 'unreachable' in s)
    assert re.fullmatch(r'service unreachable, retrying \(\d+ s\)', outage)
    assert any(re.fullmatch(r'service reachable again after \d+ s', s) for s in statuses)
    assert statuses[-1] == 'Success'
    data, _ = seen[-1]
    assert data['id'] == job.id and data['state'] == 'Success'
